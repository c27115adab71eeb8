"""Behaviour of the reference agent with the simulated terminal, through the signed client."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from bridges.protocol import AgentError, MessageValidationError

from .conftest import start_request


def market(client_order_id: str, side: str = "buy", quantity: str = "0.10", symbol: str = "EURUSD") -> dict:
    return {"client_order_id": client_order_id, "symbol": symbol, "side": side, "order_type": "market", "quantity": quantity}


def limit(client_order_id: str, price: str, side: str = "buy", quantity: str = "0.10", **extra) -> dict:
    return {"client_order_id": client_order_id, "symbol": "EURUSD", "side": side, "order_type": "limit",
            "quantity": quantity, "limit_price": price, **extra}


def agent_error(call) -> AgentError:
    with pytest.raises(AgentError) as raised:
        call()
    return raised.value


def test_market_buy_fills_at_the_ask(sim_agent, started_instance):
    order, created = sim_agent.client().place_order(started_instance, market("m-1"))
    assert created is True
    assert order["status"] == "filled"
    assert Decimal(order["average_fill_price"]) == Decimal("1.08510")
    assert (order["broker_code"], order["broker_message"]) == ("10009", "TRADE_RETCODE_DONE")


def test_market_sell_fills_at_the_bid(sim_agent, started_instance):
    order, _ = sim_agent.client().place_order(started_instance, market("m-2", side="sell"))
    assert Decimal(order["average_fill_price"]) == Decimal("1.08500")


def test_same_client_order_id_returns_the_existing_order(sim_agent, started_instance):
    client = sim_agent.client()
    first, _ = client.place_order(started_instance, market("dup-1"))
    again, created = client.place_order(started_instance, market("dup-1", quantity="0.1"))
    assert created is False
    assert again["broker_order_id"] == first["broker_order_id"]
    assert len(client.list_orders(started_instance)) == 1
    assert client.positions(started_instance)[0]["quantity"] == "0.1"


def test_reusing_a_client_order_id_for_a_different_order_is_a_conflict(sim_agent, started_instance):
    client = sim_agent.client()
    client.place_order(started_instance, market("dup-2"))
    error = agent_error(lambda: client.place_order(started_instance, market("dup-2", side="sell")))
    assert error.code == "order_conflict"


def test_concurrent_duplicates_create_exactly_one_order(sim_agent, started_instance):
    results = []

    def send() -> None:
        results.append(sim_agent.client().place_order(started_instance, market("race-1"))[1])

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_limit_order_rests_then_fills_when_price_crosses(sim_agent, started_instance):
    client = sim_agent.client()
    order, _ = client.place_order(started_instance, limit("l-1", "1.08000"))
    assert (order["status"], order["broker_code"]) == ("open", "10008")
    answer = client.sim_command(started_instance, {"command": "set_price", "symbol": "EURUSD", "bid": "1.07990", "ask": "1.08000"})
    assert answer["filled"] == ["l-1"]
    filled = client.get_order(started_instance, "l-1")
    assert filled["status"] == "filled"
    assert Decimal(filled["average_fill_price"]) == Decimal("1.08")


def test_marketable_limit_fills_at_the_better_market_price(sim_agent, started_instance):
    order, _ = sim_agent.client().place_order(started_instance, limit("l-2", "1.09000"))
    assert order["status"] == "filled"
    assert Decimal(order["average_fill_price"]) == Decimal("1.08510")


def test_ioc_limit_that_cannot_fill_expires(sim_agent, started_instance):
    order, _ = sim_agent.client().place_order(started_instance, limit("l-3", "1.00000", time_in_force="ioc"))
    assert order["status"] == "expired"


def test_stop_order_triggers_when_price_reaches_it(sim_agent, started_instance):
    client = sim_agent.client()
    stop = {"client_order_id": "s-1", "symbol": "EURUSD", "side": "buy", "order_type": "stop",
            "quantity": "0.10", "stop_price": "1.09000"}
    assert client.place_order(started_instance, stop)[0]["status"] == "open"
    client.sim_command(started_instance, {"command": "set_price", "symbol": "EURUSD", "bid": "1.09010", "ask": "1.09020"})
    assert Decimal(client.get_order(started_instance, "s-1")["average_fill_price"]) == Decimal("1.0902")


def test_cancel_open_order(sim_agent, started_instance):
    client = sim_agent.client()
    client.place_order(started_instance, limit("c-1", "1.07000"))
    assert client.cancel_order(started_instance, "c-1")["status"] == "cancelled"
    assert client.list_orders(started_instance, open_only=True) == []


def test_cancelling_a_filled_order_is_refused(sim_agent, started_instance):
    client = sim_agent.client()
    client.place_order(started_instance, market("c-2"))
    assert agent_error(lambda: client.cancel_order(started_instance, "c-2")).code == "order_not_cancellable"


def test_unknown_client_order_id_is_order_not_found(sim_agent, started_instance):
    assert agent_error(lambda: sim_agent.client().get_order(started_instance, "nope")).code == "order_not_found"


@pytest.mark.parametrize(
    ("request_fields", "reason", "retcode"),
    [
        ({"quantity": "0.015"}, "invalid_volume", "10014"),
        ({"quantity": "500"}, "invalid_volume", "10014"),
        ({"quantity": "90"}, "insufficient_margin", "10019"),
        ({"symbol": "DOGEUSD"}, "unknown_symbol", "10013"),
    ],
)
def test_bad_orders_are_rejected_with_the_terminal_return_code(sim_agent, started_instance, request_fields, reason, retcode):
    order, _ = sim_agent.client().place_order(started_instance, {**market("r-1"), **request_fields})
    assert (order["status"], order["reject_reason"], order["broker_code"]) == ("rejected", reason, retcode)
    assert order["broker_message"].startswith("TRADE_RETCODE_")


def test_limit_price_off_the_tick_grid_is_rejected(sim_agent, started_instance):
    order, _ = sim_agent.client().place_order(started_instance, limit("r-2", "1.080001"))
    assert (order["reject_reason"], order["broker_code"]) == ("invalid_price", "10015")


def test_closed_market_rejects_orders(sim_agent, started_instance):
    client = sim_agent.client()
    client.sim_command(started_instance, {"command": "set_market_open", "open": False})
    order, _ = client.place_order(started_instance, market("r-3"))
    assert (order["reject_reason"], order["broker_code"]) == ("market_closed", "10018")


def test_disconnected_terminal_refuses_orders_as_retryable(sim_agent, started_instance):
    client = sim_agent.client()
    client.sim_command(started_instance, {"command": "disconnect"})
    error = agent_error(lambda: client.place_order(started_instance, market("d-1")))
    assert (error.code, error.retryable, error.broker_code) == ("terminal_disconnected", True, "10031")
    assert client.get_instance(started_instance)["status"] == "disconnected"
    client.sim_command(started_instance, {"command": "reconnect"})
    assert client.place_order(started_instance, market("d-1"))[0]["status"] == "filled"


def test_positions_and_account_follow_fills(sim_agent, started_instance):
    client = sim_agent.client()
    client.place_order(started_instance, market("p-1", quantity="1.00"))
    client.place_order(started_instance, market("p-2", side="sell", quantity="0.40"))
    position = client.positions(started_instance)[0]
    assert (position["symbol"], Decimal(position["quantity"])) == ("EURUSD", Decimal("0.6"))
    account = client.account(started_instance)
    # Closing 0.4 lot bought at the ask and sold at the bid realizes the 1-pip spread: 0.4 * 100000 * 0.0001.
    assert Decimal(account["balance"]) == Decimal("10000") - Decimal("4")
    assert Decimal(account["margin_used"]) > 0


def test_symbol_info_lists_volume_rules(sim_agent, started_instance):
    client = sim_agent.client()
    info = client.symbol(started_instance, "XAUUSD")
    assert (info["contract_size"], info["volume_step"], info["digits"]) == ("100", "0.01", 2)
    assert {item["symbol"] for item in client.symbols(started_instance)} >= {"EURUSD", "XAUUSD"}


def test_events_stream_orders_and_fills_in_sequence(sim_agent, started_instance):
    client = sim_agent.client()
    client.place_order(started_instance, market("e-1"))
    answer = client.events(started_instance, after=0)
    kinds = [(event["seq"], event["type"]) for event in answer["events"]]
    assert kinds == [(1, "terminal_status"), (2, "order_update"), (3, "fill")]
    assert client.events(started_instance, after=3)["events"] == []


def test_events_long_poll_returns_as_soon_as_an_event_arrives(sim_agent, started_instance):
    client = sim_agent.client()
    last = client.events(started_instance, after=0)["last_seq"]
    threading.Timer(0.3, lambda: sim_agent.client().place_order(started_instance, market("e-2"))).start()
    started = time.monotonic()
    answer = client.events(started_instance, after=last, wait=10)
    assert time.monotonic() - started < 5
    assert answer["events"][0]["order"]["client_order_id"] == "e-2"


def test_events_long_poll_times_out_empty(sim_agent, started_instance):
    client = sim_agent.client()
    last = client.events(started_instance)["last_seq"]
    answer = client.events(started_instance, after=last, wait=0.3)
    assert answer["events"] == [] and answer["gap"] is False


def test_start_is_idempotent_for_the_same_instance(sim_agent, started_instance):
    client = sim_agent.client()
    first = client.get_instance(started_instance)
    number = started_instance.split("-")[1]
    again = client.start_instance(start_request(started_instance, account_id=f"acct-{number}", login=f"{5000 + int(number)}"))
    assert again["stream_id"] == first["stream_id"]


def test_second_instance_for_the_same_account_is_refused(sim_agent, started_instance):
    number = started_instance.split("-")[1]
    request = start_request("another", account_id=f"acct-{number}", login="1")
    assert agent_error(lambda: sim_agent.client().start_instance(request)).code == "instance_conflict"


def test_rejected_credentials_fail_the_instance(sim_agent):
    request = start_request("bad-creds", account_id="bad-creds", login="42", password="")
    assert agent_error(lambda: sim_agent.client().start_instance(request)).code == "broker_authentication_failed"
    assert sim_agent.client().get_instance("bad-creds")["status"] == "failed"


def test_unknown_backend_is_refused(sim_agent):
    request = {**start_request("mt5-here", account_id="x", login="1"), "backend": "mt5"}
    error = agent_error(lambda: sim_agent.client().start_instance(request))
    assert error.code == "backend_unavailable"


def test_stopped_instance_refuses_orders_and_can_be_started_again(sim_agent):
    client = sim_agent.client()
    client.start_instance(start_request("stop-me", account_id="stop-me", login="77"))
    assert client.stop_instance("stop-me", "test")["status"] == "stopped"
    assert agent_error(lambda: client.place_order("stop-me", market("x-1"))).code == "instance_not_running"
    assert client.start_instance(start_request("stop-me", account_id="stop-me", login="77"))["status"] == "running"


def test_restart_keeps_the_instance_running(sim_agent, started_instance):
    client = sim_agent.client()
    assert client.restart_instance(started_instance, "operator")["status"] == "running"
    assert client.place_order(started_instance, market("rs-1"))[0]["status"] == "filled"


def test_capacity_is_enforced(tmp_path):
    from .agent_processes import spawn_agent

    agent = spawn_agent(tmp_path, "tiny", capacity=1)
    try:
        client = agent.client()
        client.start_instance(start_request("one", account_id="one", login="1"))
        error = agent_error(lambda: client.start_instance(start_request("two", account_id="two", login="2")))
        assert (error.code, error.retryable) == ("capacity_exhausted", True)
        assert client.health()["running"] == 1
    finally:
        agent.stop()


def test_health_reports_capacity_instances_and_version(sim_agent, started_instance):
    health = sim_agent.client().health()
    assert health["protocol"] == "v1" and health["agent_version"]
    assert started_instance in {instance["instance_id"] for instance in health["instances"]}
    assert health["capacity"] == 50


def test_client_refuses_to_send_an_invalid_order(sim_agent, started_instance):
    with pytest.raises(MessageValidationError):
        sim_agent.client().place_order(started_instance, {**market("v-1"), "quantity": 0.1})
