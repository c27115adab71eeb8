"""Import workflows (CSV files, exchanges) on top of the store's services; used by the UI and commands."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from django.db import transaction

from .exchanges import default_series_symbol, fetch_history, make_exchange
from .importers import read_ohlcv_csv
from .models import MarketSeries
from .services import BarArrays, get_or_create_series, upsert_arrays
from .timeframes import UnknownTimeframe, normalize_timeframe


class ImportRejected(ValueError):
    """The import request itself is invalid (unknown timeframe, time zone, empty symbol...)."""


@dataclass
class ImportResult:
    series: MarketSeries
    rows: int  # bars read and stored (new, changed or already identical)
    first: datetime | None
    last: datetime | None
    seconds: float
    written: int = 0  # rows actually inserted or changed

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def _check_request(symbol: str, timeframe: str, timezone: str | None) -> tuple[str, str]:
    symbol = (symbol or "").strip()
    if not symbol:
        raise ImportRejected("Give the symbol, e.g. BINANCE:BTCUSDT.")
    try:
        timeframe = normalize_timeframe(timeframe)
    except UnknownTimeframe as error:
        raise ImportRejected(str(error)) from error
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ImportRejected(f"'{timezone}' is not a time zone (e.g. America/New_York).") from error
    return symbol, timeframe


def _result(series: MarketSeries, bars: BarArrays, written: int, started: float) -> ImportResult:
    first = datetime.fromtimestamp(int(bars.time[0]) / 1000, UTC) if len(bars) else None
    last = datetime.fromtimestamp(int(bars.time[-1]) / 1000, UTC) if len(bars) else None
    return ImportResult(series, len(bars), first, last, time.perf_counter() - started, written)


@transaction.atomic
def import_csv(
    file: IO | bytes | str,
    *,
    symbol: str,
    timeframe: str,
    timezone: str | None = None,
    mintick: Decimal | None = None,
    pointvalue: Decimal | None = None,
    asset_type: str | None = None,
    session_start: str | None = None,
    source: str = "csv",
) -> ImportResult:
    """Validate the whole file, then write it in one transaction (all bars or none)."""
    started = time.perf_counter()
    symbol, timeframe = _check_request(symbol, timeframe, timezone)
    existing = MarketSeries.objects.filter(symbol=symbol, timeframe=timeframe).first()
    read_zone = timezone or (existing.timezone if existing else "Etc/UTC")
    parsed = read_ohlcv_csv(file, timezone=read_zone)
    defaults = {"timezone": read_zone, "source": source}
    for name, value in (("mintick", mintick), ("pointvalue", pointvalue), ("asset_type", asset_type), ("session_start", session_start)):
        if value not in (None, ""):
            defaults[name] = value
    series = get_or_create_series(symbol, timeframe, **defaults)
    changed = [name for name, value in defaults.items() if name != "source" and getattr(series, name) != value]
    if changed:
        for name in changed:
            setattr(series, name, defaults[name])
        series.save(update_fields=changed)
    rows = upsert_arrays(series, parsed.bars, validate=False)  # read_ohlcv_csv validated every row
    return _result(series, parsed.bars, rows, started)


def _parse_instant(value: str | datetime | None) -> int | None:
    if value is None or value == "":
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(UTC)
    return int(stamp.timestamp() * 1000)


def import_from_exchange(
    exchange_id: str,
    market: str,
    timeframe: str,
    *,
    since: str | datetime,
    until: str | datetime | None = None,
    series_symbol: str | None = None,
    api_url: str | None = None,
    on_page=None,
) -> ImportResult:
    started = time.perf_counter()
    _, timeframe = _check_request(market, timeframe, None)
    try:
        since_ms = _parse_instant(since)
        until_ms = _parse_instant(until)
    except ValueError as error:
        raise ImportRejected(f"not a date/time: {error}") from error
    if since_ms is None:
        raise ImportRejected("--since is required")
    exchange = make_exchange(exchange_id, api_url=api_url)
    bars = fetch_history(exchange, market, timeframe, since_ms, until_ms, on_page=on_page)
    symbol = series_symbol or default_series_symbol(exchange, market)
    with transaction.atomic():
        series = get_or_create_series(symbol, timeframe, timezone="Etc/UTC", asset_type="crypto", source=f"ccxt:{exchange.id}")
        market_info = exchange.markets.get(market, {})
        tick = (market_info.get("precision") or {}).get("price")
        if tick and exchange.precisionMode == 4 and series.source.startswith("ccxt"):  # TICK_SIZE mode
            series.mintick = Decimal(str(tick))
            series.save(update_fields=["mintick"])
        rows = upsert_arrays(series, bars) if len(bars) else 0
    return _result(series, bars, rows, started)
