"""The MetaTrader 5 backend with its real worker process, against a stand-in `MetaTrader5` module.

Only the SDK itself is replaced (tests/bridges/fake_metatrader5.py, same call shapes and namedtuples): process
per terminal, portable per-instance directory, constant resolution, client-id tag look-up, return-code
pass-through and result mapping all run for real. The real package and terminal need a Windows node."""

from __future__ import annotations

import sys

import pytest

from bridges.agent.backends.mt5 import (
    MetaTrader5Terminal,
    build_order_send_request,
    client_order_tag,
    market_filling,
)
from bridges.protocol import AgentError, validate_message


@pytest.fixture
def terminal(tmp_path):
    template = tmp_path / "template"
    template.mkdir()
    (template / "terminal64.exe").write_bytes(b"MZ")
    MetaTrader5Terminal.configure(template_dir=str(template), instances_dir=str(tmp_path / "terminals"))
    MetaTrader5Terminal.sdk_module = "tests.bridges.fake_metatrader5"
    events: list[dict] = []
    backend = MetaTrader5Terminal(
        instance_id="mt5-1", account_id="acct", credentials={"login": "5012345", "password": "demo-pass",
                                                             "server": "Demo"},
        options={}, emit=events.append,
    )
    backend.connect()
    backend.events = events
    yield backend
    backend.close()
    MetaTrader5Terminal.sdk_module = "MetaTrader5"
    MetaTrader5Terminal.configure(template_dir=None, instances_dir=None)


def market(client_order_id: str, quantity: str = "0.10") -> dict:
    return {"client_order_id": client_order_id, "symbol": "EURUSD", "side": "buy", "order_type": "market",
            "quantity": quantity}


def test_each_terminal_gets_its_own_portable_copy(terminal, tmp_path):
    assert (tmp_path / "terminals" / "mt5-1" / "terminal64.exe").exists()
    assert terminal.connected


def test_market_order_is_done_with_the_native_return_code(terminal):
    order, created = terminal.place_order(market("m-1"))
    assert created and order["status"] == "filled"
    assert (order["broker_code"], order["broker_message"]) == ("10009", "TRADE_RETCODE_DONE: Request executed")
    assert (order["average_fill_price"], order["fills"][0]["commission"]) == ("1.0851", "-0.7")
    validate_message("order_place_response", {"order": order, "created": created})


def test_client_order_id_tag_makes_a_retry_return_the_existing_order(terminal):
    first, _ = terminal.place_order(market("m-2"))
    again, created = terminal.place_order(market("m-2"))
    assert created is False and again["broker_order_id"] == first["broker_order_id"]
    assert terminal.positions()[0]["quantity"] == "0.1"


def test_rejection_keeps_the_mt5_retcode(terminal):
    order, _ = terminal.place_order(market("m-3", quantity="30"))
    assert (order["status"], order["reject_reason"], order["broker_code"]) == ("rejected", "insufficient_margin", "10019")
    assert order["broker_message"].startswith("TRADE_RETCODE_NO_MONEY")


def test_pending_limit_order_is_placed_and_removed(terminal):
    order, _ = terminal.place_order({**market("m-4"), "order_type": "limit", "limit_price": "1.08"})
    assert (order["status"], order["broker_code"]) == ("open", "10008")
    assert terminal.cancel_order("m-4")["status"] == "cancelled"


def test_refused_login_is_broker_authentication_failed(tmp_path, terminal):
    backend = MetaTrader5Terminal(instance_id="mt5-2", account_id="b", credentials={"login": "1", "password": "x"},
                                  options={}, emit=lambda event: None)
    with pytest.raises(AgentError) as raised:
        backend.connect()
    assert (raised.value.code, raised.value.broker_code) == ("broker_authentication_failed", "-6")


def test_account_and_symbols_match_the_schemas(terminal):
    validate_message("account_response", {"account": terminal.account()})
    validate_message("symbols_response", {"symbols": terminal.symbols()})


def test_order_send_request_mapping():
    tick = {"bid": 1.085, "ask": 1.0851}
    market_request = build_order_send_request(market("x"), tick)
    assert (market_request["action"], market_request["type"], market_request["price"]) == (
        "TRADE_ACTION_DEAL", "ORDER_TYPE_BUY", 1.0851
    )
    stop_limit = build_order_send_request(
        {**market("y"), "side": "sell", "order_type": "stop_limit", "stop_price": "1.07", "limit_price": "1.069",
         "time_in_force": "day"}, tick,
    )
    assert (stop_limit["type"], stop_limit["price"], stop_limit["stoplimit"], stop_limit["type_time"]) == (
        "ORDER_TYPE_SELL_STOP_LIMIT", 1.07, 1.069, "ORDER_TIME_DAY"
    )


@pytest.mark.parametrize(
    ("time_in_force", "filling_mode", "expected"),
    [("gtc", 3, "ORDER_FILLING_IOC"), ("fok", 3, "ORDER_FILLING_FOK"), ("gtc", 1, "ORDER_FILLING_FOK"),
     ("ioc", 0, "ORDER_FILLING_RETURN")],
)
def test_market_orders_use_a_filling_policy_the_symbol_allows(time_in_force, filling_mode, expected):
    assert market_filling(time_in_force, filling_mode) == expected


def test_client_order_tag_fits_the_mt5_comment():
    tag = client_order_tag("x" * 64)
    assert len(tag) <= 31 and tag == client_order_tag("x" * 64) and tag != client_order_tag("y")


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows the backend may well be available")
def test_backend_reports_itself_unavailable_off_windows():
    usable, reason = MetaTrader5Terminal.available()
    assert usable is False and "Windows" in reason
