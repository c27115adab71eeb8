"""Every script of the corpus compiles without errors; TradingView template settings are read faithfully."""

from __future__ import annotations

from pathlib import Path

import pytest

from strategies.pine import compile_source

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.pine"))


def test_corpus_has_at_least_sixty_scripts():
    assert len(FILES) >= 60


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_script_compiles_without_errors(path: Path):
    result = compile_source(path.read_text(), filename=path.name)
    errors = [d.format(path.name) for d in result.diagnostics if d.severity == "error"]
    assert errors == []
    assert result.ok
    assert result.program is not None
    assert result.declaration is not None


def _compile(name: str):
    result = compile_source((CORPUS / name).read_text(), filename=name)
    assert result.ok, [d.format(name) for d in result.diagnostics]
    return result


def test_rsi_template_declares_defaults_and_three_inputs():
    res = _compile("tv_rsi_strategy.pine")
    assert res.declaration.kind == "strategy"
    assert res.declaration.title == "RSI Strategy"
    assert res.declaration.initial_capital == 1000000
    assert res.declaration.pyramiding == 0
    assert [(i.name, i.kind, i.defval) for i in res.inputs] == [
        ("length", "int", 14),
        ("overSold", "int", 30),
        ("overBought", "int", 70),
    ]


def test_supertrend_template_uses_percent_of_equity_15():
    res = _compile("tv_supertrend_strategy.pine")
    assert res.declaration.default_qty_type == "percent_of_equity"
    assert res.declaration.default_qty_value == 15
    assert [(i.name, i.kind, i.defval) for i in res.inputs] == [("atrPeriod", "int", 10), ("factor", "float", 3.0)]


def test_barupdn_template_uses_percent_of_equity_10():
    res = _compile("tv_barupdn_strategy.pine")
    assert res.declaration.default_qty_type == "percent_of_equity"
    assert res.declaration.default_qty_value == 10
    assert res.inputs[0].name == "maxIdLossPcnt" and res.inputs[0].defval == 1


@pytest.mark.parametrize(
    ("name", "slippage", "extra"),
    [
        ("tv_slippage_basic.pine", 10, {}),
        ("tv_slippage_direction.pine", 15, {}),
        ("tv_slippage_limit.pine", 20, {}),
        ("tv_slippage_pyramiding.pine", 5, {"pyramiding": 3, "default_qty_value": 10}),
    ],
)
def test_slippage_scripts_declare_capital_commission_and_slippage(name, slippage, extra):
    decl = _compile(name).declaration
    assert decl.initial_capital == 10000
    assert decl.commission_type == "percent"
    assert decl.commission_value == 0.1
    assert decl.slippage == slippage
    for key, value in extra.items():
        assert getattr(decl, key) == value


def test_futures_script_declares_fixed_one_contract():
    decl = _compile("tv_futures_pnl.pine").declaration
    assert (decl.initial_capital, decl.default_qty_type, decl.default_qty_value, decl.pyramiding) == (
        100000,
        "fixed",
        1,
        0,
    )


def test_keltner_template_inputs_include_options_and_source():
    res = _compile("tv_keltner_strategy.pine")
    by_name = {i.name: i for i in res.inputs}
    assert by_name["src"].kind == "source" and by_name["src"].defval == "close"
    assert by_name["BandsStyle"].options == ["Average True Range", "True Range", "Range"]
    assert by_name["atrlength"].defval == 10
    assert res.declaration.version == 5
