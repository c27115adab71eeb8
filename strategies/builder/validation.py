"""Validation of a visual-builder state: the JSON Schema first, then the rules a schema cannot express
(unique names, references to existing indicators, outputs the indicator has, names Pine would reject)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from .catalogue import GENERATOR_PREFIXES, INDICATORS, RULES, generated_names_for

SCHEMA_PATH = Path(__file__).with_name("schema.json")
MAX_GROUP_DEPTH = 4

# Pine keywords, types and built-in namespaces/variables an indicator name must not shadow.
RESERVED_NAMES = frozenset(
    """and or not if else for to by while switch var varip import export method type enum true false na
    series simple const int float bool string color line label box table array matrix map polyline linefill
    input strategy ta math str request syminfo timeframe time time_close timenow open high low close volume
    hl2 hlc3 ohlc4 hlcc4 bar_index barstate session chart runtime log alert plot hline fill bgcolor barcolor
    ticker dayofweek dayofmonth month year hour minute second weekofyear last_bar_index na nz fixnan
    indicator library max_bars_back""".split()
)


class BuilderStateError(ValueError):
    """The builder state is malformed; `errors` lists one readable message per problem (path: message)."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


@cache
def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(state)"


@cache
def _validator():
    import jsonschema

    return jsonschema.Draft202012Validator(load_schema())


def _schema_errors(state: Any) -> list[str]:
    validator = _validator()
    messages = []
    for error in sorted(validator.iter_errors(state), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        # oneOf-with-null wrappers report "is not valid under any of the given schemas"; the specific
        # reason is in the context branch that was not about null.
        leaf = error
        while leaf.context:
            specific = [c for c in leaf.context if c.validator != "type" or c.validator_value != "null"]
            if not specific:
                break
            leaf = min(specific, key=lambda c: len(list(c.absolute_path)) * -1)
        message = leaf.message
        if leaf.instance is None and leaf.validator == "type":
            message = "a value is required here"
        elif leaf.validator == "pattern" and "description" in leaf.schema:
            message = f"{leaf.instance!r} is not allowed: {leaf.schema['description']}"
        elif leaf.validator == "additionalProperties":
            message = message.replace("Additional properties are not allowed", "Unknown field(s)")
        messages.append(f"{_path(leaf.absolute_path)}: {message}")
    return list(dict.fromkeys(messages))


def validate_state(state: Any) -> None:
    """Raise BuilderStateError listing every problem with `state`; return None when it is valid."""
    errors = _schema_errors(state)
    if errors:
        raise BuilderStateError(errors)
    errors = _semantic_errors(state)
    if errors:
        raise BuilderStateError(errors)


def _semantic_errors(state: dict) -> list[str]:
    errors: list[str] = []
    indicators: dict[str, dict] = {}
    owners: dict[str, str] = {}
    for i, indicator in enumerate(state["indicators"]):
        where = f"indicators[{i}].id"
        ident = indicator["id"]
        if ident in RESERVED_NAMES:
            errors.append(f"{where}: '{ident}' is a Pine keyword or built-in name; choose another name.")
            continue
        if ident in indicators:
            errors.append(f"{where}: the name '{ident}' is already used by another indicator.")
            continue
        indicators[ident] = indicator
        for name in generated_names_for(indicator):
            if name.startswith(GENERATOR_PREFIXES):
                errors.append(f"{where}: '{ident}' produces the variable '{name}', a name the generated code uses itself.")
            elif name in owners:
                errors.append(f"{where}: '{ident}' produces the variable '{name}', which clashes with {owners[name]}.")
            owners[name] = f"indicator '{ident}'"
        if indicator["type"] == "macd" and indicator["fast"] >= indicator["slow"]:
            errors.append(f"indicators[{i}]: the MACD fast length must be shorter than the slow length.")
    rules = state["rules"]
    for rule in RULES:
        group = rules.get(rule)
        if group is not None:
            errors += _group_errors(group, f"rules.{rule}", indicators, depth=1)
    for side in ("long", "short"):
        if rules.get(f"{side}_exit") and not rules.get(f"{side}_entry"):
            errors.append(f"rules.{side}_exit: an exit rule needs a {side} entry rule.")
    if not rules.get("long_entry") and not rules.get("short_entry"):
        errors.append("rules: add a long entry or a short entry rule; a strategy without entries never trades.")
    return errors


def _group_errors(group: dict, where: str, indicators: dict[str, dict], depth: int) -> list[str]:
    if depth > MAX_GROUP_DEPTH:
        return [f"{where}: groups can be nested at most {MAX_GROUP_DEPTH} levels deep."]
    errors = []
    for i, condition in enumerate(group["conditions"]):
        here = f"{where}.conditions[{i}]"
        if condition["type"] == "group":
            errors += _group_errors(condition, here, indicators, depth + 1)
            continue
        for key in ("left", "right", "value", "low", "high"):
            operand = condition.get(key)
            if isinstance(operand, dict):
                errors += _operand_errors(operand, f"{here}.{key}", indicators)
        if condition["type"] in ("crosses_above", "crosses_below", "greater_than", "less_than"):
            if condition["left"]["kind"] == "constant" and condition["right"]["kind"] == "constant":
                errors.append(f"{here}: comparing two constants is always true or always false.")
        if condition["type"] in ("rising", "falling") and condition["value"]["kind"] == "constant":
            errors.append(f"{here}: a constant never rises or falls; pick a price or an indicator.")
        if condition["type"] == "within_range":
            low, high = condition["low"], condition["high"]
            if low["kind"] == "constant" and high["kind"] == "constant" and low["value"] > high["value"]:
                errors.append(f"{here}: the low bound ({low['value']}) is above the high bound ({high['value']}).")
    return errors


def _operand_errors(operand: dict, where: str, indicators: dict[str, dict]) -> list[str]:
    if operand["kind"] != "indicator":
        return []
    indicator = indicators.get(operand["ref"])
    if indicator is None:
        known = ", ".join(sorted(indicators)) or "none defined"
        return [f"{where}.ref: there is no indicator named '{operand['ref']}' (indicators: {known})."]
    outputs = INDICATORS[indicator["type"]]["outputs"]
    output = operand.get("output", "value")
    if output not in outputs:
        names = ", ".join(outputs)
        return [f"{where}.output: {INDICATORS[indicator['type']]['label']} has no '{output}' output (it has: {names})."]
    return []
