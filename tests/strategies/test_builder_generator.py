"""generate_pine: golden outputs, safe text handling, and inputs for every number."""

import os
from pathlib import Path

import pytest

from strategies.builder import default_state, generate_pine, pine_string
from strategies.pine import compile_source
from tests.strategies.builder_states import const, group, ind, price

GOLDEN = Path(__file__).with_name("golden")


def full_featured_state() -> dict:
    state = default_state("Everything \"at once\"")
    state["indicators"] += [
        {"id": "macd", "type": "macd", "source": "close", "fast": 12, "slow": 26, "signal": 9},
        {"id": "bands", "type": "bollinger", "source": "close", "length": 20, "mult": 2},
        {"id": "trend", "type": "supertrend", "factor": 3, "length": 10},
        {"id": "stoch", "type": "stochastic", "k_length": 14, "k_smoothing": 1, "d_smoothing": 3},
    ]
    state["rules"]["short_entry"] = group(
        "or",
        {"type": "within_range", "value": ind("i", "stoch", "d"), "low": const(20), "high": const(80)},
        {"type": "group", **group("and", {"type": "falling", "value": price(), "bars": 3},
                                  {"type": "greater_than", "left": ind("i", "macd", "hist"), "right": const(0)})},
    )
    state["rules"]["short_exit"] = group("or", {"type": "less_than", "left": ind("i", "trend", "direction"), "right": const(0)})
    state["risk"]["trailing_stop"] = {"type": "atr", "activation": 1, "offset": 2}
    state["session"] = {"session": "0930-1600", "timezone": "America/New_York", "close_outside": True}
    state["pyramiding"] = 2
    return state


def supertrend_atr_state() -> dict:
    return {
        "schema_version": 1, "title": "Supertrend ATR risk", "overlay": True, "initial_capital": 25000,
        "sizing": {"type": "cash", "value": 5000},
        "indicators": [{"id": "trend", "type": "supertrend", "factor": 2.5, "length": 7}],
        "rules": {
            "long_entry": group("and", {"type": "crosses_above", "left": price(), "right": ind("i", "trend")}),
            "short_entry": group("and", {"type": "crosses_below", "left": price(), "right": ind("i", "trend")}),
        },
        "risk": {"atr_length": 21, "stop_loss": {"type": "atr", "value": 1.5}, "take_profit": {"type": "atr", "value": 3}},
    }


GOLDEN_STATES = {"default": default_state, "full_featured": full_featured_state, "supertrend_atr": supertrend_atr_state}


@pytest.mark.parametrize("name", sorted(GOLDEN_STATES))
def test_generated_pine_matches_the_golden_file(name):
    source = generate_pine(GOLDEN_STATES[name]())
    path = GOLDEN / f"{name}.pine"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(source, encoding="utf-8")
    assert source == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(GOLDEN_STATES))
def test_golden_files_compile_without_warnings(name):
    result = compile_source((GOLDEN / f"{name}.pine").read_text(encoding="utf-8"))
    assert result.diagnostics == []


def test_generation_is_deterministic():
    assert generate_pine(full_featured_state()) == generate_pine(full_featured_state())


def test_a_title_with_quotes_and_backslashes_survives_as_the_exact_title():
    title = 'My "best" \\ strategy'
    result = compile_source(generate_pine(default_state(title)))
    assert result.ok
    assert result.declaration.title == title


def test_pine_string_escapes_quotes_and_backslashes():
    assert pine_string('a"b\\c') == '"a\\"b\\\\c"'


def test_every_number_of_the_blocks_is_an_input():
    result = compile_source(generate_pine(full_featured_state()))
    defaults = {spec.name: spec.defval for spec in result.inputs}
    assert defaults["fastLength"] == 9
    assert defaults["bandsMult"] == 2.0
    assert defaults["longEntryValue1"] == 70.0
    assert defaults["stopLossPct"] == 2.0
    assert defaults["trailOffsetAtr"] == 2.0
    assert defaults["equityPercent"] == 10.0
    assert defaults["tradingSession"] == "0930-1600"


def test_the_code_starts_with_the_v6_version_and_a_strategy_declaration():
    lines = generate_pine(default_state()).splitlines()
    assert lines[0] == "//@version=6"
    assert lines[1].startswith('strategy("My strategy", overlay = true')


def test_conditions_with_ta_calls_are_evaluated_on_every_bar():
    # v6 evaluates `and`/`or` lazily, so ta.* calls inside them would skip bars; each is hoisted instead.
    source = generate_pine(default_state())
    assert "longEntryCond1 = ta.crossover(fast, slow)" in source
    assert "longEntry = longEntryCond1 and longEntryCond2" in source
