"""Running a compiled Pine program inside backtrader.

``PineStrategy.next()`` steps the compiled program one bar with the TradingView broker emulator
(``process_bar`` -> script -> ``after_script``).  Fills follow the emulator, not backtrader's broker,
which stays unused.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt

from .broker import StrategyEmulator, SymbolInfo
from .engine import (
    Bars,
    RunResult,
    _result,
    _select_bars,
    _session_start_min,
    ensure_compiled,
    resolve_inputs,
    strategy_config,
)
from .evaluator import Limits, Script
from .feed import NumpyFeed
from .series import BarData
from .timeutil import infer_timeframe, parse_timeframe


class PineStrategy(bt.Strategy):
    """A backtrader strategy whose logic is a compiled Pine program (``params.program``)."""

    params = (("script", None), ("emulator", None))

    def __init__(self) -> None:
        script: Script = self.p.script
        emu: StrategyEmulator = self.p.emulator
        bars = script.bars
        self._t, self._o, self._h, self._l, self._c, self._v = bars.t, bars.o, bars.h, bars.l, bars.c, bars.v
        self._process_bar = emu.process_bar
        self._run_bar = script.run_bar
        self._after = emu.after_script
        self._i = 0

    def next(self) -> None:
        i = self._i
        self._process_bar(i, self._t[i], self._o[i], self._h[i], self._l[i], self._c[i], self._v[i])
        self._run_bar(i)
        self._after(i)
        self._i = i + 1


def run_backtest_backtrader(source_or_compiled: Any, bars: Bars, symbol: SymbolInfo, *, timeframe: str | None = None,
                            inputs: dict | None = None, date_from: Any = None, date_to: Any = None,
                            initial_capital: float | None = None, max_bars: int | None = None,
                            limits: Limits | None = None) -> RunResult:
    """Same as ``engine.run_backtest`` but driven by ``cerebro.run`` (for integration with backtrader)."""
    compiled = ensure_compiled(source_or_compiled)
    bars = _select_bars(bars, date_from, date_to, max_bars)
    tf = timeframe or infer_timeframe(bars.time_ms)
    by_index, effective = resolve_inputs(compiled, inputs)
    emu = StrategyEmulator(strategy_config(compiled, initial_capital), symbol)
    data = BarData.from_arrays(bars.time_ms, bars.open, bars.high, bars.low, bars.close, bars.volume,
                               symbol.timezone or "Etc/UTC", parse_timeframe(tf).nominal_ms,
                               _session_start_min(symbol))
    script = Script(compiled.program, inputs_specs=compiled.inputs, input_values=by_index, symbol=symbol,
                    timeframe=tf, bars=data, emulator=emu, limits=limits)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(NumpyFeed.from_bars(bars))
    cerebro.addstrategy(PineStrategy, script=script, emulator=emu)
    cerebro.run(runonce=False, preload=True, stdstats=False)
    return _result(script, emu.finish(), effective, len(bars))
