"""Writes to the shared OHLCV store: validated bulk upserts through PostgreSQL binary COPY."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connection, transaction

from .models import MarketSeries, OHLCVBar
from .timeframes import normalize_timeframe

PG_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z, PostgreSQL's timestamp origin
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Bar:
    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0


@dataclass
class BarArrays:
    """Columnar bars: `time` in epoch milliseconds (int64), prices and volume as float64."""

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def from_bars(cls, bars: list[Bar]) -> BarArrays:
        for index, bar in enumerate(bars, start=1):
            if bar.time.tzinfo is None:
                raise BadBarsError(index, "time has no time zone")
        return cls(
            time=np.array([round(b.time.timestamp() * 1000) for b in bars], dtype=np.int64),
            open=np.array([_number(b.open) for b in bars], dtype=np.float64),
            high=np.array([_number(b.high) for b in bars], dtype=np.float64),
            low=np.array([_number(b.low) for b in bars], dtype=np.float64),
            close=np.array([_number(b.close) for b in bars], dtype=np.float64),
            volume=np.array([_number(b.volume) for b in bars], dtype=np.float64),
        )


def _number(value) -> float:
    return math.nan if value is None else float(value)


class BadBarsError(ValueError):
    """A file or batch of bars was rejected; nothing was written. `row` is 1-based within the input
    (for files: the line number in the file), `message` says what is wrong with it."""

    def __init__(self, row: int, message: str, label: str = "row"):
        self.row = row
        self.message = message
        super().__init__(f"{label} {row}: {message}")


def first_bad_bar(bars: BarArrays) -> tuple[int, str] | None:
    """(0-based index, message) of the first bar that breaks a rule, or None when every bar is valid.

    Rules are checked together so the reported row is the first bad row of the input, whatever the rule.
    """
    n = len(bars)
    if n == 0:
        return None
    o, h, lo, c, v, t = bars.open, bars.high, bars.low, bars.close, bars.volume, bars.time
    candidates: list[tuple[int, str]] = []

    def first(mask: np.ndarray) -> int | None:
        hits = np.flatnonzero(mask)
        return int(hits[0]) if hits.size else None

    with np.errstate(invalid="ignore"):
        finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c) & np.isfinite(v)
        if (i := first(~finite)) is not None:
            candidates.append((i, "missing or non-numeric price or volume"))
        negative = finite & ((np.minimum(np.minimum(o, h), np.minimum(lo, c)) < 0) | (v < 0))
        if (i := first(negative)) is not None:
            candidates.append((i, "negative price or volume"))
        inverted = finite & ~negative & (h < lo)
        if (i := first(inverted)) is not None:
            candidates.append((i, f"high {h[i]:g} is below low {lo[i]:g}"))
        outside = finite & ~negative & ~inverted & ((o < lo) | (o > h) | (c < lo) | (c > h))
        if (i := first(outside)) is not None:
            candidates.append((i, "open and close must lie between low and high"))
    if n > 1:
        step = np.diff(t)
        if (i := first(step == 0)) is not None:
            candidates.append((i + 1, f"duplicate bar at {_iso(t[i + 1])}"))
        if (i := first(step < 0)) is not None:
            candidates.append((i + 1, f"bars are not sorted by time ({_iso(t[i + 1])} after {_iso(t[i])})"))
    return min(candidates, key=lambda item: item[0]) if candidates else None


def _iso(ms: int) -> str:
    return np.datetime64(int(ms), "ms").astype(str) + "Z"


def validate_arrays(bars: BarArrays, row_offset: int = 1, label: str = "row") -> None:
    """Raise BadBarsError for the first bad bar; `row_offset` maps index 0 to the caller's row numbering."""
    bad = first_bad_bar(bars)
    if bad is not None:
        raise BadBarsError(bad[0] + row_offset, bad[1], label)


def validate_bars(bars: list[Bar]) -> None:
    validate_arrays(BarArrays.from_bars(bars))


def get_or_create_series(symbol: str, timeframe: str, **defaults) -> MarketSeries:
    series, _ = MarketSeries.objects.get_or_create(
        symbol=symbol.strip(), timeframe=normalize_timeframe(timeframe), defaults=defaults
    )
    return series


def upsert_bars(series: MarketSeries, bars: Iterable[Bar], validate: bool = True) -> int:
    """Insert or update bars for `series` (validated first; nothing is written when any bar is bad)."""
    arrays = BarArrays.from_bars(list(bars))
    return upsert_arrays(series, arrays, validate=validate)


def _binary_copy_payload(bars: BarArrays, series_id: int | None) -> bytes:
    """Rows in PostgreSQL's binary COPY format, built in one numpy pass (no per-row Python)."""
    fields = [("count", ">i2")]
    if series_id is not None:
        fields += [("series_len", ">i4"), ("series", ">i8")]
    fields += [("time_len", ">i4"), ("time", ">i8")]
    for name in PRICE_COLUMNS:
        fields += [(f"{name}_len", ">i4"), (name, ">f8")]
    rows = np.empty(len(bars), dtype=np.dtype(fields))
    rows["count"] = 7 if series_id is not None else 6
    if series_id is not None:
        rows["series_len"] = 8
        rows["series"] = series_id
    rows["time_len"] = 8
    rows["time"] = (bars.time - PG_EPOCH_MS) * 1000
    for name in PRICE_COLUMNS:
        rows[f"{name}_len"] = 8
        rows[name] = getattr(bars, name)
    return _COPY_HEADER + rows.tobytes() + _COPY_TRAILER


def _copy(cursor, statement: str, payload: bytes) -> None:
    raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper: COPY needs the driver API
    with raw.copy(statement) as copy:
        view = memoryview(payload)
        chunk = 8 << 20
        for start in range(0, len(view), chunk):
            copy.write(view[start : start + chunk])


@transaction.atomic
def upsert_arrays(series: MarketSeries, bars: BarArrays, validate: bool = True) -> int:
    """Write columnar bars for `series`; returns the number of rows inserted or changed.

    A range with no stored bars is COPYed straight into the table (the fast path for fresh imports);
    otherwise the bars are COPYed into a temp table and merged with one INSERT ... ON CONFLICT UPDATE.
    A transaction-level advisory lock per series keeps two concurrent imports from racing on the check.
    """
    if validate:
        validate_arrays(bars)
    if len(bars) == 0:
        return 0
    table = OHLCVBar._meta.db_table
    first_ms, last_ms = int(bars.time.min()), int(bars.time.max())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x4F484C43, series.pk])
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE series_id = %s "  # noqa: S608 - our table name
            "AND time BETWEEN to_timestamp(%s / 1000.0) AND to_timestamp(%s / 1000.0))",
            [series.pk, first_ms, last_ms],
        )
        overlaps = cursor.fetchone()[0]
        if not overlaps:
            _copy(
                cursor,
                f"COPY {table} (series_id, time, open, high, low, close, volume) FROM STDIN (FORMAT BINARY)",
                _binary_copy_payload(bars, series.pk),
            )
            return len(bars)
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ohlcv_staging "
            "(time timestamptz, open float8, high float8, low float8, close float8, volume float8) ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE ohlcv_staging")
        _copy(
            cursor,
            "COPY ohlcv_staging (time, open, high, low, close, volume) FROM STDIN (FORMAT BINARY)",
            _binary_copy_payload(bars, None),
        )
        cursor.execute(
            f"INSERT INTO {table} (series_id, time, open, high, low, close, volume) "  # noqa: S608
            "SELECT %s, time, open, high, low, close, volume FROM ohlcv_staging "
            "ON CONFLICT (series_id, time) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, "
            "low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume "
            # unchanged bars are left alone: re-fetching an overlapping range rewrites only what changed
            f"WHERE ({table}.open, {table}.high, {table}.low, {table}.close, {table}.volume) IS DISTINCT FROM "
            "(EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume)",
            [series.pk],
        )
        return cursor.rowcount


def delete_series(series: MarketSeries) -> None:
    series.delete()
