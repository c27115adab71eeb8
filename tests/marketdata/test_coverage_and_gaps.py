"""Coverage listing and gap detection (closed sessions are not gaps for markets that close)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backtests.marketdata.selectors import coverage, detect_gaps
from backtests.marketdata.services import BarArrays, get_or_create_series, upsert_arrays

pytestmark = pytest.mark.django_db


def store_times(symbol: str, timeframe: str, times: list[datetime], **fields):
    series = get_or_create_series(symbol, timeframe, **fields)
    ms = np.array([int(t.timestamp() * 1000) for t in times], dtype=np.int64)
    ones = np.ones(len(ms))
    upsert_arrays(series, BarArrays(time=ms, open=ones, high=ones, low=ones, close=ones, volume=ones))
    return series


def hours(start: datetime, count: int) -> list[datetime]:
    return [start + timedelta(hours=i) for i in range(count)]


def test_a_missing_hour_in_a_crypto_series_is_a_gap():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    times = [t for t in hours(start, 48) if t.hour not in (5, 6)]  # day 1 and day 2: 05:00 and 06:00 missing
    series = store_times("BINANCE:GAPPY", "60", times)
    gaps, total = detect_gaps(series)
    assert total == 2
    assert gaps[0].after == start + timedelta(hours=4) and gaps[0].before == start + timedelta(hours=7)
    assert gaps[0].missing_bars == 2


def test_forex_weekends_are_not_gaps_but_a_hole_on_a_weekday_is():
    start = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
    times = [t for t in hours(start, 24 * 14) if not ((t.weekday() == 4 and t.hour >= 22) or t.weekday() == 5 or (t.weekday() == 6 and t.hour < 22))]
    times = [t for t in times if t != datetime(2024, 1, 3, 12, tzinfo=UTC)]
    series = store_times("FX:GAPPY", "60", times, asset_type="forex", timezone="America/New_York")
    gaps, total = detect_gaps(series)
    assert total == 1
    assert gaps[0].after == datetime(2024, 1, 3, 11, tzinfo=UTC)


def test_stock_daily_bars_skip_weekends_and_single_holidays_but_flag_missing_weeks():
    days = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i) for i in range(60)]
    trading = [d for d in days if d.weekday() < 5 and d != datetime(2024, 1, 15, tzinfo=UTC)]  # one holiday
    trading = [d for d in trading if not (datetime(2024, 2, 5, tzinfo=UTC) <= d <= datetime(2024, 2, 9, tzinfo=UTC))]
    series = store_times("NASDAQ:GAPPY", "1D", trading, timezone="America/New_York")
    gaps, total = detect_gaps(series)
    assert total == 1
    assert gaps[0].after.date().isoformat() == "2024-02-02"


def test_coverage_lists_each_series_with_its_range_and_count():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    store_times("BINANCE:COVER", "60", hours(start, 10))
    row = next(r for r in coverage() if r["symbol"] == "BINANCE:COVER")
    assert (row["timeframe"], row["bars"], row["first"], row["last"]) == ("60", 10, start, start + timedelta(hours=9))
