"""Builder states shared by the builder tests: named examples and the generated test matrix."""

from __future__ import annotations

import copy
import itertools

from strategies.builder import default_state


def ind(kind: str, ref: str, output: str = "value") -> dict:
    return {"kind": "indicator", "ref": ref, "output": output}


def price(field: str = "close") -> dict:
    return {"kind": "price", "field": field}


def const(value: float) -> dict:
    return {"kind": "constant", "value": value}


def group(op: str, *conditions: dict) -> dict:
    return {"op": op, "conditions": list(conditions)}


# Each indicator with a typical (left, right, low, high) for comparisons and a series that rises/falls.
INDICATOR_CASES = {
    "sma": ({"id": "ma", "type": "sma", "source": "close", "length": 20}, price(), ind("i", "ma"), None),
    "ema": ({"id": "ma", "type": "ema", "source": "hl2", "length": 20}, price(), ind("i", "ma"), None),
    "wma": ({"id": "ma", "type": "wma", "source": "close", "length": 20}, price(), ind("i", "ma"), None),
    "hma": ({"id": "ma", "type": "hma", "source": "close", "length": 20}, price(), ind("i", "ma"), None),
    "vwma": ({"id": "ma", "type": "vwma", "source": "close", "length": 20}, price(), ind("i", "ma"), None),
    "rma": ({"id": "ma", "type": "rma", "source": "ohlc4", "length": 20}, price(), ind("i", "ma"), None),
    "rsi": ({"id": "osc", "type": "rsi", "source": "close", "length": 14}, ind("i", "osc"), const(50), (30, 70)),
    "macd": ({"id": "m", "type": "macd", "source": "close", "fast": 12, "slow": 26, "signal": 9},
             ind("i", "m"), ind("i", "m", "signal"), None),
    "macd_hist": ({"id": "m", "type": "macd", "source": "close", "fast": 8, "slow": 21, "signal": 5},
                  ind("i", "m", "hist"), const(0), None),
    "bollinger": ({"id": "bb", "type": "bollinger", "source": "close", "length": 20, "mult": 2.0},
                  price(), ind("i", "bb", "lower"), None),
    "bollinger_upper": ({"id": "bb", "type": "bollinger", "source": "close", "length": 20, "mult": 1.5},
                        price("high"), ind("i", "bb", "upper"), None),
    "atr": ({"id": "vol", "type": "atr", "length": 14}, ind("i", "vol"), const(1.5), None),
    "supertrend": ({"id": "st", "type": "supertrend", "factor": 3.0, "length": 10}, price(), ind("i", "st"), None),
    "supertrend_dir": ({"id": "st", "type": "supertrend", "factor": 2.5, "length": 7},
                       ind("i", "st", "direction"), const(0), None),
    "stochastic": ({"id": "sto", "type": "stochastic", "k_length": 14, "k_smoothing": 3, "d_smoothing": 3},
                   ind("i", "sto"), ind("i", "sto", "d"), (20, 80)),
}

CONDITION_TYPES = ["crosses_above", "crosses_below", "greater_than", "less_than", "within_range", "rising", "falling"]


def condition(kind: str, left: dict, right: dict, band: tuple | None) -> dict:
    if kind in ("rising", "falling"):
        return {"type": kind, "value": left if left["kind"] != "constant" else right, "bars": 2}
    if kind == "within_range":
        if band is not None:
            low, high = const(band[0]), const(band[1])
        elif right["kind"] == "constant":
            low, high = const(right["value"] - 1), const(right["value"] + 1)
        else:
            low, high = right, price("high")
        return {"type": kind, "value": left, "low": low, "high": high}
    return {"type": kind, "left": left, "right": right}


EXITS = {
    "entries_only": lambda entry: {"long_entry": entry},
    "signal_exit": lambda entry: {"long_entry": entry, "long_exit": group("or", {"type": "crosses_below", "left": price(),
                                                                                 "right": price("open")})},
    "long_and_short": lambda entry: {"long_entry": entry, "short_entry": group("and", {
        "type": "less_than", "left": price(), "right": price("open")}, {"type": "falling", "value": price("hlc3"), "bars": 2}),
        "short_exit": group("or", {"type": "rising", "value": price(), "bars": 3})},
}
RISKS = {
    "none": None,
    "pct_sl_tp": {"stop_loss": {"type": "percent", "value": 2}, "take_profit": {"type": "percent", "value": 4}},
    "atr_sl_tp": {"atr_length": 10, "stop_loss": {"type": "atr", "value": 1.5}, "take_profit": {"type": "atr", "value": 3}},
    "pct_trailing": {"trailing_stop": {"type": "percent", "activation": 1, "offset": 0.5}},
    "atr_all": {"stop_loss": {"type": "atr", "value": 2}, "take_profit": {"type": "percent", "value": 5},
                "trailing_stop": {"type": "atr", "activation": 0, "offset": 1}},
}
SIZINGS = {
    "default": None,
    "fixed": {"type": "fixed", "value": 2},
    "percent": {"type": "percent_of_equity", "value": 25},
    "cash": {"type": "cash", "value": 2500},
}


def base_state(title: str) -> dict:
    return {"schema_version": 1, "title": title, "indicators": [], "rules": {}}


def _with(state: dict, risk: dict | None, sizing: dict | None) -> dict:
    if risk is not None:
        state["risk"] = copy.deepcopy(risk)
    if sizing is not None:
        state["sizing"] = copy.deepcopy(sizing)
    return state


def matrix() -> list[tuple[str, dict]]:
    """Indicator x condition cases (rotating exits/risk/sizing) plus every exits x risk x sizing combination."""
    cases = []
    extras = list(itertools.product(EXITS, RISKS, SIZINGS))
    for n, ((ind_name, (indicator, left, right, band)), cond) in enumerate(
        itertools.product(INDICATOR_CASES.items(), CONDITION_TYPES)
    ):
        exits, risk, sizing = extras[(n * 7) % len(extras)]
        entry = group("and", condition(cond, left, right, band))
        state = base_state(f"{ind_name} {cond}")
        state["indicators"] = [copy.deepcopy(indicator)]
        state["rules"] = EXITS[exits](entry)
        cases.append((f"{ind_name}-{cond}-{exits}-{risk}-{sizing}", _with(state, RISKS[risk], SIZINGS[sizing])))
    for exits, risk, sizing in extras:
        state = base_state(f"MA cross {exits} {risk} {sizing}")
        state["indicators"] = [{"id": "fast", "type": "ema", "source": "close", "length": 10},
                               {"id": "slow", "type": "sma", "source": "close", "length": 30}]
        entry = group("and", {"type": "crosses_above", "left": ind("i", "fast"), "right": ind("i", "slow")})
        state["rules"] = EXITS[exits](entry)
        cases.append((f"macross-{exits}-{risk}-{sizing}", _with(state, RISKS[risk], SIZINGS[sizing])))
    for pyramiding, commission, session in itertools.product(
        (0, 3),
        (None, {"type": "percent", "value": 0.1}, {"type": "cash_per_contract", "value": 0.01},
         {"type": "cash_per_order", "value": 1}),
        (None, {"session": "0000-1200", "timezone": "UTC"}, {"session": "0800-1700:23456", "close_outside": True}),
    ):
        state = default_state(f"Options p{pyramiding} {commission and commission['type']} {session and session['session']}")
        state["pyramiding"] = pyramiding
        state["commission"] = commission
        if commission is None:
            del state["commission"]
        state["session"] = session
        cases.append((f"options-p{pyramiding}-{commission and commission['type']}-{session and session['session']}", state))
    nested = default_state("Nested groups")
    nested["indicators"].append({"id": "bands", "type": "bollinger", "source": "close", "length": 20, "mult": 2})
    nested["rules"]["long_entry"] = group("or", group("and", {"type": "crosses_above", "left": ind("i", "fast"),
                                                              "right": ind("i", "slow")},
                                                      {"type": "group", "op": "or", "conditions": [
                                                          {"type": "less_than", "left": ind("i", "rsi"), "right": const(60)},
                                                          {"type": "rising", "value": ind("i", "rsi"), "bars": 2}]}) | {"type": "group"},
                                          {"type": "crosses_above", "left": price(), "right": ind("i", "bands", "lower")})
    cases.append(("nested-groups", nested))
    return cases
