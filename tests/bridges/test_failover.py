"""End to end with real agent processes: kill a node while an order is in flight; its terminals move to
healthy nodes, in-flight orders are reconciled by client order id, nothing is lost or duplicated."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bridges import services
from bridges.broker import BridgeBroker
from bridges.models import BridgeInstance, BridgeInstanceEvent, BridgeNode, BridgeOrderIntent
from brokers.core.errors import BrokerUnavailable, OrderNotFound
from brokers.core.models import OrderRequest, OrderStatus, Side
from brokers.core.symbols import MarketType, NormalizedSymbol

from .pool import AgentPool, credentials

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EURUSD = NormalizedSymbol("FX", "EUR", "USD", MarketType.FOREX)


@pytest.fixture
def pool(tmp_path, settings):
    settings.BRIDGES_MISSED_HEARTBEATS_DOWN = 3
    settings.BRIDGES_HEALTH_TIMEOUT_SECONDS = 1.0
    agents = AgentPool(tmp_path)
    yield agents
    agents.stop_all()


def buy(client_order_id: str, quantity: str = "10000") -> OrderRequest:
    return OrderRequest(symbol=EURUSD, side=Side.BUY, quantity=Decimal(quantity), client_order_id=client_order_id)


def broker_for(account_id: str) -> BridgeBroker:
    broker = BridgeBroker(tenant_schema="alpha", account_id=account_id)
    broker.retry_backoff = 0.0
    return broker


def heartbeat_rounds(count: int) -> list[services.NodeCheckReport]:
    return [services.check_all_nodes() for _ in range(count)]


def test_killing_a_node_moves_its_terminals_and_reconciles_in_flight_orders(pool):
    for node_id in ("win-1", "win-2", "win-3"):
        pool.spawn(node_id)
        pool.register(node_id, capacity=2)
    heartbeat_rounds(1)
    for number in (1, 2, 3):
        services.request_instance(
            tenant_schema="alpha", account_id=f"acct-{number}", backend="sim", credentials=credentials(f"90{number}")
        )
    instance = BridgeInstance.objects.get(account_id="acct-1")
    assert instance.status == BridgeInstance.Status.RUNNING
    lost_node = instance.node
    lost_agent = pool.agents[lost_node.node_id]
    broker = broker_for("acct-1")

    placed = [broker.place_order(buy(f"before-{index}")) for index in range(3)]
    assert all(result.status is OrderStatus.FILLED for result in placed)

    # The node executes the next order at the broker, then dies before it can answer.
    lost_agent.client().sim_command(instance.instance_id, {"command": "crash_after_next_submit"})
    with pytest.raises(BrokerUnavailable):
        broker.place_order(buy("in-flight-executed"))
    lost_agent.kill()
    # A second order was written down for this node but never reached the broker.
    never_arrived = services.record_order_intent(
        instance, lost_node, broker._wire_request(buy("in-flight-never-arrived"))
    )
    assert BridgeOrderIntent.objects.get(client_order_id="in-flight-executed").state == BridgeOrderIntent.State.UNKNOWN

    reports = heartbeat_rounds(3)

    assert reports[-1].went_down == [lost_node.node_id]
    assert reports[0].went_down == [] and reports[1].went_down == []
    lost_node.refresh_from_db()
    assert lost_node.status == BridgeNode.Status.DOWN
    instance.refresh_from_db()
    assert instance.status == BridgeInstance.Status.RUNNING
    assert instance.node_id != lost_node.pk
    assert reports[-1].reconciled[instance.instance_id] == {
        "found": ["in-flight-executed"],
        "resent": ["in-flight-never-arrived"],
        "abandoned": [],
        "still_unknown": [],
    }
    never_arrived.refresh_from_db()
    assert never_arrived.state == BridgeOrderIntent.State.RESENT

    orders = pool.agents[instance.node.node_id].client().list_orders(instance.instance_id)
    client_ids = sorted(order["client_order_id"] for order in orders)
    assert client_ids == sorted(
        ["before-0", "before-1", "before-2", "in-flight-executed", "in-flight-never-arrived"]
    )
    position = broker.positions()[0]
    assert position.quantity == Decimal("50000")

    # The execution core retrying the unknown order gets the existing one back: no duplicate.
    retried = broker.place_order(buy("in-flight-executed"))
    assert retried.status is OrderStatus.FILLED
    assert len(pool.agents[instance.node.node_id].client().list_orders(instance.instance_id)) == 5


def test_failover_history_is_recorded(pool):
    for node_id in ("win-1", "win-2"):
        pool.spawn(node_id)
        pool.register(node_id)
    heartbeat_rounds(1)
    instance = services.request_instance(
        tenant_schema="alpha", account_id="acct-h", backend="sim", credentials=credentials("701")
    )
    first_node = instance.node
    pool.agents[first_node.node_id].kill()
    heartbeat_rounds(3)
    instance.refresh_from_db()
    history = [(event.kind, event.from_status, event.to_status) for event in instance.events.order_by("id")]
    assert history == [
        (BridgeInstanceEvent.Kind.STATUS, "", "pending"),
        (BridgeInstanceEvent.Kind.ASSIGNED, "", "starting"),
        (BridgeInstanceEvent.Kind.STATUS, "starting", "running"),
        (BridgeInstanceEvent.Kind.ERROR, "running", "failed"),
        (BridgeInstanceEvent.Kind.REASSIGNED, "", "starting"),
        (BridgeInstanceEvent.Kind.STATUS, "starting", "running"),
    ]
    assert instance.node.node_id != first_node.node_id


def test_node_is_marked_down_only_after_the_configured_missed_heartbeats(pool):
    pool.spawn("win-1")
    node = pool.register("win-1")
    heartbeat_rounds(1)
    pool.agents["win-1"].kill()
    heartbeat_rounds(2)
    node.refresh_from_db()
    assert (node.status, node.missed_heartbeats) == (BridgeNode.Status.HEALTHY, 2)
    heartbeat_rounds(1)
    node.refresh_from_db()
    assert node.status == BridgeNode.Status.DOWN


def test_instances_wait_pending_when_no_node_has_room_and_start_when_one_appears(pool):
    pool.spawn("win-1")
    pool.register("win-1")
    heartbeat_rounds(1)
    pool.agents["win-1"].kill()
    heartbeat_rounds(3)
    instance = services.request_instance(
        tenant_schema="alpha", account_id="acct-p", backend="sim", credentials=credentials("702")
    )
    assert instance.status == BridgeInstance.Status.PENDING
    assert "no healthy node" in instance.last_error or instance.events.filter(message__contains="no healthy node").exists()
    pool.spawn("win-2")
    pool.register("win-2")
    BridgeInstance.objects.filter(pk=instance.pk).update(next_restart_at=instance.next_restart_at.replace(year=2000))
    heartbeat_rounds(1)
    instance.refresh_from_db()
    assert (instance.status, instance.node.node_id) == (BridgeInstance.Status.RUNNING, "win-2")


def test_restarted_agent_gets_its_terminals_back(pool):
    agent = pool.spawn("win-1")
    pool.register("win-1")
    heartbeat_rounds(1)
    instance = services.request_instance(
        tenant_schema="alpha", account_id="acct-r", backend="sim", credentials=credentials("703")
    )
    broker_for("acct-r").place_order(buy("r-1"))
    old_stream = instance.stream_id
    port, secret = agent.port, agent.secret
    agent.kill()
    pool.spawn("win-1", port=port, secret=secret)

    report = services.check_all_nodes()

    assert report.restarted == [instance.instance_id]
    instance.refresh_from_db()
    assert instance.status == BridgeInstance.Status.RUNNING
    assert instance.stream_id != old_stream
    assert broker_for("acct-r").get_order(client_order_id="r-1").status is OrderStatus.FILLED


def test_draining_moves_instances_off_and_keeps_orders(pool):
    for node_id in ("win-1", "win-2"):
        pool.spawn(node_id)
        pool.register(node_id)
    heartbeat_rounds(1)
    instance = services.request_instance(
        tenant_schema="alpha", account_id="acct-d", backend="sim", credentials=credentials("704")
    )
    source = instance.node
    broker_for("acct-d").place_order(buy("d-1"))

    moved = services.drain_node(source)

    assert [item.instance_id for item in moved] == [instance.instance_id]
    instance.refresh_from_db()
    source.refresh_from_db()
    assert source.status == BridgeNode.Status.DRAINING
    assert instance.node != source and instance.status == BridgeInstance.Status.RUNNING
    assert pool.agents[source.node_id].client().get_instance(instance.instance_id)["status"] == "stopped"
    broker = broker_for("acct-d")
    assert broker.get_order(client_order_id="d-1").status is OrderStatus.FILLED
    broker.place_order(buy("d-2"))
    assert broker.positions()[0].quantity == Decimal("20000")
    heartbeat_rounds(1)
    source.refresh_from_db()
    assert source.status == BridgeNode.Status.DRAINING


def test_heartbeat_records_version_backends_and_degraded_terminals(pool):
    pool.spawn("win-1")
    node = pool.register("win-1")
    heartbeat_rounds(1)
    instance = services.request_instance(
        tenant_schema="alpha", account_id="acct-v", backend="sim", credentials=credentials("705")
    )
    pool.agents["win-1"].client().sim_command(instance.instance_id, {"command": "disconnect"})
    heartbeat_rounds(1)
    node.refresh_from_db()
    assert (node.status, node.agent_version, node.backends, node.reported_running) == (
        BridgeNode.Status.DEGRADED, "1.0.0", ["sim"], 1
    )


def test_refused_credentials_fail_the_instance_without_retrying(pool):
    pool.spawn("win-1")
    pool.register("win-1")
    heartbeat_rounds(1)
    instance = services.request_instance(
        tenant_schema="alpha", account_id="acct-bad", backend="sim",
        credentials={"login": "706", "password": ""},
    )
    assert instance.status == BridgeInstance.Status.FAILED
    assert "refused login" in instance.last_error
    assert instance.should_run is False and instance.next_restart_at is None


def test_old_order_the_broker_never_saw_is_abandoned_not_sent_late(pool, settings):
    settings.BRIDGES_RESEND_MAX_AGE_SECONDS = 60
    for node_id in ("win-1", "win-2"):
        pool.spawn(node_id)
        pool.register(node_id)
    heartbeat_rounds(1)
    instance = services.request_instance(
        tenant_schema="alpha", account_id="acct-old", backend="sim", credentials=credentials("707")
    )
    broker = broker_for("acct-old")
    stale = services.record_order_intent(instance, instance.node, broker._wire_request(buy("stale-1")))
    BridgeOrderIntent.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    pool.agents[instance.node.node_id].kill()

    reports = heartbeat_rounds(3)

    instance.refresh_from_db()
    assert reports[-1].reconciled[instance.instance_id]["abandoned"] == ["stale-1"]
    stale.refresh_from_db()
    assert stale.state == BridgeOrderIntent.State.FAILED and "not re-sent" in stale.last_error
    with pytest.raises(OrderNotFound):
        broker.get_order(client_order_id="stale-1")


def test_event_cursor_restarts_with_a_new_terminal_stream(pool):
    agent = pool.spawn("win-1")
    pool.register("win-1")
    heartbeat_rounds(1)
    instance = services.request_instance(
        tenant_schema="alpha", account_id="acct-s", backend="sim", credentials=credentials("708")
    )
    broker_for("acct-s").place_order(buy("s-1"))
    assert len(services.pump_instance_events(instance)) == 3
    port, secret = agent.port, agent.secret
    agent.kill()
    pool.spawn("win-1", port=port, secret=secret)
    services.check_all_nodes()
    instance.refresh_from_db()

    events = services.pump_instance_events(instance)

    assert [event["seq"] for event in events] == [1]
    assert events[0]["type"] == "terminal_status"
    instance.refresh_from_db()
    assert instance.events_cursor == 1


def test_disconnected_terminal_is_not_restarted_by_heartbeats(pool):
    pool.spawn("win-1")
    pool.register("win-1")
    heartbeat_rounds(1)
    instance = services.request_instance(
        tenant_schema="alpha", account_id="acct-dc", backend="sim", credentials=credentials("709")
    )
    pool.agents["win-1"].client().sim_command(instance.instance_id, {"command": "disconnect"})
    events_before = instance.events.count()
    report = heartbeat_rounds(2)[-1]
    assert report.restarted == []
    assert instance.events.count() == events_before


def test_node_that_comes_back_stops_terminals_that_moved_away(pool):
    pool.spawn("win-1")
    pool.spawn("win-2")
    node_1 = pool.register("win-1")
    pool.register("win-2")
    heartbeat_rounds(1)
    instance = services.request_instance(
        tenant_schema="alpha", account_id="acct-o", backend="sim", credentials=credentials("710")
    )
    # win-1 was cut off from 4pass (not dead): the terminal was moved to win-2 meanwhile.
    stranded = instance.node
    other = BridgeNode.objects.exclude(pk=stranded.pk).get()
    BridgeInstance.objects.filter(pk=instance.pk).update(node=other)
    services.start_on_node(BridgeInstance.objects.get(pk=instance.pk))

    heartbeat_rounds(1)

    assert pool.agents[stranded.node_id].client().get_instance(instance.instance_id)["status"] == "stopped"
    assert pool.agents[other.node_id].client().get_instance(instance.instance_id)["status"] == "running"
    assert node_1.pk in (stranded.pk, other.pk)


def test_instance_stuck_starting_is_restarted(pool):
    pool.spawn("win-1")
    pool.register("win-1")
    heartbeat_rounds(1)
    instance = services.request_instance(
        tenant_schema="alpha", account_id="acct-stuck", backend="sim", credentials=credentials("711")
    )
    pool.agents["win-1"].client().stop_instance(instance.instance_id, "worker died mid-start")
    BridgeInstance.objects.filter(pk=instance.pk).update(
        status=BridgeInstance.Status.STARTING, updated_at=timezone.now() - timedelta(minutes=10)
    )

    services.restart_due_instances()

    instance.refresh_from_db()
    assert instance.status == BridgeInstance.Status.RUNNING
    assert instance.events.filter(message__contains="stuck in starting").exists()
