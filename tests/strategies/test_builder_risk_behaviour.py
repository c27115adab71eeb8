"""The generated risk code does what its blocks say on real data (GOOG daily)."""

import copy

from backtesting.test import GOOG

from strategies.builder import default_state, generate_pine
from strategies.pine import compile_source
from strategies.pine.runtime.broker import SymbolInfo
from strategies.pine.runtime.engine import Bars, run_backtest

BARS = Bars.from_dataframe(GOOG)
SYMBOL = SymbolInfo(ticker="GOOG", type="stock", mintick=0.01, timezone="America/New_York")


def trades_with(risk: dict, sizing: dict | None = None):
    state = default_state()
    state["rules"]["long_exit"] = None  # only the risk blocks close positions
    state["risk"] = copy.deepcopy(risk)
    if sizing is not None:
        state["sizing"] = sizing
    return run_backtest(compile_source(generate_pine(state)), BARS, SYMBOL, timeframe="1D").trades


def share_within(values: list[float], low: float, high: float) -> float:
    return sum(low <= v <= high for v in values) / len(values)


def test_a_percent_stop_loss_closes_losing_trades_about_that_far_below_the_entry():
    trades = trades_with({"stop_loss": {"type": "percent", "value": 1}})
    losses = [(t.entry_price - t.exit_price) / t.entry_price * 100 for t in trades if t.exit_id == "Long risk"]
    assert len(losses) >= 10
    # distances are fixed from the signal bar's close, so the fill's gap moves them slightly; gaps past the stop fill worse
    assert share_within(losses, 0.7, 1.3) >= 0.8


def test_a_percent_take_profit_closes_winning_trades_about_that_far_above_the_entry():
    trades = trades_with({"take_profit": {"type": "percent", "value": 3}, "stop_loss": {"type": "percent", "value": 10}})
    gains = [(t.exit_price - t.entry_price) / t.entry_price * 100 for t in trades
             if t.exit_id == "Long risk" and t.exit_price > t.entry_price]
    assert len(gains) >= 5
    assert share_within(gains, 2.5, 3.5) >= 0.8


def test_fixed_sizing_trades_the_given_quantity():
    trades = trades_with({"stop_loss": {"type": "percent", "value": 2}}, sizing={"type": "fixed", "value": 3})
    assert {t.qty for t in trades} == {3}


def test_percent_of_equity_sizing_invests_about_that_share_of_equity():
    trades = trades_with({"stop_loss": {"type": "percent", "value": 2}}, sizing={"type": "percent_of_equity", "value": 50})
    first = trades[0]
    assert 0.45 <= first.qty * first.entry_price / 10000 <= 0.55
