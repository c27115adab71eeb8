"""Higher timeframes served from stored lower ones, checked against pandas' resample of the same bars."""

import numpy as np
import pandas as pd
import pytest

from backtests.marketdata.selectors import (
    NoDataError,
    continuous_aggregate_sql,
    load_resampled,
    load_series_bars,
    source_series_for,
)
from backtests.marketdata.services import BarArrays, get_or_create_series, upsert_arrays
from backtests.marketdata.timeframes import parse_timeframe

pytestmark = pytest.mark.django_db


def random_walk_minutes(start: str, minutes: int, seed: int = 7, drop_every: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=minutes, freq="1min", tz="UTC")
    close = 100 + np.cumsum(rng.normal(0, 0.1, minutes))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) + rng.uniform(0, 0.05, minutes)
    low = np.minimum(open_, close) - rng.uniform(0, 0.05, minutes)
    volume = rng.integers(1, 100, minutes).astype(float)
    frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)
    if drop_every:
        frame = frame[np.arange(len(frame)) % drop_every != 3]  # holes inside buckets
    return frame


def store(frame: pd.DataFrame, symbol: str, timezone: str = "Etc/UTC", session_start: str = "0000", timeframe: str = "1"):
    series = get_or_create_series(symbol, timeframe, timezone=timezone, session_start=session_start)
    upsert_arrays(series, BarArrays(
        time=(frame.index.as_unit("ms").asi8).astype(np.int64),
        **{c: frame[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close", "volume")},
    ))
    return series


def pandas_ohlcv(frame: pd.DataFrame, rule: str, **kwargs) -> pd.DataFrame:
    aggregated = frame.resample(rule, closed="left", label="left", **kwargs).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    return aggregated.dropna(subset=["open"])


def assert_same(bars: dict, expected: pd.DataFrame) -> None:
    expected_ms = expected.index.tz_convert("UTC").as_unit("ms").asi8 if expected.index.tz else None
    assert bars["time"].tolist() == expected_ms.tolist()
    for column in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(bars[column], expected[column].to_numpy(), rtol=0, atol=1e-9, err_msg=column)


@pytest.mark.parametrize(("timeframe", "rule"), [("5", "5min"), ("15", "15min"), ("60", "1h"), ("240", "4h")])
def test_intraday_timeframes_aggregate_like_pandas(timeframe, rule):
    frame = random_walk_minutes("2024-03-01 00:00", 3 * 1440, drop_every=17)
    series = store(frame, "BINANCE:TEST")
    assert_same(load_resampled(series, timeframe), pandas_ohlcv(frame, rule))


def test_daily_bars_follow_the_exchange_time_zone_across_a_dst_change():
    frame = random_walk_minutes("2024-03-08 00:00", 5 * 1440)  # New York switches to DST on 2024-03-10
    series = store(frame, "NASDAQ:TEST", timezone="America/New_York")
    local = frame.tz_convert("America/New_York")
    expected = pandas_ohlcv(local, "1D")
    bars = load_resampled(series, "1D")
    assert_same(bars, expected)
    assert pd.Timestamp(bars["time"][0], unit="ms", tz="UTC").tz_convert("America/New_York").hour == 0


def test_daily_bars_of_a_1700_session_start_on_the_previous_evening():
    frame = random_walk_minutes("2024-06-03 00:00", 4 * 1440)
    series = store(frame, "FX:TEST", timezone="America/New_York", session_start="1700")
    local_naive = frame.tz_convert("America/New_York").tz_localize(None)
    expected = pandas_ohlcv(local_naive, "1D", offset="17h").tz_localize("America/New_York")
    bars = load_resampled(series, "1D")
    assert_same(bars, expected)
    first = pd.Timestamp(bars["time"][1], unit="ms", tz="UTC").tz_convert("America/New_York")
    assert (first.hour, first.minute) == (17, 0)


def test_weekly_and_monthly_bars_start_on_monday_and_the_first_of_the_month():
    days = pd.date_range("2024-01-04", periods=120, freq="1D", tz="UTC")
    rng = np.random.default_rng(3)
    close = 50 + np.cumsum(rng.normal(0, 1, len(days)))
    frame = pd.DataFrame({"open": close + 0.1, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0}, index=days)
    series = store(frame, "CRYPTO:DAILY", timeframe="1D")
    days = frame.tz_localize(None)
    weekly = pandas_ohlcv(days, "7D", origin=pd.Timestamp("2000-01-03")).tz_localize("UTC")
    assert_same(load_resampled(series, "1W"), weekly)
    assert all(pd.Timestamp(t, unit="ms").weekday() == 0 for t in load_resampled(series, "1W")["time"])
    assert_same(load_resampled(series, "1M"), pandas_ohlcv(frame, "MS"))
    assert_same(load_resampled(series, "3M"), pandas_ohlcv(frame, "QS-JAN"))


def test_a_request_is_served_from_the_coarsest_stored_timeframe_that_divides_it():
    frame = random_walk_minutes("2024-03-01 00:00", 2 * 1440)
    minute = store(frame, "BINANCE:MULTI")
    five = store(frame.resample("5min").agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}),
                 "BINANCE:MULTI", timeframe="5")
    assert source_series_for("BINANCE:MULTI", "60") == five
    assert source_series_for("BINANCE:MULTI", "3") == minute
    assert source_series_for("BINANCE:MULTI", "5") == five
    _series, bars = load_series_bars("BINANCE:MULTI", "60")
    assert_same(bars, pandas_ohlcv(frame, "1h"))
    with pytest.raises(NoDataError, match="stored timeframes: 1, 5"):
        source_series_for("BINANCE:MULTI", "30S")


def test_timeframe_strings_parse_like_pine():
    assert [parse_timeframe(t).pine for t in ("1", "60", "1h", "4H", "D", "1D", "W", "1M", "30S")] == [
        "1", "60", "60", "240", "1D", "1D", "1W", "1M", "30S"
    ]
    assert parse_timeframe("1").divides(parse_timeframe("1D"))
    assert not parse_timeframe("7").divides(parse_timeframe("60"))


def test_continuous_aggregate_sql_uses_time_bucket_first_and_last():
    create, policy = continuous_aggregate_sql("60")
    assert create == (
        "CREATE MATERIALIZED VIEW IF NOT EXISTS marketdata_ohlcv_60 WITH (timescaledb.continuous) AS "
        "SELECT series_id, time_bucket(INTERVAL '60 minutes', time) AS bucket, first(open, time) AS open, "
        "max(high) AS high, min(low) AS low, last(close, time) AS close, sum(volume) AS volume "
        "FROM marketdata_ohlcvbar GROUP BY series_id, bucket WITH NO DATA"
    )
    assert policy.startswith("SELECT add_continuous_aggregate_policy('marketdata_ohlcv_60'")
    assert "if_not_exists => true" in policy
    assert "INTERVAL '1 days'" in continuous_aggregate_sql("1D")[0]
