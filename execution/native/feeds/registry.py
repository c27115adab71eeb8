"""Which feed serves a market series, from ``MarketSeries.source``:

* ``ccxt:<exchange>:<BASE/QUOTE>`` (e.g. ``ccxt:binance:BTC/USDT``): polled closed candles through ccxt;
* ``demo``: the deterministic random-walk paper feed;
* ``shioaji:<code>``: pushed by quote callbacks in the Shioaji session process (``ShioajiBarFeed``), not polled;
* anything else (CSV imports, replays): no live feed.
"""

from __future__ import annotations

import logging

from backtests.marketdata.models import MarketSeries

from .base import BarFeed

logger = logging.getLogger(__name__)


def feed_for(series: MarketSeries, **options) -> BarFeed | None:
    source = (series.source or "").strip()
    if source.startswith("ccxt:"):
        from .ccxt_poll import CcxtPollingFeed

        _, exchange_id, market = source.split(":", 2)
        return CcxtPollingFeed(series, exchange_id=exchange_id, market=market, **options)
    if source == "demo":
        from .demo import DemoFeed

        return DemoFeed(series, **options)
    return None


def poll_series(series_ids: list[int]) -> dict[int, int]:
    """Poll the feed of each series once; one failing source never stops the others."""
    stored = {}
    for series in MarketSeries.objects.filter(pk__in=series_ids):
        feed = feed_for(series)
        if feed is None:
            continue
        try:
            stored[series.pk] = feed.poll()
        except Exception:
            logger.exception("feed of %s failed", series)
    return stored
