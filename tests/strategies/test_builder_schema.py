"""The builder state's JSON Schema and semantic checks reject malformed states with clear messages."""

import copy
import json

import jsonschema
import pytest

from strategies.builder import BuilderStateError, default_state, generate_pine, load_schema, validate_state


def errors_of(state) -> list[str]:
    with pytest.raises(BuilderStateError) as caught:
        validate_state(state)
    return caught.value.errors


def modified(**changes) -> dict:
    state = default_state()
    state.update(copy.deepcopy(changes))
    return state


def test_the_schema_file_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(load_schema())


def test_the_default_state_is_valid():
    validate_state(default_state())


def test_a_state_that_is_not_an_object_is_rejected():
    assert errors_of([1, 2]) == ["(state): [1, 2] is not of type 'object'"]


def test_missing_required_fields_are_each_named():
    errors = errors_of({"schema_version": 1})
    assert "(state): 'title' is a required property" in errors
    assert "(state): 'indicators' is a required property" in errors
    assert "(state): 'rules' is a required property" in errors


def test_an_unknown_schema_version_is_rejected():
    assert errors_of(modified(schema_version=2)) == ["schema_version: 1 was expected"]


def test_an_unknown_top_level_field_is_named():
    assert errors_of(modified(colour="red")) == ["(state): Unknown field(s) ('colour' was unexpected)"]


def test_an_indicator_length_below_one_points_at_the_field():
    state = default_state()
    state["indicators"][0]["length"] = 0
    assert errors_of(state) == ["indicators[0].length: 0 is less than the minimum of 1"]


def test_an_unknown_indicator_type_lists_the_known_ones():
    state = default_state()
    state["indicators"][0]["type"] = "kama"
    (error,) = errors_of(state)
    assert error.startswith("indicators[0].type: 'kama' is not one of ['sma', 'ema'")


def test_a_parameter_of_another_indicator_type_is_rejected():
    state = default_state()
    state["indicators"][0]["mult"] = 2
    assert errors_of(state) == ["indicators[0]: Unknown field(s) ('mult' was unexpected)"]


def test_an_indicator_name_that_is_not_a_safe_identifier_is_explained():
    state = default_state()
    state["indicators"][0]["id"] = 'x")\nstrategy.entry("'
    (error,) = [e for e in errors_of(state) if e.startswith("indicators[0].id")]
    assert "is not allowed: A short name: a lowercase letter, then letters or digits" in error


def test_a_pine_keyword_as_indicator_name_is_rejected():
    state = default_state()
    state["indicators"][0]["id"] = "close"
    state["rules"]["long_entry"]["conditions"][0]["left"]["ref"] = "close"
    state["rules"]["long_exit"]["conditions"][0]["left"]["ref"] = "close"
    assert "indicators[0].id: 'close' is a Pine keyword or built-in name; choose another name." in errors_of(state)


def test_two_indicators_with_the_same_name_are_rejected():
    state = default_state()
    state["indicators"][1]["id"] = "fast"
    assert "indicators[1].id: the name 'fast' is already used by another indicator." in errors_of(state)


def test_an_indicator_whose_variables_clash_with_another_is_rejected():
    state = default_state()
    state["indicators"].append({"id": "fastLength", "type": "atr", "length": 5})
    assert errors_of(state) == [
        "indicators[3].id: 'fastLength' produces the variable 'fastLength', which clashes with indicator 'fast'."
    ]


def test_an_indicator_name_used_by_the_generated_code_is_rejected():
    state = default_state()
    state["indicators"].append({"id": "longEntry", "type": "atr", "length": 5})
    assert errors_of(state)[0].startswith("indicators[3].id: 'longEntry' produces the variable 'longEntry', a name")


def test_a_reference_to_a_missing_indicator_is_named_with_the_known_ones():
    state = default_state()
    state["rules"]["long_entry"]["conditions"][0]["left"]["ref"] = "medium"
    assert errors_of(state) == [
        "rules.long_entry.conditions[0].left.ref: there is no indicator named 'medium' (indicators: fast, rsi, slow)."
    ]


def test_an_output_the_indicator_does_not_have_is_rejected():
    state = default_state()
    state["rules"]["long_entry"]["conditions"][1]["left"]["output"] = "upper"
    assert errors_of(state) == ["rules.long_entry.conditions[1].left.output: RSI has no 'upper' output (it has: value)."]


def test_a_condition_missing_an_operand_is_rejected():
    state = default_state()
    del state["rules"]["long_entry"]["conditions"][0]["right"]
    assert errors_of(state) == ["rules.long_entry.conditions[0]: 'right' is a required property"]


def test_an_empty_condition_group_is_rejected():
    state = default_state()
    state["rules"]["long_entry"]["conditions"] = []
    assert errors_of(state) == ["rules.long_entry.conditions: [] should be non-empty"]


def test_an_unknown_group_operator_is_rejected():
    state = default_state()
    state["rules"]["long_entry"]["op"] = "xor"
    assert errors_of(state) == ["rules.long_entry.op: 'xor' is not one of ['and', 'or']"]


def test_a_strategy_without_entries_is_rejected():
    state = default_state()
    state["rules"] = {"long_entry": None, "long_exit": None}
    assert errors_of(state) == ["rules: add a long entry or a short entry rule; a strategy without entries never trades."]


def test_an_exit_rule_without_its_entry_rule_is_rejected():
    state = default_state()
    state["rules"]["short_exit"] = state["rules"]["long_exit"]
    assert errors_of(state) == ["rules.short_exit: an exit rule needs a short entry rule."]


def test_a_range_with_low_above_high_is_rejected():
    state = default_state()
    state["rules"]["long_entry"]["conditions"][1] = {
        "type": "within_range", "value": {"kind": "indicator", "ref": "rsi"},
        "low": {"kind": "constant", "value": 70}, "high": {"kind": "constant", "value": 30}}
    assert errors_of(state) == ["rules.long_entry.conditions[1]: the low bound (70) is above the high bound (30)."]


def test_rising_on_a_constant_is_rejected():
    state = default_state()
    state["rules"]["long_entry"]["conditions"][1] = {"type": "rising", "value": {"kind": "constant", "value": 3}, "bars": 2}
    assert errors_of(state) == [
        "rules.long_entry.conditions[1]: a constant never rises or falls; pick a price or an indicator."
    ]


def test_a_malformed_session_is_explained():
    (error,) = errors_of(modified(session={"session": "9:30-16:00"}))
    assert error.startswith("session.session: '9:30-16:00' is not allowed: HHMM-HHMM")


def test_a_negative_stop_loss_is_rejected():
    state = default_state()
    state["risk"]["stop_loss"]["value"] = -1
    assert errors_of(state) == ["risk.stop_loss.value: -1 is less than or equal to the minimum of 0"]


def test_an_unknown_sizing_type_is_rejected():
    (error,) = errors_of(modified(sizing={"type": "lots", "value": 1}))
    assert error == "sizing.type: 'lots' is not one of ['fixed', 'percent_of_equity', 'cash']"


def test_a_title_with_a_newline_is_rejected():
    (error,) = errors_of(modified(title="two\nlines"))
    assert error.startswith("title: 'two\\nlines' does not match")


def test_groups_nested_too_deep_are_rejected():
    state = default_state()
    leaf = {"type": "greater_than", "left": {"kind": "price", "field": "close"}, "right": {"kind": "price", "field": "open"}}
    for _ in range(5):
        leaf = {"type": "group", "op": "and", "conditions": [leaf]}
    state["rules"]["long_entry"] = {"op": "or", "conditions": [leaf]}
    assert "groups can be nested at most 4 levels deep" in errors_of(state)[0]


def test_generate_pine_refuses_an_invalid_state():
    state = default_state()
    state["indicators"][0]["length"] = "nine"
    with pytest.raises(BuilderStateError, match=r"indicators\[0\].length: 'nine' is not of type 'integer'"):
        generate_pine(state)


def test_the_state_round_trips_through_json():
    state = json.loads(json.dumps(default_state()))
    validate_state(state)
