"""Pine Script v6 runtime: evaluator, TradingView broker emulator, ta library, backtest entry points.

Public API (import from the submodules to keep this package import light):

* ``engine.run_backtest(source_or_compiled, bars, symbol, *, timeframe, inputs, date_from, date_to,
  initial_capital, progress, should_cancel, max_bars) -> RunResult``
* ``engine.Runner(compiled, symbol, timeframe, inputs)`` with ``warmup(bars)``, ``step(bar)``,
  ``get_state()``, ``Runner.from_state(...)``, ``result()``
* ``engine.Bars`` (``from_csv``, ``from_dataframe``), ``broker.SymbolInfo``
* ``errors.PineRuntimeError`` (``line:col: message``), ``engine.PineCompileError``
* ``bt_strategy.PineStrategy`` / ``run_backtest_backtrader`` (backtrader integration),
  ``feed.NumpyFeed``
* ``cli.main(argv) -> int`` (``backtest FILE.pine --data FILE.csv ...``)
"""
