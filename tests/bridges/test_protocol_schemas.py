"""Every protocol message has a JSON Schema; valid examples pass and each kind of mistake is caught."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from bridges.protocol.messages import (
    ROUTES,
    SCHEMA_DIR,
    MessageValidationError,
    schema_names,
    validate_message,
)

TIME = "2026-11-27T08:00:00.000Z"
ORDER = {
    "client_order_id": "strat-42:1", "broker_order_id": "100001", "symbol": "EURUSD", "side": "buy",
    "order_type": "limit", "quantity": "0.10", "limit_price": "1.08", "stop_price": None,
    "time_in_force": "gtc", "status": "partially_filled", "filled_quantity": "0.05",
    "average_fill_price": "1.07995",
    "fills": [{"fill_id": "f1", "quantity": "0.05", "price": "1.07995", "commission": "-0.35", "filled_at": TIME}],
    "reject_reason": None, "broker_code": "10008", "broker_message": "TRADE_RETCODE_PLACED",
    "created_at": TIME, "updated_at": TIME,
}
INSTANCE = {
    "instance_id": "inst-1", "tenant": "acme", "account_id": "mt5-main", "backend": "mt5", "status": "running",
    "started_at": TIME, "last_error": None, "stream_id": "0123abcd0123abcd", "last_event_seq": 3,
}
SYMBOL = {
    "symbol": "EURUSD", "description": "Euro", "base_currency": "EUR", "quote_currency": "USD",
    "contract_size": "100000", "min_volume": "0.01", "max_volume": "100", "volume_step": "0.01",
    "tick_size": "0.00001", "digits": 5, "bid": "1.085", "ask": "1.0851", "trade_allowed": True,
}
VALID_EXAMPLES = {
    "error": {"error": {"code": "bad_signature", "message": "nope", "retryable": False, "broker_code": None, "details": {}}},
    "health_response": {
        "node_id": "win-eu-1", "protocol": "v1", "agent_version": "1.0.0", "status": "healthy", "capacity": 8,
        "running": 1, "backends": ["sim", "mt5"], "instances": [INSTANCE], "time": TIME, "uptime_seconds": 12.5,
    },
    "instance_start_request": {
        "instance_id": "inst-1", "tenant": "acme", "account_id": "mt5-main", "backend": "mt5",
        "credentials": {"login": "5012345", "password": "secret", "server": "Broker-Live"}, "options": {},
    },
    "instance_action_request": {"reason": "drain"},
    "instance_response": {"instance": INSTANCE},
    "order_place_request": {
        "client_order_id": "strat-42:1", "symbol": "EURUSD", "side": "buy", "order_type": "limit",
        "quantity": "0.10", "limit_price": "1.08", "time_in_force": "gtc",
    },
    "order_place_response": {"order": ORDER, "created": True},
    "order_cancel_request": {},
    "order_response": {"order": ORDER},
    "order_list_response": {"orders": [ORDER]},
    "positions_response": {"positions": [
        {"symbol": "EURUSD", "quantity": "-0.2", "average_price": "1.08", "market_price": "1.081", "unrealized_pnl": "-20"}
    ]},
    "account_response": {"account": {
        "login": "5012345", "currency": "USD", "balance": "10000", "equity": "9980.5", "margin_used": "216",
        "margin_free": "9764.5", "leverage": 100, "trade_allowed": True,
    }},
    "symbol_info": SYMBOL,
    "symbols_response": {"symbols": [SYMBOL]},
    "symbol_response": {"symbol": SYMBOL},
    "events_response": {
        "stream_id": "0123abcd0123abcd", "last_seq": 3, "first_available_seq": 1, "gap": False,
        "events": [
            {"seq": 1, "type": "terminal_status", "time": TIME, "status": "running", "detail": None},
            {"seq": 2, "type": "order_update", "time": TIME, "order": ORDER},
            {"seq": 3, "type": "fill", "time": TIME, "client_order_id": "strat-42:1", "fill": ORDER["fills"][0]},
        ],
    },
    "sim_command_request": {"command": "set_price", "symbol": "EURUSD", "bid": "1.08", "ask": "1.0801"},
    "sim_command_response": {"ok": True, "filled": ["strat-42:1"]},
}


def with_change(message: dict, path: str, value: object = None, *, delete: bool = False) -> dict:
    changed = copy.deepcopy(message)
    *parents, leaf = path.split(".")
    target = changed
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if delete:
        del target[leaf]
    else:
        target[leaf] = value
    return changed


INVALID_EXAMPLES = [
    ("order_place_request", with_change(VALID_EXAMPLES["order_place_request"], "quantity", 0.1)),
    ("order_place_request", with_change(VALID_EXAMPLES["order_place_request"], "quantity", "0")),
    ("order_place_request", with_change(VALID_EXAMPLES["order_place_request"], "quantity", "-1")),
    ("order_place_request", with_change(VALID_EXAMPLES["order_place_request"], "quantity", "1e3")),
    ("order_place_request", with_change(VALID_EXAMPLES["order_place_request"], "side", "hold")),
    ("order_place_request", with_change(VALID_EXAMPLES["order_place_request"], "limit_price", delete=True)),
    ("order_place_request", with_change(VALID_EXAMPLES["order_place_request"], "client_order_id", "has space")),
    ("order_place_request", with_change(VALID_EXAMPLES["order_place_request"], "client_order_id", "x" * 65)),
    ("order_place_request", with_change(VALID_EXAMPLES["order_place_request"], "leverage", 500)),
    ("order_place_request", with_change(VALID_EXAMPLES["order_place_request"], "order_type", "stop")),
    ("instance_start_request", with_change(VALID_EXAMPLES["instance_start_request"], "credentials.login", delete=True)),
    ("instance_start_request", with_change(VALID_EXAMPLES["instance_start_request"], "backend", "MT5 Terminal")),
    ("order_response", with_change(VALID_EXAMPLES["order_response"], "order.status", "done")),
    ("order_response", with_change(VALID_EXAMPLES["order_response"], "order.fills.0.price", "1,08")),
    ("order_response", with_change(VALID_EXAMPLES["order_response"], "order.created_at", "yesterday")),
    ("health_response", with_change(VALID_EXAMPLES["health_response"], "protocol", "v2")),
    ("health_response", with_change(VALID_EXAMPLES["health_response"], "capacity", -1)),
    ("events_response", with_change(VALID_EXAMPLES["events_response"], "events.1.order", delete=True)),
    ("events_response", with_change(VALID_EXAMPLES["events_response"], "events.0.seq", 0)),
    ("sim_command_request", {"command": "set_price", "symbol": "EURUSD"}),
    ("sim_command_request", {"command": "explode"}),
    ("error", {"error": {"code": "Bad Code", "message": "x", "retryable": False}}),
    ("account_response", with_change(VALID_EXAMPLES["account_response"], "account.balance", 10000)),
]


def test_every_schema_file_is_a_valid_draft_2020_12_schema():
    for path in SCHEMA_DIR.glob("*.json"):
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)


def test_every_schema_has_a_valid_example_here():
    assert set(schema_names()) == set(VALID_EXAMPLES)


def test_every_route_names_existing_schemas():
    names = set(schema_names())
    for route in ROUTES:
        assert route.response_schema in names
        assert route.request_schema is None or route.request_schema in names


@pytest.mark.parametrize("schema_name", sorted(VALID_EXAMPLES))
def test_valid_example_passes(schema_name):
    validate_message(schema_name, VALID_EXAMPLES[schema_name])


@pytest.mark.parametrize(("schema_name", "message"), INVALID_EXAMPLES)
def test_invalid_message_is_rejected(schema_name, message):
    with pytest.raises(MessageValidationError):
        validate_message(schema_name, message)


def test_validation_error_names_the_offending_field():
    message = with_change(VALID_EXAMPLES["order_place_request"], "quantity", 0.1)
    with pytest.raises(MessageValidationError) as raised:
        validate_message("order_place_request", message)
    assert any(error.startswith("quantity:") for error in raised.value.errors)
