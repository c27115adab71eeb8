"""Every generated block combination compiles with our compiler and backtests on real data."""

import zlib

import pytest
from backtesting.test import EURUSD, GOOG

from strategies.builder import generate_pine
from strategies.pine import compile_source
from strategies.pine.runtime.broker import SymbolInfo
from strategies.pine.runtime.engine import Bars, run_backtest
from tests.strategies.builder_states import matrix

CASES = matrix()
DATA = {
    "GOOG": (Bars.from_dataframe(GOOG), SymbolInfo(ticker="GOOG", type="stock", mintick=0.01, timezone="America/New_York")),
    "EURUSD": (Bars.from_dataframe(EURUSD), SymbolInfo(ticker="EURUSD", type="forex", mintick=0.00001, timezone="Etc/UTC")),
}


def test_the_matrix_has_a_few_hundred_cases():
    assert 150 <= len(CASES) <= 400
    assert len({name for name, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "state"), CASES, ids=[name for name, _ in CASES])
def test_generated_pine_compiles_without_errors_and_backtests(name, state):
    source = generate_pine(state)
    compiled = compile_source(source)
    assert compiled.ok, "\n".join(d.format() for d in compiled.diagnostics) + "\n" + source
    assert compiled.declaration.kind == "strategy"
    symbol = "EURUSD" if zlib.crc32(name.encode()) % 2 else "GOOG"
    bars, info = DATA[symbol]
    result = run_backtest(compiled, bars, info, timeframe="1D" if symbol == "GOOG" else "60")
    assert result.bars_processed == len(bars)


@pytest.mark.parametrize(("name", "state"), [c for c in CASES if c[0].startswith("macross-")],
                         ids=[c[0] for c in CASES if c[0].startswith("macross-")])
def test_an_ma_cross_trades_on_goog_with_every_exit_risk_and_sizing(name, state):
    bars, info = DATA["GOOG"]
    result = run_backtest(compile_source(generate_pine(state)), bars, info, timeframe="1D")
    assert len(result.trades) > 0
