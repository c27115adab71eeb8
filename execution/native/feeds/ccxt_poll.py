"""Crypto bars by polling an exchange's OHLCV endpoint through ccxt; only candles that have closed are stored."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import ccxt

from strategies.pine.runtime.timeutil import parse_timeframe

from .base import BarFeed, ClosedBar, last_stored_ms

_CCXT_TIMEFRAMES = {"1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h",
                    "240": "4h", "360": "6h", "720": "12h", "1D": "1d", "D": "1d", "1W": "1w", "W": "1w"}


def ccxt_timeframe(pine_timeframe: str) -> str:
    try:
        return _CCXT_TIMEFRAMES[pine_timeframe]
    except KeyError as missing:
        raise ValueError(f"timeframe {pine_timeframe!r} has no ccxt equivalent") from missing


def _rebase(urls: Any, base_url: str) -> Any:
    if isinstance(urls, dict):
        return {key: _rebase(value, base_url) for key, value in urls.items()}
    if isinstance(urls, str):
        return re.sub(r"^https?://[^/]+", base_url.rstrip("/"), urls)
    return urls


class CcxtPollingFeed(BarFeed):
    source = "ccxt"

    def __init__(self, series, *, exchange_id: str, market: str, api_base_url: str | None = None,
                 limit: int = 500, backfill_bars: int = 500, timeout_ms: int = 10_000, **kwargs) -> None:
        super().__init__(series, **kwargs)
        self.market = market  # ccxt unified symbol, e.g. "BTC/USDT"
        self.limit = limit
        self.backfill_bars = backfill_bars
        self.tf_ms = parse_timeframe(series.timeframe).nominal_ms
        self.timeframe = ccxt_timeframe(series.timeframe)
        options = {"defaultType": "spot"}
        if exchange_id == "binance":
            options |= {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False}
        self.exchange = getattr(ccxt, exchange_id)({"enableRateLimit": False, "timeout": timeout_ms,
                                                    "options": options})
        if api_base_url:
            self.exchange.urls["api"] = _rebase(self.exchange.urls["api"], api_base_url)

    def poll(self, now: dt.datetime | None = None) -> int:
        now_ms = int((now or dt.datetime.now(dt.UTC)).timestamp() * 1000)
        last = last_stored_ms(self.series)
        since = last + self.tf_ms if last is not None else now_ms - self.backfill_bars * self.tf_ms
        stored = 0
        while True:
            rows = self.exchange.fetch_ohlcv(self.market, self.timeframe, since=since, limit=self.limit)
            closed = [ClosedBar(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5] or 0))
                      for r in rows if int(r[0]) >= since and int(r[0]) + self.tf_ms <= now_ms]
            if not closed:
                return stored
            stored += self.store(closed)
            since = closed[-1].time_ms + self.tf_ms
            if len(rows) < self.limit:
                return stored
