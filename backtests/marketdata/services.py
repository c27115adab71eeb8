"""Writes to the shared OHLCV store: validated bulk upserts through PostgreSQL COPY."""

import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

from .models import MarketSeries, OHLCVBar


@dataclass(frozen=True)
class Bar:
    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0


class BadBarsError(ValueError):
    """A file or batch of bars was rejected; nothing was written. `row` is 1-based within the input."""

    def __init__(self, row: int, message: str):
        self.row = row
        super().__init__(f"row {row}: {message}")


def validate_bars(bars: list[Bar]) -> None:
    previous: datetime | None = None
    for index, bar in enumerate(bars, start=1):
        values = (bar.open, bar.high, bar.low, bar.close, bar.volume)
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
            raise BadBarsError(index, "missing price or volume")
        if min(bar.open, bar.high, bar.low, bar.close) < 0 or bar.volume < 0:
            raise BadBarsError(index, "negative price or volume")
        if bar.high < bar.low:
            raise BadBarsError(index, f"high {bar.high} is below low {bar.low}")
        if not (bar.low <= bar.open <= bar.high and bar.low <= bar.close <= bar.high):
            raise BadBarsError(index, "open and close must lie between low and high")
        if bar.time.tzinfo is None:
            raise BadBarsError(index, "time has no time zone")
        if previous is not None:
            if bar.time == previous:
                raise BadBarsError(index, f"duplicate bar at {bar.time.isoformat()}")
            if bar.time < previous:
                raise BadBarsError(index, f"bars are not sorted by time ({bar.time.isoformat()} after {previous.isoformat()})")
        previous = bar.time


def get_or_create_series(symbol: str, timeframe: str, **defaults) -> MarketSeries:
    series, _ = MarketSeries.objects.get_or_create(symbol=symbol, timeframe=timeframe, defaults=defaults)
    return series


@transaction.atomic
def upsert_bars(series: MarketSeries, bars: Iterable[Bar], validate: bool = True) -> int:
    """Insert or update bars for `series` with COPY into a temp table and one INSERT ... ON CONFLICT."""
    bars = list(bars)
    if validate:
        validate_bars(bars)
    if not bars:
        return 0
    table = OHLCVBar._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ohlcv_staging "
            "(time timestamptz, open float8, high float8, low float8, close float8, volume float8) ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE ohlcv_staging")
        raw = cursor.cursor  # psycopg 3 cursor: COPY needs the driver API
        with raw.copy("COPY ohlcv_staging (time, open, high, low, close, volume) FROM STDIN") as copy:
            buffer = io.StringIO()
            for bar in bars:
                buffer.write(
                    f"{bar.time.astimezone(UTC).isoformat()}\t{bar.open!r}\t{bar.high!r}\t{bar.low!r}\t{bar.close!r}\t{float(bar.volume)!r}\n"
                )
                if buffer.tell() > 1 << 20:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        cursor.execute(
            f"INSERT INTO {table} (series_id, time, open, high, low, close, volume) "  # noqa: S608 - table name is ours
            "SELECT %s, time, open, high, low, close, volume FROM ohlcv_staging "
            "ON CONFLICT (series_id, time) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, "
            "low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume",
            [series.pk],
        )
        return cursor.rowcount
