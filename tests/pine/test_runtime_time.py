"""Time built-ins follow the symbol's exchange time zone (zoneinfo, DST-exact)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from strategies.pine.runtime.broker import SymbolInfo
from tests.pine.runtime_helpers import HOUR, crafted_bars, header, plotted

NY = SymbolInfo(ticker="NASDAQ:AAPL", mintick=0.01, type="stock", timezone="America/New_York")
TW = SymbolInfo(ticker="TWSE:2330", mintick=0.5, type="stock", timezone="Asia/Taipei")
DST_START_UTC = int(datetime(2024, 3, 9, 0, tzinfo=UTC).timestamp() * 1000)  # DST begins 2024-03-10 02:00 NY


def _hourly(n: int, start: int = DST_START_UTC):
    return crafted_bars([100.0 + k for k in range(n)], start_ms=start, step_ms=HOUR)


def _local(ms: int, tz: str) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(tz))


def test_calendar_variables_follow_new_york_time_across_dst_start() -> None:
    bars = _hourly(72)
    src = header() + "plot(hour, 'h')\nplot(dayofweek, 'dow')\nplot(dayofmonth, 'd')\nplot(minute, 'm')\n"
    expected_hours = [_local(int(t), "America/New_York").hour for t in bars.time_ms]
    assert plotted(src, "h", bars, symbol=NY) == expected_hours
    # the UTC offset changes from -5 to -4: the local hour sequence skips 02:00 on 2024-03-10
    assert 2 not in [h for t, h in zip(bars.time_ms, expected_hours, strict=True)
                     if _local(int(t), "America/New_York").day == 10]
    expected_dow = [(_local(int(t), "America/New_York").isoweekday() % 7) + 1 for t in bars.time_ms]
    assert plotted(src, "dow", bars, symbol=NY) == expected_dow
    assert plotted(src, "d", bars, symbol=NY)[0] == 8  # 2024-03-09T00:00Z is 2024-03-08 19:00 in New York


def test_calendar_functions_take_an_explicit_time_zone() -> None:
    bars = _hourly(5)
    src = header() + "plot(hour(time, 'Asia/Taipei'), 'tpe')\nplot(hour(time, 'UTC+2'), 'p2')\nplot(hour(time), 'x')\n"
    assert plotted(src, "tpe", bars, symbol=NY) == [8, 9, 10, 11, 12]
    assert plotted(src, "p2", bars, symbol=NY) == [2, 3, 4, 5, 6]
    assert plotted(src, "x", bars, symbol=NY) == [19, 20, 21, 22, 23]


def test_taipei_exchange_time_zone() -> None:
    bars = _hourly(3)
    assert plotted(header() + "plot(hour, 'h')\nplot(syminfo.timezone == 'Asia/Taipei' ? 1 : 0, 'tz')\n",
                   "h", bars, symbol=TW) == [8, 9, 10]


def test_timestamp_uses_exchange_time_zone_with_dst() -> None:
    bars = _hourly(2)
    src = header() + (
        "plot(timestamp(2024, 3, 10, 12, 0), 'local')\n"
        "plot(timestamp('2024-03-10T12:00:00+00:00'), 'iso')\n")
    noon_ny = int(datetime(2024, 3, 10, 12, tzinfo=ZoneInfo("America/New_York")).timestamp() * 1000)
    noon_utc = int(datetime(2024, 3, 10, 12, tzinfo=UTC).timestamp() * 1000)
    assert plotted(src, "local", bars, symbol=NY)[0] == noon_ny
    assert noon_ny - noon_utc == 4 * HOUR  # EDT after the switch
    assert plotted(src, "iso", bars, symbol=NY)[0] == noon_utc


def test_timestamp_with_explicit_time_zone_argument() -> None:
    src = header() + "plot(timestamp('UTC', 2024, 3, 10, 12, 0), 'utc')\n"
    noon_utc = int(datetime(2024, 3, 10, 12, tzinfo=UTC).timestamp() * 1000)
    assert plotted(src, "utc", _hourly(2), symbol=NY)[0] == noon_utc


def test_session_filter_with_time_function() -> None:
    bars = _hourly(72)
    src = header() + "inSession = not na(time(timeframe.period, '0930-1600'))\nplot(inSession ? 1 : 0, 's')\n"
    expected = []
    for t in bars.time_ms:
        lt = _local(int(t), "America/New_York")
        minute = lt.hour * 60 + lt.minute
        expected.append(1 if 9 * 60 + 30 <= minute < 16 * 60 else 0)
    assert plotted(src, "s", bars, symbol=NY) == expected


def test_session_days_restrict_weekdays() -> None:
    bars = _hourly(72)
    src = header() + "plot(na(time('60', '0000-0000:23456')) ? 0 : 1, 's')\n"
    expected = [0 if _local(int(t), "America/New_York").isoweekday() in (6, 7) else 1 for t in bars.time_ms]
    assert plotted(src, "s", bars, symbol=NY) == expected


def test_time_with_higher_timeframe_is_start_of_local_day() -> None:
    bars = _hourly(48)
    values = plotted(header() + "plot(time('D'), 'd')\n", "d", bars, symbol=NY)
    for t, v in zip(bars.time_ms, values, strict=True):
        lt = _local(int(t), "America/New_York")
        midnight = lt.replace(hour=0, minute=0, second=0, microsecond=0)
        assert v == int(midnight.timestamp() * 1000)


def test_timeframe_variables_come_from_the_feed_timeframe() -> None:
    bars = _hourly(3)
    src = header() + (
        "plot(timeframe.multiplier, 'm')\nplot(timeframe.isintraday ? 1 : 0, 'i')\n"
        "plot(timeframe.period == '60' ? 1 : 0, 'p')\nplot(timeframe.in_seconds(), 's')\n"
        "plot(time_close - time, 'dur')\n")
    assert plotted(src, "m", bars)[0] == 60
    assert plotted(src, "i", bars)[0] == 1
    assert plotted(src, "p", bars)[0] == 1
    assert plotted(src, "s", bars)[0] == 3600
    assert plotted(src, "dur", bars)[0] == HOUR
    daily = crafted_bars([1.0, 2.0], step_ms=24 * HOUR)
    assert plotted(header() + "plot(timeframe.isdaily ? 1 : 0, 'd')\n", "d", daily, timeframe="D")[0] == 1


def test_str_format_time_in_exchange_zone() -> None:
    bars = _hourly(1)
    src = header() + "s = str.format_time(time, 'yyyy-MM-dd HH:mm')\nplot(s == '2024-03-08 19:00' ? 1 : 0, 'ok')\n"
    assert plotted(src, "ok", bars, symbol=NY) == [1]


def test_weekofyear_is_iso_week() -> None:
    bars = _hourly(30)
    got = plotted(header() + "plot(weekofyear, 'w')\n", "w", bars, symbol=NY)
    assert got == [_local(int(t), "America/New_York").isocalendar()[1] for t in bars.time_ms]
    assert np.unique(got).size >= 1


def test_session_first_bar_and_trading_day_follow_the_session_start() -> None:
    fx = SymbolInfo(ticker="OANDA:EURUSD", mintick=0.00001, type="forex", timezone="America/New_York",
                    session_start="1700")
    bars = _hourly(72)
    src = header() + "plot(session.isfirstbar ? 1 : 0, 'f')\nplot(time_tradingday, 'td')\n"
    firsts = [i for i, v in enumerate(plotted(src, "f", bars, symbol=fx)) if v == 1]
    expected = [0] + [i for i, t in enumerate(bars.time_ms) if _local(int(t), "America/New_York").hour == 17]
    assert firsts == expected
    # the Runner (bar-by-bar calendar) agrees with the batch (vectorized calendar)
    from strategies.pine.runtime.engine import Runner

    runner = Runner(src, fx, "60")
    for k in range(len(bars)):
        runner.step((int(bars.time_ms[k]), bars.open[k], bars.high[k], bars.low[k], bars.close[k], 1.0))
    assert runner.result().plots["td"].tolist() == plotted(src, "td", bars, symbol=fx)
