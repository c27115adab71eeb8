"""Demo rows for the trade screen: the demo user's paper account, and a crypto price it can trade 24/7."""

from __future__ import annotations

import backtesting.test as packaged

from backtests.marketdata.services import get_or_create_series, upsert_bars
from brokers.services import ensure_default_paper_account

# The paper broker prices orders at the last stored bar. The shipped BTC/USD history is stored by the
# foundation as BITSTAMP:BTCUSD, a venue the broker layer does not trade; this copy under a tradable
# crypto ticker lets the demo paper account trade around the clock (stock and FX markets close).
DEMO_CRYPTO_SYMBOL = "BINANCE:BTCUSDT"


def seed_demo_tenant(tenant, user) -> None:
    ensure_default_paper_account(user)
    from fourpass.demo import frame_to_bars

    series = get_or_create_series(DEMO_CRYPTO_SYMBOL, "1M", timezone="Etc/UTC", mintick="0.01",
                                  source="demo copy of backtesting.test BTCUSD")
    if not series.bars.exists():
        upsert_bars(series, frame_to_bars(packaged.BTCUSD))
