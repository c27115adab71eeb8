"""The fill -> broker command bookkeeping of a deployment runner (pure: no database)."""

from decimal import Decimal

import pytest

from execution.native.engine import DeploymentRunner
from strategies.pine import compile_source
from strategies.pine.runtime.broker import SymbolInfo
from strategies.pine.runtime.engine import run_backtest
from tests.native.factories import CROSS_STRATEGY, goog_bars_hourly

SYMBOL = SymbolInfo(ticker="BINANCE:BTCUSDT.P")

REVERSING = """//@version=6
strategy("Reverse", default_qty_type=strategy.fixed, default_qty_value=2)
if bar_index % 10 == 0
    strategy.entry("L", strategy.long)
if bar_index % 10 == 5
    strategy.entry("S", strategy.short)
"""

LONG_FROM_HISTORY = """//@version=6
strategy("Held", default_qty_type=strategy.fixed, default_qty_value=3, pyramiding=2)
if bar_index == 5
    strategy.entry("L", strategy.long)
if bar_index == 60
    strategy.entry("L2", strategy.long, qty=1)
if bar_index == 70
    strategy.close_all()
"""


def _steps(source, bars, warmup):
    runner = DeploymentRunner.start(compile_source(source), SYMBOL, "60", {}, bars.slice(0, warmup))
    outcomes = []
    for i in range(warmup, len(bars)):
        outcomes.append(runner.step((int(bars.time_ms[i]), bars.open[i], bars.high[i], bars.low[i], bars.close[i],
                                     bars.volume[i])))
    return runner, outcomes


def test_a_market_order_is_sent_at_the_close_of_the_bar_that_placed_it():
    bars = goog_bars_hourly(40)
    _, outcomes = _steps(REVERSING, bars, 8)
    entry_bar = outcomes[10 - 8]  # bar 10 places the long; it fills at bar 11's open
    assert [(c.action, c.quantity, c.predicted) for c in entry_bar.commands] == [("buy", Decimal(2), True)]
    assert entry_bar.commands[0].reference_price == Decimal(str(bars.close[10]))
    assert outcomes[11 - 8].commands == []  # the real fill at the open is not sent again


def test_a_reversal_is_an_exit_then_an_entry():
    bars = goog_bars_hourly(40)
    _, outcomes = _steps(REVERSING, bars, 8)
    reversal = outcomes[15 - 8].commands
    assert [(c.action, c.quantity) for c in reversal] == [("exit", None), ("sell", Decimal(2))]
    assert [c.position_after for c in reversal] == [Decimal(0), Decimal(-2)]


def test_a_position_inherited_from_the_warm_up_is_never_traded():
    bars = goog_bars_hourly(80)
    runner, outcomes = _steps(LONG_FROM_HISTORY, bars, 50)
    commands = [c for o in outcomes for c in o.commands]
    assert runner.runner.emu.position_size == 0
    # only the 1 contract added live is bought and later sold; the 3 from history are not closed at the broker
    assert [(c.action, c.quantity) for c in commands] == [("buy", Decimal(1)), ("exit", None)]
    assert commands[-1].position_before == Decimal(1)


def _trade_rows(trades) -> list[tuple]:
    return [(t.entry_time, t.exit_time, t.qty, t.entry_price, t.exit_price) for t in trades]


def test_stepping_history_bar_by_bar_gives_the_backtest_trades():
    bars = goog_bars_hourly(900)
    runner, _ = _steps(CROSS_STRATEGY, bars, 300)
    backtest = run_backtest(compile_source(CROSS_STRATEGY), bars, SYMBOL, timeframe="60")
    assert _trade_rows(runner.runner.result().trades) == _trade_rows(backtest.trades)


def test_the_traded_position_follows_the_strategy_once_it_started_flat():
    bars = goog_bars_hourly(900)
    runner, outcomes = _steps(CROSS_STRATEGY, bars, 300)
    position = Decimal(0)
    for outcome in outcomes:
        for command in outcome.commands:
            assert command.position_before == position
            position = command.position_after
    assert position == Decimal(str(runner.book.traded_position))
    assert runner.book.traded_position == runner.runner.emu.position_size


def test_the_state_round_trip_resumes_the_bookkeeping():
    bars = goog_bars_hourly(200)
    runner, _ = _steps(REVERSING, bars, 100)
    restored = DeploymentRunner.from_state(compile_source(REVERSING), SYMBOL, "60", {}, runner.get_state(),
                                           runner.book_json())
    assert restored.book == runner.book and restored.last_time_ms == runner.last_time_ms


def test_the_persisted_state_does_not_keep_order_events_or_equity_per_bar():
    bars = goog_bars_hourly(900)
    runner, _ = _steps(REVERSING, bars, 100)
    after_100_live_bars = len(runner.get_state())
    for i in range(len(bars), len(bars) + 400):  # 400 more bars, 80 more trades
        price = float(bars.close[-1])
        runner.step((int(bars.time_ms[-1]) + (i - len(bars) + 1) * 3_600_000, price, price, price, price, 1.0))
    restored = DeploymentRunner.from_state(compile_source(REVERSING), SYMBOL, "60", {}, runner.get_state(),
                                           runner.book_json())
    emu = restored.runner.emu
    assert emu.events == [] and len(emu._equity) == 1 and len(emu._closes) == 1
    # what still grows: the bar arrays and the closed trades the script can read (strategy.closedtrades.*)
    per_bar = (len(runner.get_state()) - after_100_live_bars) / 400
    assert per_bar < 250, per_bar
    assert emu.closedtrades == runner.runner.emu.closedtrades > 80



PLOTTING = """//@version=6
strategy("Plots", default_qty_type=strategy.fixed, default_qty_value=1)
fast = ta.sma(close, 5)
plot(fast, "fast")
plot(ta.ema(close, 20), "slow")
if ta.crossover(fast, ta.ema(close, 20))
    strategy.entry("L", strategy.long)
if ta.crossunder(fast, ta.ema(close, 20))
    strategy.close("L")
"""


def test_the_persisted_state_keeps_no_plot_values():
    bars = goog_bars_hourly(600)
    runner, _ = _steps(PLOTTING, bars, 300)
    restored = DeploymentRunner.from_state(compile_source(PLOTTING), SYMBOL, "60", {}, runner.get_state(),
                                           runner.book_json())
    plots = restored.runner.script.outputs.plots
    assert set(plots) == {"fast", "slow"} and not any(plots.values())


def test_a_runner_keeping_no_plots_trades_like_the_backtest():
    """plot() arguments are still evaluated every bar: the ta.ema inside one keeps its state."""
    bars = goog_bars_hourly(600)
    runner, _ = _steps(PLOTTING, bars, 300)
    backtest = run_backtest(compile_source(PLOTTING), bars, SYMBOL, timeframe="60")
    live = runner.runner.result().trades
    assert len(backtest.trades) > 3
    assert [(t.entry_time, t.exit_time, t.entry_price, t.exit_price) for t in live] == \
        [(t.entry_time, t.exit_time, t.entry_price, t.exit_price) for t in backtest.trades]


def test_predicting_a_reversal_at_the_open_leaves_the_emulator_untouched():
    bars = goog_bars_hourly(106)
    runner, _ = _steps(REVERSING, bars, 100)  # the last bar (index 105) placed the short entry
    emu = runner.runner.emu
    closed, count = emu.closed, len(emu.closed)
    assert count > 5
    predicted = runner._predict_open_fills()
    assert [(f["id"], f["side"], f["qty"]) for f in predicted] == [("S", "sell", 4.0)]
    assert emu.closed is closed and len(emu.closed) == count and emu.position_size == 2.0


def test_trimmed_runner_still_trades_like_the_backtest_after_a_state_round_trip():
    bars = goog_bars_hourly(900)
    runner = DeploymentRunner.start(compile_source(CROSS_STRATEGY), SYMBOL, "60", {}, bars.slice(0, 300))
    for i in range(300, len(bars)):
        if i % 50 == 0:  # a worker restart: resume from the persisted (trimmed) state
            runner = DeploymentRunner.from_state(compile_source(CROSS_STRATEGY), SYMBOL, "60", {}, runner.get_state(),
                                                 runner.book_json())
        runner.step((int(bars.time_ms[i]), bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i]))
    backtest = run_backtest(compile_source(CROSS_STRATEGY), bars, SYMBOL, timeframe="60")
    assert _trade_rows(runner.runner.result().trades) == _trade_rows(backtest.trades)


def test_a_plain_snapshot_written_before_compression_still_resumes():
    bars = goog_bars_hourly(200)
    runner, _ = _steps(REVERSING, bars, 100)
    plain = runner.runner.get_state()
    restored = DeploymentRunner.from_state(compile_source(REVERSING), SYMBOL, "60", {}, plain, runner.book_json())
    assert restored.last_time_ms == runner.last_time_ms
    assert len(runner.get_state()) * 2 < len(plain)  # what is persisted now


def test_delta_states_on_a_base_snapshot_trade_like_the_backtest_across_restarts():
    bars = goog_bars_hourly(900)
    runner = DeploymentRunner.start(compile_source(CROSS_STRATEGY), SYMBOL, "60", {}, bars.slice(0, 300))
    state, base = runner.get_delta()  # what start_deployment persists: a base, and a delta on it
    assert base is not None
    rebases = 0
    for i in range(300, len(bars)):
        if i % 37 == 0:  # a worker restart: resume from the persisted delta and base
            runner = DeploymentRunner.from_state(compile_source(CROSS_STRATEGY), SYMBOL, "60", {}, state,
                                                 runner.book_json(), base=base)
        runner.step((int(bars.time_ms[i]), bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i]))
        state, new_base = runner.get_delta()
        if new_base is not None:
            base, rebases = new_base, rebases + 1
    assert rebases >= 4
    backtest = run_backtest(compile_source(CROSS_STRATEGY), bars, SYMBOL, timeframe="60")
    assert _trade_rows(runner.runner.result().trades) == _trade_rows(backtest.trades)


def test_the_delta_written_per_bar_does_not_grow_with_the_history():
    bars = goog_bars_hourly(2000)
    runner, _ = _steps(REVERSING, bars, 1900)
    state, base = runner.get_delta()
    assert base is not None and len(state) * 10 < len(base)
    whole = len(runner.get_state())
    state, base = runner.get_delta()
    assert base is None and len(state) * 10 < whole


def test_a_whole_state_written_before_deltas_resumes_and_its_next_write_starts_a_base():
    bars = goog_bars_hourly(200)
    runner, _ = _steps(REVERSING, bars, 100)
    restored = DeploymentRunner.from_state(compile_source(REVERSING), SYMBOL, "60", {}, runner.get_state(),
                                           runner.book_json())
    assert restored.base is None and restored.last_time_ms == runner.last_time_ms
    state, base = restored.get_delta()
    assert base is not None
    again = DeploymentRunner.from_state(compile_source(REVERSING), SYMBOL, "60", {}, state, runner.book_json(),
                                        base=base)
    assert again.runner.emu.closedtrades == runner.runner.emu.closedtrades and again.base == restored.base


def test_a_delta_state_without_its_base_is_refused():
    bars = goog_bars_hourly(200)
    runner, _ = _steps(REVERSING, bars, 100)
    state, _base = runner.get_delta()
    with pytest.raises(ValueError, match="base"):
        DeploymentRunner.from_state(compile_source(REVERSING), SYMBOL, "60", {}, state, runner.book_json())
