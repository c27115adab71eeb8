"""request.security for the chart symbol at a higher timeframe: confirmed values only (no lookahead)."""

from __future__ import annotations

import pytest

from strategies.pine.runtime.engine import Runner
from strategies.pine.runtime.errors import PineRuntimeError
from tests.pine.runtime_helpers import CRYPTO, crafted_bars, header, plotted, run

# 3 UTC days of hourly bars, close == bar index: day k closes at 24k + 23
BARS = crafted_bars([float(k) for k in range(72)])


def _expected_daily_close_no_lookahead() -> list:
    out = []
    for i in range(72):
        day, hour = divmod(i, 24)
        if hour == 23:
            out.append(float(24 * day + 23))  # the daily bar confirms at its last hourly bar's close
        else:
            out.append(None if day == 0 else float(24 * day - 1))
    return out


def test_higher_timeframe_close_is_last_confirmed_daily_bar() -> None:
    src = header() + "d = request.security(syminfo.tickerid, 'D', close)\nplot(d, 'd')\n"
    assert plotted(src, "d", BARS) == _expected_daily_close_no_lookahead()


def test_lookahead_on_with_previous_value_is_previous_day_on_every_bar() -> None:
    src = header() + (
        "d = request.security(syminfo.tickerid, 'D', close[1], lookahead=barmerge.lookahead_on)\nplot(d, 'd')\n")
    expected = [None if i < 24 else float(24 * (i // 24) - 1) for i in range(72)]
    assert plotted(src, "d", BARS) == expected


def test_lookahead_on_with_current_value_shows_the_future_daily_close() -> None:
    src = header() + "d = request.security(syminfo.tickerid, 'D', close, lookahead=barmerge.lookahead_on)\nplot(d, 'd')\n"
    assert plotted(src, "d", BARS) == [float(24 * (i // 24) + 23) for i in range(72)]


def test_expression_with_ta_is_evaluated_on_daily_bars() -> None:
    src = header() + "d = request.security(syminfo.tickerid, 'D', ta.sma(close, 2))\nplot(d, 'd')\n"
    got = plotted(src, "d", BARS)
    # daily closes 23, 47, 71: sma(2) = na, 35, 59
    assert got[:47] == [None] * 47
    assert got[47:71] == [35.0] * 24
    assert got[71] == 59.0


def test_gaps_on_gives_value_only_on_confirmation_bar() -> None:
    src = header() + "d = request.security(syminfo.tickerid, 'D', close, gaps=barmerge.gaps_on)\nplot(d, 'd')\n"
    got = plotted(src, "d", BARS)
    assert [i for i, v in enumerate(got) if v is not None] == [23, 47, 71]


def test_daily_high_and_low_aggregate_the_hourly_bars() -> None:
    src = header() + "[h, l] = request.security(syminfo.tickerid, 'D', [high, low])\nplot(h - l, 'r')\n"
    got = plotted(src, "r", BARS)
    # crafted bars: open = previous close, so day k spans from close 24k-1 (open of its first bar) to 24k+23
    assert got[23] == 23.0
    assert got[47] == 24.0


def test_other_symbol_is_a_clear_error() -> None:
    src = header() + "d = request.security('NASDAQ:AAPL', 'D', close)\nplot(d)\n"
    with pytest.raises(PineRuntimeError, match="only the chart symbol"):
        run(src, BARS)


def test_lower_timeframe_is_a_clear_error() -> None:
    src = header() + "d = request.security(syminfo.tickerid, '15', close)\nplot(d)\n"
    with pytest.raises(PineRuntimeError, match="lower than the chart timeframe"):
        run(src, BARS)


def test_runner_gives_the_same_security_values_bar_by_bar() -> None:
    src = header() + "d = request.security(syminfo.tickerid, 'D', ta.sma(close, 2))\nplot(d, 'd')\n"
    runner = Runner(src, CRYPTO, "60")
    runner.warmup(BARS)
    live = runner.result().plots["d"].tolist()
    batch = run(src, BARS).plots["d"].tolist()
    assert [None if v != v else v for v in live] == [None if v != v else v for v in batch]


def test_runner_snapshot_mid_day_restores_the_higher_timeframe_state() -> None:
    src = header() + "d = request.security(syminfo.tickerid, 'D', ta.sma(close, 2))\nplot(d, 'd')\n"
    first = Runner(src, CRYPTO, "60")
    first.warmup(BARS.slice(0, 40))  # stops in the middle of the second day
    resumed = Runner.from_state(src, CRYPTO, "60", None, first.get_state())
    resumed.warmup(BARS.slice(40, 72))
    got = resumed.result().plots["d"].tolist()
    batch = run(src, BARS).plots["d"].tolist()
    assert [None if v != v else v for v in got] == [None if v != v else v for v in batch]


def test_runner_supports_lookahead_on_with_history_offset_idiom() -> None:
    src = header() + (
        "d = request.security(syminfo.tickerid, 'D', ta.sma(close, 2)[1], lookahead=barmerge.lookahead_on)\n"
        "plot(d, 'd')\n")
    runner = Runner(src, CRYPTO, "60")
    for k in range(len(BARS)):
        runner.step((int(BARS.time_ms[k]), BARS.open[k], BARS.high[k], BARS.low[k], BARS.close[k], 1.0))
    live = [None if v != v else v for v in runner.result().plots["d"].tolist()]
    batch = plotted(src, "d", BARS)
    assert live == batch
    # day 2 shows the day-1 sma (35) from its first bar on: non-repainting previous-HTF-bar value
    assert batch[48:72] == [35.0] * 24 and batch[:48] == [None] * 48


def test_symbol_built_with_ticker_new_is_the_chart_symbol() -> None:
    src = header() + "d = request.security(ticker.new(syminfo.prefix, syminfo.ticker), 'D', close)\nplot(d, 'd')\n"
    assert plotted(src, "d", BARS) == _expected_daily_close_no_lookahead()
