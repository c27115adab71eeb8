"""Starting states for the builder."""

from __future__ import annotations


def default_state(title: str = "My strategy") -> dict:
    """An EMA cross with an RSI filter, a 2% stop and a 4% target: a working strategy to start editing from."""
    return {
        "schema_version": 1,
        "title": title,
        "overlay": True,
        "initial_capital": 10000,
        "pyramiding": 0,
        "commission": {"type": "percent", "value": 0.05},
        "sizing": {"type": "percent_of_equity", "value": 10},
        "session": None,
        "indicators": [
            {"id": "fast", "type": "ema", "source": "close", "length": 9},
            {"id": "slow", "type": "ema", "source": "close", "length": 21},
            {"id": "rsi", "type": "rsi", "source": "close", "length": 14},
        ],
        "rules": {
            "long_entry": {"op": "and", "conditions": [
                {"type": "crosses_above", "left": {"kind": "indicator", "ref": "fast"},
                 "right": {"kind": "indicator", "ref": "slow"}},
                {"type": "less_than", "left": {"kind": "indicator", "ref": "rsi"}, "right": {"kind": "constant", "value": 70}},
            ]},
            "long_exit": {"op": "or", "conditions": [
                {"type": "crosses_below", "left": {"kind": "indicator", "ref": "fast"},
                 "right": {"kind": "indicator", "ref": "slow"}},
            ]},
            "short_entry": None,
            "short_exit": None,
        },
        "risk": {
            "atr_length": 14,
            "stop_loss": {"type": "percent", "value": 2},
            "take_profit": {"type": "percent", "value": 4},
            "trailing_stop": None,
        },
    }
