"""Reads from the shared OHLCV store: stored bars, resampled higher timeframes, coverage and gaps."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection, transaction
from psycopg import sql

from .models import MarketSeries, OHLCVBar
from .timeframes import Timeframe, UnknownTimeframe, parse_timeframe

BAR_FIELDS = ("time", "open", "high", "low", "close", "volume")
_ORIGIN = "2000-01-03 00:00:00"  # a Monday: weekly buckets start on Mondays


class NoDataError(LookupError):
    """No stored series can serve the requested symbol and timeframe."""


def series_for(symbol: str, timeframe: str) -> MarketSeries | None:
    try:
        timeframe = parse_timeframe(timeframe).pine
    except UnknownTimeframe:
        return None
    return MarketSeries.objects.filter(symbol=symbol, timeframe=timeframe).first()


def _fetch_columns(query: sql.Composable) -> dict[str, np.ndarray]:
    """Run a query returning (int8 time_ms, 5 x float8) through binary COPY and decode it with numpy."""
    fields = [("count", ">i2"), ("time_len", ">i4"), ("time", ">i8")]
    for name in BAR_FIELDS[1:]:
        fields += [(f"{name}_len", ">i4"), (name, ">f8")]
    row = np.dtype(fields)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(query)
        chunks = []
        with raw.copy(statement) as copy:
            for chunk in copy:
                chunks.append(bytes(chunk))
    data = b"".join(chunks)
    body = data[19:-2] if len(data) >= 21 else b""
    rows = np.frombuffer(body, dtype=row)
    result = {"time": rows["time"].astype(np.int64)}
    for name in BAR_FIELDS[1:]:
        result[name] = rows[name].astype(np.float64)
    return result


def _range_filter(start: datetime | None, end: datetime | None, column: str = "time") -> sql.Composable:
    parts = []
    if start is not None:
        parts.append(sql.SQL(" AND {} >= {}").format(sql.Identifier(column), sql.Literal(start)))
    if end is not None:
        parts.append(sql.SQL(" AND {} <= {}").format(sql.Identifier(column), sql.Literal(end)))
    return sql.Composed(parts)


def load_bars(series: MarketSeries, start: datetime | None = None, end: datetime | None = None) -> dict[str, np.ndarray]:
    """Stored bars as numpy arrays (time in epoch milliseconds), oldest first."""
    query = sql.SQL(
        "SELECT (extract(epoch from time) * 1000)::int8, open, high, low, close, coalesce(volume, 0) "
        "FROM {} WHERE series_id = {}{} ORDER BY time"
    ).format(sql.Identifier(OHLCVBar._meta.db_table), sql.Literal(series.pk), _range_filter(start, end))
    return _fetch_columns(query)


def _session_shift_minutes(series: MarketSeries) -> int:
    """Minutes added to local time so that a trading day maps onto one calendar date.

    A session starting after noon (forex, CME: 17:00) begins the trading day on the previous evening.
    """
    text = (series.session_start or "0000").replace(":", "")
    minutes = int(text[:2]) * 60 + int(text[2:4])
    if minutes == 0:
        return 0
    return 24 * 60 - minutes if minutes >= 12 * 60 else -minutes


def bucket_expression(series: MarketSeries, target: Timeframe) -> sql.Composable:
    """SQL for the start of the `target` bar containing `time`, aligned to the series' exchange time zone
    and session start (daily/weekly/monthly bars follow the exchange's trading day, not UTC)."""
    tz = sql.Literal(series.timezone or "UTC")
    shift = sql.Literal(f"{_session_shift_minutes(series)} minutes")
    local = sql.SQL("((time AT TIME ZONE {tz}) + {shift}::interval)").format(tz=tz, shift=shift)
    if target.unit == "M":
        binned = sql.SQL("date_trunc('month', {local})").format(local=local)
        if target.count > 1:
            # months since year 0 rounded down to a multiple of n, re-expressed as a timestamp
            binned = sql.SQL(
                "make_timestamp(((extract(year from {l})::int * 12 + extract(month from {l})::int - 1) / {n} * {n}) / 12, "
                "((extract(year from {l})::int * 12 + extract(month from {l})::int - 1) / {n} * {n}) % 12 + 1, 1, 0, 0, 0)"
            ).format(l=local, n=sql.Literal(target.count))
    else:
        binned = sql.SQL("date_bin({iv}::interval, {local}, timestamp {origin})").format(
            iv=sql.Literal(target.sql_interval), local=local, origin=sql.Literal(_ORIGIN)
        )
    return sql.SQL("(({binned} - {shift}::interval) AT TIME ZONE {tz})").format(binned=binned, shift=shift, tz=tz)


def resample_query(series: MarketSeries, target: Timeframe, start: datetime | None, end: datetime | None) -> sql.Composable:
    """OHLCV aggregation of stored bars into `target` bars: first open, max high, min low, last close,
    summed volume; a bucket's time is the start of its period."""
    return sql.SQL(
        "SELECT (extract(epoch from bucket) * 1000)::int8, o, h, l, c, v FROM ("
        "SELECT {bucket} AS bucket, (array_agg(open ORDER BY time))[1] AS o, max(high) AS h, min(low) AS l, "
        "(array_agg(close ORDER BY time DESC))[1] AS c, coalesce(sum(volume), 0) AS v "
        "FROM {table} WHERE series_id = {series}{range} GROUP BY 1) AS buckets ORDER BY bucket"
    ).format(
        bucket=bucket_expression(series, target),
        table=sql.Identifier(OHLCVBar._meta.db_table),
        series=sql.Literal(series.pk),
        range=_range_filter(start, end),
    )


def source_series_for(symbol: str, timeframe: str) -> MarketSeries:
    """The stored series that serves `symbol` at `timeframe`: the exact one, else the coarsest stored
    timeframe that aggregates exactly into it."""
    target = parse_timeframe(timeframe)
    candidates = list(MarketSeries.objects.filter(symbol=symbol))
    for series in candidates:
        if series.timeframe == target.pine:
            return series
    usable = []
    for series in candidates:
        try:
            stored = parse_timeframe(series.timeframe)
        except UnknownTimeframe:
            continue
        if stored.divides(target):
            usable.append((stored.seconds, series))
    if not usable:
        stored = ", ".join(sorted(s.timeframe for s in candidates)) or "none"
        raise NoDataError(f"No stored {symbol} data can make {target.pine} bars (stored timeframes: {stored}).")
    return max(usable, key=lambda item: item[0])[1]


def load_series_bars(
    symbol: str, timeframe: str, start: datetime | None = None, end: datetime | None = None
) -> tuple[MarketSeries, dict[str, np.ndarray]]:
    """Bars of `symbol` at `timeframe`, resampled in the database from a finer stored series if needed."""
    series = source_series_for(symbol, timeframe)
    target = parse_timeframe(timeframe)
    if series.timeframe == target.pine:
        return series, load_bars(series, start, end)
    return series, load_resampled(series, target, start, end)


def load_resampled(
    series: MarketSeries, target: Timeframe | str, start: datetime | None = None, end: datetime | None = None
) -> dict[str, np.ndarray]:
    if isinstance(target, str):
        target = parse_timeframe(target)
    view = continuous_aggregate_for(series, target)
    if view is not None:
        query = sql.SQL(
            "SELECT (extract(epoch from bucket) * 1000)::int8, open, high, low, close, volume FROM {} "
            "WHERE series_id = {}{} ORDER BY bucket"
        ).format(sql.Identifier(view), sql.Literal(series.pk), _range_filter(start, end, "bucket"))
        return _fetch_columns(query)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # sorting a year of minute bars into buckets needs more than the default 4 MB, or it spills to disk
            cursor.execute("SET LOCAL work_mem = '128MB'")
        return _fetch_columns(resample_query(series, target, start, end))


def bars_hash(bars: dict[str, np.ndarray]) -> str:
    """sha256 over the bars' bytes (time and OHLCV, in that order): identifies the exact data a run used."""
    digest = hashlib.sha256()
    for name in BAR_FIELDS:
        digest.update(np.ascontiguousarray(bars[name]).astype("<f8" if name != "time" else "<i8").tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- TimescaleDB continuous aggregates

CONTINUOUS_AGGREGATE_TIMEFRAMES = ("5", "15", "60", "240", "1D")


@lru_cache(maxsize=1)
def timescale_available() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')")
        return bool(cursor.fetchone()[0])


def continuous_aggregate_name(timeframe: str) -> str:
    return f"marketdata_ohlcv_{parse_timeframe(timeframe).pine.lower()}"


def continuous_aggregate_sql(timeframe: str) -> list[str]:
    """Statements that create a TimescaleDB continuous aggregate of UTC-aligned `timeframe` bars and its
    refresh policy (issued by `ensure_continuous_aggregates` only when the extension is installed)."""
    tf = parse_timeframe(timeframe)
    view = continuous_aggregate_name(timeframe)
    table = OHLCVBar._meta.db_table
    interval = tf.sql_interval
    return [
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {view} WITH (timescaledb.continuous) AS "  # noqa: S608 - names are ours
        f"SELECT series_id, time_bucket(INTERVAL '{interval}', time) AS bucket, "
        "first(open, time) AS open, max(high) AS high, min(low) AS low, last(close, time) AS close, "
        f"sum(volume) AS volume FROM {table} GROUP BY series_id, bucket WITH NO DATA",
        f"SELECT add_continuous_aggregate_policy('{view}', start_offset => INTERVAL '{max(3 * tf.seconds, 86400) // 3600} hours', "
        f"end_offset => INTERVAL '{tf.seconds} seconds', schedule_interval => INTERVAL '{max(tf.seconds, 300)} seconds', "
        "if_not_exists => true)",
    ]


def ensure_continuous_aggregates() -> list[str]:
    """Create the continuous aggregates when TimescaleDB is installed; returns the views that exist."""
    if not timescale_available():
        return []
    created = []
    with connection.cursor() as cursor:
        for timeframe in CONTINUOUS_AGGREGATE_TIMEFRAMES:
            for statement in continuous_aggregate_sql(timeframe):
                cursor.execute(statement)
            created.append(continuous_aggregate_name(timeframe))
    return created


def continuous_aggregate_for(series: MarketSeries, target: Timeframe) -> str | None:
    """The continuous aggregate that holds `target` bars for `series`, when its buckets (UTC-aligned) are the
    bars the exchange would show: a UTC series without session offset, and TimescaleDB installed."""
    if target.pine not in CONTINUOUS_AGGREGATE_TIMEFRAMES or not timescale_available():
        return None
    if (series.timezone or "UTC") not in ("UTC", "Etc/UTC") or _session_shift_minutes(series) != 0:
        return None
    return continuous_aggregate_name(target.pine)


# ---------------------------------------------------------------- coverage and gaps


@dataclass(frozen=True)
class Gap:
    """Bars missing between two stored bars: `after` and `before` are the stored bars around the hole."""

    after: datetime
    before: datetime
    missing_bars: int

    @property
    def duration(self):
        return self.before - self.after


def coverage() -> list[dict]:
    table = OHLCVBar._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.id, s.symbol, s.timeframe, s.timezone, count(b.time), min(b.time), max(b.time) "  # noqa: S608
            f"FROM {MarketSeries._meta.db_table} s LEFT JOIN {table} b ON b.series_id = s.id "
            "GROUP BY s.id ORDER BY s.symbol, s.timeframe"
        )
        return [
            {
                "series_id": r[0], "symbol": r[1], "timeframe": r[2], "timezone": r[3],
                "bars": r[4], "first": r[5], "last": r[6],
            }
            for r in cursor.fetchall()
        ]


def _closed_between(after_local: datetime, before_local: datetime, series: MarketSeries, tf: Timeframe) -> bool:
    """True when the hole between two bars is explained by the market being closed (weekends for
    forex/futures; nights, weekends and single-day holidays for stocks)."""
    kind = series.effective_asset_type
    days = (before_local.date() - after_local.date()).days
    if tf.is_intraday:
        if kind in ("forex", "futures", "cfd"):
            # closed from Friday evening to Sunday evening (plus a holiday): the hole must span a Saturday
            spans_saturday = any((after_local.weekday() + k) % 7 == 5 for k in range(days + 1))
            return spans_saturday and (before_local - after_local).days <= 3
        # stocks/indices: any hole that crosses a night belongs to the closed session if short enough
        return 1 <= days <= 4
    if tf.unit == "D":
        missing_weekdays = sum(
            1 for k in range(1, days) if (after_local.weekday() + k) % 7 < 5
        )
        return missing_weekdays <= 1  # weekends and one-day holidays
    return True


def detect_gaps(series: MarketSeries, limit: int = 500) -> tuple[list[Gap], int]:
    """Holes longer than the series' interval (ignoring closed sessions where the market is not 24/7);
    returns up to `limit` gaps, oldest first, and the total count."""
    tf = parse_timeframe(series.timeframe)
    if tf.unit in ("W", "M"):
        tolerance_s = tf.seconds * 1.5
    else:
        tolerance_s = tf.seconds
    table = OHLCVBar._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT prev, time FROM (SELECT time, lag(time) OVER (ORDER BY time) AS prev FROM {table} "  # noqa: S608
            "WHERE series_id = %s) AS steps WHERE time - prev > make_interval(secs => %s) ORDER BY time",
            [series.pk, tolerance_s],
        )
        holes = cursor.fetchall()
    zone = ZoneInfo(series.timezone or "UTC")
    gaps: list[Gap] = []
    total = 0
    for after, before in holes:
        if not series.trades_around_the_clock and _closed_between(after.astimezone(zone), before.astimezone(zone), series, tf):
            continue
        total += 1
        if len(gaps) < limit:
            missing = max(1, round((before - after).total_seconds() / tf.seconds) - 1)
            gaps.append(Gap(after=after.astimezone(UTC), before=before.astimezone(UTC), missing_bars=missing))
    return gaps, total
