"""What the builder offers: indicator types (their parameters and outputs), conditions, price fields.

The UI renders its blocks from `catalogue()`, so the form and the generator agree on one definition.
"""

from __future__ import annotations

from typing import Any

PRICE_FIELDS = ["close", "open", "high", "low", "hl2", "hlc3", "ohlc4", "hlcc4", "volume"]
RULES = ["long_entry", "long_exit", "short_entry", "short_exit"]
RULE_LABELS = {"long_entry": "Long entry", "long_exit": "Long exit", "short_entry": "Short entry", "short_exit": "Short exit"}
RULE_VARIABLES = {"long_entry": "longEntry", "long_exit": "longExit", "short_entry": "shortEntry", "short_exit": "shortExit"}

# Names the generated code uses for itself; an indicator whose variables start like this would clash.
GENERATOR_PREFIXES = (
    "longEntry", "longExit", "shortEntry", "shortExit", "risk", "stopLoss", "takeProfit", "trail", "stopDistance",
    "orderQty", "orderCash", "equityPercent", "tradingSession", "inSession", "positionQty",
)


def _length(name: str, label: str, default: int) -> dict[str, Any]:
    return {"name": name, "label": label, "kind": "int", "default": default, "min": 1, "max": 5000, "step": 1}


def _ma(label: str, default_length: int = 20) -> dict[str, Any]:
    return {
        "label": label, "group": "Moving averages", "source": True,
        "params": [_length("length", "Length", default_length)],
        "outputs": {"value": {"suffix": "", "label": label}},
    }


INDICATORS: dict[str, dict[str, Any]] = {
    "sma": _ma("SMA"),
    "ema": _ma("EMA"),
    "wma": _ma("WMA"),
    "hma": _ma("HMA"),
    "vwma": _ma("VWMA"),
    "rma": _ma("RMA"),
    "rsi": {
        "label": "RSI", "group": "Oscillators", "source": True,
        "params": [_length("length", "Length", 14)],
        "outputs": {"value": {"suffix": "", "label": "RSI"}},
    },
    "macd": {
        "label": "MACD", "group": "Oscillators", "source": True,
        "params": [_length("fast", "Fast length", 12), _length("slow", "Slow length", 26),
                   _length("signal", "Signal length", 9)],
        "outputs": {"value": {"suffix": "Line", "label": "MACD line"}, "signal": {"suffix": "Signal", "label": "signal"},
                    "hist": {"suffix": "Hist", "label": "histogram"}},
    },
    "bollinger": {
        "label": "Bollinger Bands", "group": "Volatility", "source": True,
        "params": [_length("length", "Length", 20),
                   {"name": "mult", "label": "StdDev multiplier", "kind": "float", "default": 2.0, "min": 0.001,
                    "max": 50, "step": 0.1}],
        "outputs": {"value": {"suffix": "Basis", "label": "basis"}, "upper": {"suffix": "Upper", "label": "upper band"},
                    "lower": {"suffix": "Lower", "label": "lower band"}},
    },
    "atr": {
        "label": "ATR", "group": "Volatility", "source": False,
        "params": [_length("length", "Length", 14)],
        "outputs": {"value": {"suffix": "", "label": "ATR"}},
    },
    "supertrend": {
        "label": "Supertrend", "group": "Trend", "source": False,
        "params": [{"name": "factor", "label": "Factor", "kind": "float", "default": 3.0, "min": 0.01, "max": 100,
                    "step": 0.1},
                   _length("length", "ATR length", 10)],
        "outputs": {"value": {"suffix": "", "label": "line"},
                    "direction": {"suffix": "Direction", "label": "direction (-1 up, +1 down)"}},
    },
    "stochastic": {
        "label": "Stochastic", "group": "Oscillators", "source": False,
        "params": [_length("k_length", "%K length", 14), _length("k_smoothing", "%K smoothing", 1),
                   _length("d_smoothing", "%D smoothing", 3)],
        "outputs": {"value": {"suffix": "K", "label": "%K"}, "d": {"suffix": "D", "label": "%D"}},
    },
}

CONDITIONS: dict[str, dict[str, Any]] = {
    "crosses_above": {"label": "crosses above", "operands": ["left", "right"]},
    "crosses_below": {"label": "crosses below", "operands": ["left", "right"]},
    "greater_than": {"label": "is greater than", "operands": ["left", "right"]},
    "less_than": {"label": "is less than", "operands": ["left", "right"]},
    "within_range": {"label": "is within range", "operands": ["value", "low", "high"]},
    "rising": {"label": "is rising for N bars", "operands": ["value"], "bars": True},
    "falling": {"label": "is falling for N bars", "operands": ["value"], "bars": True},
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def input_name(indicator_id: str, param: str) -> str:
    # "signal" is also an output suffix of MACD; its length input gets a distinct name.
    suffix = "SignalLength" if param == "signal" else camel(param)[0].upper() + camel(param)[1:]
    return indicator_id + suffix


def output_variable(indicator: dict, output: str = "value") -> str:
    return indicator["id"] + INDICATORS[indicator["type"]]["outputs"][output]["suffix"]


def generated_names_for(indicator: dict) -> list[str]:
    """Every Pine variable the indicator block defines (its outputs and its inputs)."""
    spec = INDICATORS[indicator["type"]]
    names = [output_variable(indicator, output) for output in spec["outputs"]]
    names += [input_name(indicator["id"], p["name"]) for p in spec["params"]]
    if spec["source"]:
        names.append(input_name(indicator["id"], "source"))
    return names


def catalogue() -> dict[str, Any]:
    """The builder's menu as JSON for the UI."""
    return {
        "indicators": INDICATORS,
        "conditions": CONDITIONS,
        "price_fields": PRICE_FIELDS,
        "rules": [{"key": key, "label": RULE_LABELS[key]} for key in RULES],
    }
