"""Downloading OHLCV history from crypto exchanges through ccxt."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import ccxt
import numpy as np

from .services import BarArrays
from .timeframes import ccxt_timeframe, parse_timeframe


class ExchangeFetchError(RuntimeError):
    pass


def make_exchange(exchange_id: str, api_url: str | None = None, options: dict | None = None) -> ccxt.Exchange:
    """A ccxt exchange; `api_url` (scheme://host:port) replaces the host of every REST endpoint, which is how
    tests point ccxt at a local fake exchange and how users point it at a regional mirror."""
    try:
        exchange_class = getattr(ccxt, exchange_id.lower())
    except AttributeError as missing:
        raise ExchangeFetchError(f"ccxt does not know the exchange '{exchange_id}'") from missing
    config = {"enableRateLimit": api_url is None, "timeout": 30_000}
    exchange = exchange_class(config)
    if exchange.id == "binance":
        # spot history only: futures markets would need three more endpoints just to list markets
        exchange.options["fetchMarkets"] = {"types": ["spot"]}
    if options:
        exchange.options.update(options)
    if api_url:
        exchange.urls["api"] = _rebase(exchange.urls["api"], api_url.rstrip("/"))
    return exchange


def _rebase(urls, base: str):
    if isinstance(urls, dict):
        return {key: _rebase(value, base) for key, value in urls.items()}
    if isinstance(urls, str):
        parts = urlsplit(urls)
        return base + parts.path + (f"?{parts.query}" if parts.query else "")
    return urls


def fetch_history(
    exchange: ccxt.Exchange,
    market: str,
    timeframe: str,
    since_ms: int,
    until_ms: int | None = None,
    page_limit: int = 1000,
    on_page: Callable[[int], None] | None = None,
) -> BarArrays:
    """All bars of `market` from `since_ms` (inclusive) to `until_ms` (exclusive), page by page."""
    tf = parse_timeframe(timeframe)
    step_ms = tf.seconds * 1000
    try:
        exchange.load_markets()
        if market not in exchange.markets:
            raise ExchangeFetchError(f"{exchange.id} has no market '{market}'")
        rows: dict[int, list[float]] = {}
        cursor = since_ms
        while until_ms is None or cursor < until_ms:
            page = exchange.fetch_ohlcv(market, ccxt_timeframe(timeframe), since=cursor, limit=page_limit)
            page = [row for row in page if row[0] >= cursor and (until_ms is None or row[0] < until_ms)]
            if not page:
                break
            for row in page:
                rows[int(row[0])] = row
            if on_page:
                on_page(len(rows))
            last = int(page[-1][0])
            if last + step_ms <= cursor:
                break
            cursor = last + step_ms
    except ccxt.BaseError as error:
        raise ExchangeFetchError(f"{exchange.id}: {error}") from error
    times = sorted(rows)
    table = np.array([[rows[t][i] if rows[t][i] is not None else np.nan for i in range(1, 6)] for t in times], dtype=np.float64)
    table = table.reshape(-1, 5)
    return BarArrays(
        time=np.array(times, dtype=np.int64),
        open=table[:, 0], high=table[:, 1], low=table[:, 2], close=table[:, 3], volume=np.nan_to_num(table[:, 4]),
    )


def default_series_symbol(exchange: ccxt.Exchange, market: str) -> str:
    """TradingView-style name: BINANCE:BTCUSDT for binance's BTC/USDT."""
    return f"{exchange.id.upper()}:{market.split(':')[0].replace('/', '')}"
