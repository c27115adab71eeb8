"""BridgeBroker, the BrokerService adapter, against a real agent process (simulated terminal)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridges import services
from bridges.broker import BridgeBroker
from bridges.models import BridgeInstance, BridgeOrderIntent
from brokers.core.errors import (
    BrokerUnavailable,
    InsufficientFunds,
    InvalidOrder,
    MarketClosed,
    OrderNotFound,
)
from brokers.core.models import OrderRequest, OrderStatus, OrderType, Side
from brokers.core.symbols import MarketType, NormalizedSymbol

from .pool import AgentPool, credentials

pytestmark = pytest.mark.django_db

EURUSD = NormalizedSymbol("FX", "EUR", "USD", MarketType.FOREX)
XAUUSD = NormalizedSymbol("FX", "XAU", "USD", MarketType.FOREX)


@pytest.fixture(scope="module")
def agent_pool(tmp_path_factory):
    pool = AgentPool(tmp_path_factory.mktemp("broker-pool"))
    pool.spawn("win-b", capacity=50)
    yield pool
    pool.stop_all()


@pytest.fixture
def instance(agent_pool, request) -> BridgeInstance:
    agent_pool.register("win-b", capacity=50)
    services.check_all_nodes()
    account_id = f"acct-{request.node.name[:40]}".replace("[", "-").replace("]", "")
    return services.request_instance(
        tenant_schema="alpha", account_id=account_id, backend="sim", credentials=credentials(account_id)
    )


@pytest.fixture
def broker(instance) -> BridgeBroker:
    broker = BridgeBroker(tenant_schema="alpha", account_id=instance.account_id)
    broker.retry_backoff = 0.0
    return broker


def order(client_order_id: str, quantity: str = "10000", side: Side = Side.BUY, **fields) -> OrderRequest:
    return OrderRequest(symbol=fields.pop("symbol", EURUSD), side=side, quantity=Decimal(quantity),
                        client_order_id=client_order_id, **fields)


def sim(agent_pool, instance, command: dict) -> dict:
    return agent_pool.agents["win-b"].client().sim_command(instance.instance_id, command)


def test_market_order_fills_and_converts_lots_to_base_units(broker):
    result = broker.place_order(order("b-1", "25000"))
    assert result.status is OrderStatus.FILLED
    assert (result.quantity, result.filled_quantity) == (Decimal("25000"), Decimal("25000"))
    assert result.average_price == Decimal("1.0851")
    assert result.raw["quantity"] == "0.25"
    assert result.symbol == EURUSD


def test_quantity_is_rounded_down_to_the_lot_step(broker):
    result = broker.place_order(order("b-2", "12345"))
    assert result.quantity == Decimal("12000")


def test_instrument_reports_rules_in_base_units(broker):
    gold = broker.instrument(XAUUSD)
    assert (gold.native_symbol, gold.qty_step, gold.min_qty, gold.tick_size) == ("XAUUSD", Decimal("1"), Decimal("1"), Decimal("0.01"))


def test_placing_the_same_client_order_id_twice_creates_one_order(broker, agent_pool, instance):
    first = broker.place_order(order("b-3"))
    second = broker.place_order(order("b-3"))
    assert second.broker_order_id == first.broker_order_id
    assert len(agent_pool.agents["win-b"].client().list_orders(instance.instance_id)) == 1
    assert BridgeOrderIntent.objects.get(client_order_id="b-3").attempts == 2


def test_intent_is_acknowledged_with_the_broker_order_id(broker):
    result = broker.place_order(order("b-4"))
    intent = BridgeOrderIntent.objects.get(client_order_id="b-4")
    assert (intent.state, intent.broker_order_id, intent.order_status) == (
        BridgeOrderIntent.State.ACKNOWLEDGED, result.broker_order_id, "filled"
    )


def test_insufficient_margin_raises_insufficient_funds_with_the_terminal_code(broker):
    with pytest.raises(InsufficientFunds) as raised:
        broker.place_order(order("b-5", "9000000"))
    assert "10019" in str(raised.value) and "TRADE_RETCODE_NO_MONEY" in str(raised.value)


def test_closed_market_raises_market_closed(broker, agent_pool, instance):
    sim(agent_pool, instance, {"command": "set_market_open", "open": False})
    with pytest.raises(MarketClosed):
        broker.place_order(order("b-6"))
    assert broker.get_order(client_order_id="b-6").status is OrderStatus.REJECTED


def test_order_below_the_minimum_volume_is_refused_before_sending(broker):
    with pytest.raises(InvalidOrder):
        broker.place_order(order("b-7", "500"))
    assert not BridgeOrderIntent.objects.filter(client_order_id="b-7").exists()


def test_disconnected_terminal_is_retryable_unavailability(broker, agent_pool, instance):
    broker.instrument(EURUSD)  # rules already known: the failure happens on the order itself
    sim(agent_pool, instance, {"command": "disconnect"})
    broker.max_submit_attempts = 1
    with pytest.raises(BrokerUnavailable) as raised:
        broker.place_order(order("b-8"))
    assert raised.value.retryable is True
    assert "10031" in str(raised.value)
    assert BridgeOrderIntent.objects.get(client_order_id="b-8").state == BridgeOrderIntent.State.UNKNOWN


def test_limit_order_rests_then_cancel(broker):
    resting = broker.place_order(order("b-9", order_type=OrderType.LIMIT, price=Decimal("1.07")))
    assert resting.status is OrderStatus.OPEN
    assert [item.client_order_id for item in broker.open_orders()] == ["b-9"]
    assert broker.cancel_order(client_order_id="b-9").status is OrderStatus.CANCELLED
    assert broker.open_orders() == []


def test_cancel_by_broker_order_id(broker):
    resting = broker.place_order(order("b-10", order_type=OrderType.LIMIT, price=Decimal("1.07")))
    assert broker.cancel_order(broker_order_id=resting.broker_order_id).status is OrderStatus.CANCELLED


def test_limit_fill_is_seen_by_polling_updates(broker, agent_pool, instance):
    broker.place_order(order("b-11", order_type=OrderType.LIMIT, price=Decimal("1.08")))
    sim(agent_pool, instance, {"command": "set_price", "symbol": "EURUSD", "bid": "1.07990", "ask": "1.08000"})
    updates = broker.poll_updates()
    assert updates[-1].status is OrderStatus.FILLED and updates[-1].fill.price == Decimal("1.08")


def test_unknown_order_raises_order_not_found(broker):
    with pytest.raises(OrderNotFound):
        broker.get_order(client_order_id="never-sent")


def test_positions_and_balances(broker):
    broker.place_order(order("b-12", "100000"))
    broker.place_order(order("b-13", "30000", side=Side.SELL))
    [position] = broker.positions()
    assert (position.symbol, position.quantity) == (EURUSD, Decimal("70000"))
    [balance] = broker.balances()
    assert balance.asset == "USD" and balance.total > Decimal("9900")
    info = broker.account_info()
    assert info.is_margin_account and info.equity == balance.total


def test_stopped_instance_makes_the_broker_unavailable(broker, instance):
    services.stop_instance(instance, reason="tenant paused")
    with pytest.raises(BrokerUnavailable, match="stopped"):
        broker.positions()


def test_account_without_a_terminal_is_unavailable_and_not_retryable():
    with pytest.raises(BrokerUnavailable) as raised:
        BridgeBroker(tenant_schema="alpha", account_id="nope").positions()
    assert raised.value.retryable is False


def test_symbol_map_and_suffix_translate_names(instance):
    broker = BridgeBroker(tenant_schema="alpha", account_id=instance.account_id, symbol_map={"OANDA:XAUUSD": "XAUUSD"})
    assert broker.native_symbol(NormalizedSymbol("OANDA", "XAU", "USD", MarketType.FOREX)) == "XAUUSD"
    assert broker.normalized_symbol("XAUUSD").venue == "OANDA"
    suffixed = BridgeBroker(tenant_schema="alpha", account_id="x", symbol_suffix=".m")
    assert suffixed.native_symbol(EURUSD) == "EURUSD.m"
    assert suffixed.normalized_symbol("EURUSD.m") == EURUSD


def test_events_are_pumped_and_advance_the_cursor(broker, instance):
    received = []

    def listener(sender, instance, event, **kwargs):
        received.append(event)

    services.bridge_event_received.connect(listener)
    try:
        broker.place_order(order("b-14"))
        instance.refresh_from_db()
        events = services.pump_instance_events(instance)
        assert [event["type"] for event in events] == ["terminal_status", "order_update", "fill"]
        assert received == events
        instance.refresh_from_db()
        assert instance.events_cursor == events[-1]["seq"]
        assert services.pump_instance_events(instance) == []
    finally:
        services.bridge_event_received.disconnect(listener)
