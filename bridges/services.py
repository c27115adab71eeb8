"""Write-side logic of the bridge pool: node registry, scheduling, heartbeats, failover, draining and
in-flight order reconciliation.

Agent calls never run inside a database transaction: a slow node must not hold row locks. State is
re-read under `select_for_update` before it is changed, and every lifecycle change of an instance is
recorded as a BridgeInstanceEvent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import django.dispatch
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from bridges.protocol import AgentClient, AgentError, TransportError

from . import selectors
from .crypto import decrypt_json, decrypt_text, encrypt_json, encrypt_text, reencrypt
from .models import BridgeInstance, BridgeInstanceEvent, BridgeNode, BridgeOrderIntent

log = logging.getLogger(__name__)

Status = BridgeInstance.Status
AGENT_ACTIVE = ("starting", "running", "disconnected")
NodeStatus = BridgeNode.Status
IntentState = BridgeOrderIntent.State

# Sent for every event read from an agent's stream: kwargs instance=BridgeInstance, event=dict.
bridge_event_received = django.dispatch.Signal()


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def missed_heartbeats_before_down() -> int:
    return int(_setting("BRIDGES_MISSED_HEARTBEATS_DOWN", 3))


def health_timeout() -> float:
    return float(_setting("BRIDGES_HEALTH_TIMEOUT_SECONDS", 2.0))


def restart_delay(restart_count: int) -> timedelta:
    """Exponential back-off between automatic restarts: 5 s, 10 s, 20 s ... capped at 5 minutes."""
    base = float(_setting("BRIDGES_RESTART_BACKOFF_SECONDS", 5.0))
    cap = float(_setting("BRIDGES_RESTART_BACKOFF_MAX_SECONDS", 300.0))
    return timedelta(seconds=min(cap, base * (2 ** max(restart_count - 1, 0))))


# -- nodes ----------------------------------------------------------------------------------------------
def generate_node_secret() -> str:
    return secrets.token_urlsafe(48)


def register_node(
    *, node_id: str, address: str, region: str, capacity: int, secret: str, backends: list[str] | None = None
) -> BridgeNode:
    """Add a node (or update its address/region/capacity/secret). It stays DOWN until a heartbeat succeeds."""
    if len(secret) < 32:
        raise ValueError("node secrets must be at least 32 characters")
    node, _ = BridgeNode.objects.update_or_create(
        node_id=node_id,
        defaults={
            "address": address.rstrip("/"),
            "region": region,
            "capacity": capacity,
            "secret_encrypted": encrypt_text(secret),
            "backends": backends or [],
        },
    )
    return node


def node_secret(node: BridgeNode) -> bytes:
    return decrypt_text(node.secret_encrypted).encode()


_clients: dict[tuple[str, str, str], AgentClient] = {}
_clients_lock = threading.Lock()


def client_for_node(node: BridgeNode) -> AgentClient:
    """A signed client for the node, reused across calls (keep-alive); rebuilt when address/secret change."""
    key = (node.node_id, node.address, node.secret_encrypted)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            timeout = float(_setting("BRIDGES_REQUEST_TIMEOUT_SECONDS", 10.0))
            client = AgentClient(
                node.address, node.node_id, node_secret(node), timeout=timeout,
                ca_file=_setting("BRIDGES_TLS_CA_FILE", None),
            )
            _clients[key] = client
        return client


def record_heartbeat(node: BridgeNode, health: dict[str, Any]) -> BridgeNode:
    with transaction.atomic():
        node = BridgeNode.objects.select_for_update().get(pk=node.pk)
        if node.status != NodeStatus.DRAINING:
            node.status = NodeStatus.DEGRADED if health["status"] == "degraded" else NodeStatus.HEALTHY
        node.agent_version = health["agent_version"]
        node.backends = health["backends"]
        node.reported_running = health["running"]
        node.last_heartbeat_at = timezone.now()
        node.missed_heartbeats = 0
        node.last_error = ""
        node.save()
    return node


def record_missed_heartbeat(node: BridgeNode, error: str) -> tuple[BridgeNode, bool]:
    """Count a missed heartbeat; returns (node, became_down)."""
    with transaction.atomic():
        node = BridgeNode.objects.select_for_update().get(pk=node.pk)
        node.missed_heartbeats += 1
        node.last_error = error[:2000]
        became_down = node.missed_heartbeats >= missed_heartbeats_before_down() and node.status != NodeStatus.DOWN
        if became_down:
            node.status = NodeStatus.DOWN
        node.save()
    return node, became_down


@dataclass
class NodeCheckReport:
    healthy: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    went_down: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    reconciled: dict[str, dict[str, list[str]]] = field(default_factory=dict)


@contextmanager
def _exclusive(lock_name: str) -> Iterator[bool]:
    """A PostgreSQL advisory lock held for the block; yields False (without waiting) if someone holds it."""
    key = int.from_bytes(hashlib.sha256(lock_name.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _poll_health(nodes: list[BridgeNode]) -> dict[int, dict[str, Any] | Exception]:
    """Health of every node, polled concurrently so a few dead nodes cannot stretch the round."""

    def poll(node: BridgeNode) -> dict[str, Any] | Exception:
        try:
            return client_for_node(node).health(timeout=health_timeout())
        except (TransportError, AgentError) as error:
            return error

    if not nodes:
        return {}
    return dict(zip((node.pk for node in nodes), _health_executor().map(poll, nodes), strict=True))


@cache
def _health_executor() -> ThreadPoolExecutor:
    # Long-lived threads keep their keep-alive (TLS) connections to the nodes between rounds.
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="bridge-health")


def check_all_nodes() -> NodeCheckReport:
    """One heartbeat round: poll every node; mark unreachable ones down after N misses and move their
    instances; restart instances a healthy node no longer runs (its agent restarted, it keeps no state).

    Rounds never overlap (advisory lock): an overlapping round is skipped, not queued.
    """
    report = NodeCheckReport()
    with _exclusive("bridges.check_all_nodes") as acquired:
        if not acquired:
            log.info("bridge heartbeat round skipped: another round is running")
            return report
        nodes = list(BridgeNode.objects.order_by("node_id"))
        polled_at = timezone.now()
        results = _poll_health(nodes)
        for node in nodes:
            health = results[node.pk]
            if isinstance(health, Exception):
                _handle_missed_heartbeat(node, health, report)
                continue
            node = record_heartbeat(node, health)
            report.healthy.append(node.node_id)
            report.restarted.extend(_reconcile_node_instances(node, health, polled_at))
        report.restarted.extend(instance.instance_id for instance in restart_due_instances())
    return report


def _handle_missed_heartbeat(node: BridgeNode, error: Exception, report: NodeCheckReport) -> None:
    node, became_down = record_missed_heartbeat(node, str(error))
    report.missed.append(node.node_id)
    if not became_down:
        return
    log.warning("bridge node %s is down after %d missed heartbeats", node.node_id, node.missed_heartbeats)
    report.went_down.append(node.node_id)
    moved = fail_over_node(node, reason=f"node down: {error}")
    report.moved.extend(instance.instance_id for instance in moved)
    for instance in moved:
        if instance.status == Status.RUNNING:
            report.reconciled[instance.instance_id] = reconcile_in_flight_orders(instance)


def _reconcile_node_instances(node: BridgeNode, health: dict[str, Any], polled_at: datetime) -> list[str]:
    """Make the node's terminals match the database.

    A terminal the database places here but the agent does not run (the agent restarted: it keeps no state)
    is started again. A terminal the agent runs but the database placed elsewhere or stopped (the node was
    cut off, its terminals were moved, and now it is back) is stopped there, so one account never has two
    live terminals. Only terminals started before the health snapshot are judged by it.
    """
    reported = {item["instance_id"]: item for item in health["instances"] if item["status"] in AGENT_ACTIVE}
    restarted = []
    for instance in selectors.active_instances_on(node).filter(status=Status.RUNNING, started_at__lt=polled_at):
        if instance.instance_id not in reported:
            transition(instance, Status.FAILED, message=f"{node.node_id} no longer runs this terminal (agent restarted?)")
            start_on_node(instance)
            restarted.append(instance.instance_id)
            if instance.status == Status.RUNNING:
                reconcile_in_flight_orders(instance)
    expected_here = set(
        BridgeInstance.objects.filter(node=node, status__in=selectors.OCCUPYING_STATUSES).values_list(
            "instance_id", flat=True
        )
    )
    # A terminal that moved here or away during this round is judged next round.
    changed_since = set(
        BridgeInstance.objects.filter(updated_at__gte=polled_at).values_list("instance_id", flat=True)
    )
    for instance_id in set(reported) - expected_here - changed_since:
        log.warning("stopping orphan terminal %s on %s", instance_id, node.node_id)
        try:
            client_for_node(node).stop_instance(instance_id, "terminal now runs on another node")
        except (AgentError, TransportError) as error:
            log.warning("could not stop orphan %s on %s: %s", instance_id, node.node_id, error)
    return restarted


# -- instances ------------------------------------------------------------------------------------------
def record_instance_event(
    instance: BridgeInstance,
    kind: str,
    *,
    from_status: str = "",
    to_status: str = "",
    message: str = "",
    details: dict[str, Any] | None = None,
) -> BridgeInstanceEvent:
    return BridgeInstanceEvent.objects.create(
        instance=instance,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        node=instance.node,
        message=message[:4000],
        details=details or {},
    )


def transition(instance: BridgeInstance, to_status: str, *, message: str = "", **fields: Any) -> BridgeInstance:
    """Change status (and any other fields) and record the change, atomically."""
    with transaction.atomic():
        from_status = instance.status
        instance.status = to_status
        for name, value in fields.items():
            setattr(instance, name, value)
        if to_status in (Status.FAILED, Status.PENDING) and message:
            instance.last_error = message[:4000]
        instance.save()
        if from_status != to_status or message:
            kind = BridgeInstanceEvent.Kind.ERROR if to_status == Status.FAILED else BridgeInstanceEvent.Kind.STATUS
            record_instance_event(instance, kind, from_status=from_status, to_status=to_status, message=message)
    return instance


def request_instance(
    *,
    tenant_schema: str,
    account_id: str,
    backend: str,
    credentials: dict[str, str],
    preferred_region: str = "",
    options: dict[str, Any] | None = None,
) -> BridgeInstance:
    """Ensure a terminal runs for this broker account; credentials are stored encrypted so failover can
    restart the terminal elsewhere without asking the tenant again."""
    if not credentials.get("login"):
        raise ValueError("terminal credentials need a login")
    with transaction.atomic():
        instance, created = BridgeInstance.objects.select_for_update().get_or_create(
            tenant_schema=tenant_schema,
            account_id=account_id,
            defaults={
                "instance_id": f"bi-{secrets.token_hex(8)}",
                "backend": backend,
                "preferred_region": preferred_region,
                "credentials_encrypted": encrypt_json(credentials),
                "options": options or {},
            },
        )
        changed = False
        if not created:
            changed = (
                decrypt_json(instance.credentials_encrypted) != credentials
                or instance.backend != backend
                or instance.options != (options or {})
            )
            instance.backend = backend
            instance.preferred_region = preferred_region
            instance.credentials_encrypted = encrypt_json(credentials)
            instance.options = options or {}
            instance.should_run = True
            instance.save()
        else:
            record_instance_event(instance, BridgeInstanceEvent.Kind.STATUS, to_status=Status.PENDING, message="requested")
    if changed and instance.status == Status.RUNNING and instance.node is not None:
        # The running terminal logged in with the old settings: log it out, then start it again.
        try:
            client_for_node(instance.node).stop_instance(instance.instance_id, "account settings changed")
        except (AgentError, TransportError) as error:
            log.warning("stop of %s before re-login failed: %s", instance.instance_id, error)
        transition(instance, Status.STOPPED, message="account settings changed; logging in again")
    if instance.status not in (Status.RUNNING, Status.STARTING):
        instance.restart_count = 0
        start_on_node(instance)
    return instance


def assign_node(instance: BridgeInstance, *, exclude_node_ids: tuple[int, ...] = ()) -> BridgeNode | None:
    """Pick the best node and reserve a slot on it (under row locks, so two schedulers cannot overfill)."""
    with transaction.atomic():
        list(BridgeNode.objects.select_for_update().filter(status__in=(NodeStatus.HEALTHY, NodeStatus.DEGRADED)))
        candidates = selectors.candidate_nodes(
            backend=instance.backend,
            region=instance.preferred_region,
            tenant_schema=instance.tenant_schema,
            exclude_node_ids=exclude_node_ids,
        )
        previous = instance.node
        if not candidates:
            transition(
                instance,
                Status.PENDING,
                node=None,
                message=f"no healthy node offering {instance.backend!r} has a free slot",
            )
            return None
        node = candidates[0]
        instance.node = node
        instance.status = Status.STARTING
        instance.save(update_fields=["node", "status", "updated_at"])
        kind = BridgeInstanceEvent.Kind.REASSIGNED if previous and previous != node else BridgeInstanceEvent.Kind.ASSIGNED
        record_instance_event(
            instance,
            kind,
            to_status=Status.STARTING,
            message=f"placed on {node.node_id}" + (f" (was {previous.node_id})" if previous and previous != node else ""),
            details={"region": node.region, "previous_node": previous.node_id if previous else None},
        )
        return node


def start_on_node(instance: BridgeInstance, *, exclude_node_ids: tuple[int, ...] = ()) -> BridgeInstance:
    """Assign a node if needed and start the terminal there with the stored credentials."""
    node = instance.node
    if node is None or not node.accepts_new_instances or node.pk in exclude_node_ids:
        node = assign_node(instance, exclude_node_ids=exclude_node_ids)
        if node is None:
            instance.next_restart_at = timezone.now() + restart_delay(instance.restart_count + 1)
            instance.save(update_fields=["next_restart_at", "updated_at"])
            return instance
    elif instance.status != Status.STARTING:
        transition(instance, Status.STARTING, message=f"starting on {node.node_id}")
    start_request = {
        "instance_id": instance.instance_id,
        "tenant": instance.tenant_schema,
        "account_id": instance.account_id,
        "backend": instance.backend,
        "credentials": decrypt_json(instance.credentials_encrypted),
        "options": instance.options,
    }
    try:
        described = client_for_node(node).start_instance(start_request, timeout=90.0)
    except (AgentError, TransportError) as error:
        retryable = isinstance(error, TransportError) or error.retryable
        restart_count = instance.restart_count + 1
        transition(
            instance,
            Status.FAILED,
            message=f"start on {node.node_id} failed: {error}",
            restart_count=restart_count,
            next_restart_at=timezone.now() + restart_delay(restart_count) if retryable else None,
            should_run=instance.should_run and retryable,
        )
        return instance
    if described["stream_id"] != instance.stream_id:
        instance.events_cursor = 0
    return transition(
        instance,
        Status.RUNNING,
        message=f"running on {node.node_id}",
        started_at=timezone.now(),
        stream_id=described["stream_id"],
        events_cursor=instance.events_cursor,
        next_restart_at=None,
        last_error="",
    )


def restart_instance(instance: BridgeInstance, *, reason: str = "restart requested") -> BridgeInstance:
    """Log the terminal out and in again where it runs; start it (anywhere) if it does not run."""
    instance.should_run = True
    instance.save(update_fields=["should_run", "updated_at"])
    if instance.status == Status.RUNNING and instance.node is not None:
        try:
            client_for_node(instance.node).restart_instance(instance.instance_id, reason)
        except (AgentError, TransportError) as error:
            transition(instance, Status.FAILED, message=f"restart on {instance.node.node_id} failed: {error}")
            return start_on_node(instance)
        return transition(instance, Status.RUNNING, message=f"restarted on {instance.node.node_id}: {reason}")
    return start_on_node(instance)


def stop_instance(instance: BridgeInstance, *, reason: str = "stopped by request") -> BridgeInstance:
    instance.should_run = False
    instance.save(update_fields=["should_run", "updated_at"])
    node = instance.node
    if instance.status in (Status.STOPPED,) or node is None:
        return transition(instance, Status.STOPPED, message=reason)
    transition(instance, Status.STOPPING, message=reason)
    try:
        client_for_node(node).stop_instance(instance.instance_id, reason)
    except AgentError as error:
        if error.code != "instance_not_found":
            log.warning("stop of %s on %s answered %s", instance.instance_id, node.node_id, error)
    except TransportError as error:
        # An unreachable node holds no terminal we can talk to; it will be told again if it comes back.
        log.warning("stop of %s: node %s unreachable (%s)", instance.instance_id, node.node_id, error)
    return transition(instance, Status.STOPPED, node=None, message=f"stopped on {node.node_id}")


def fail_over_node(node: BridgeNode, *, reason: str) -> list[BridgeInstance]:
    """Move every instance of a lost node to healthy nodes (they get the stored credentials)."""
    moved = []
    for instance in selectors.active_instances_on(node):
        transition(instance, Status.FAILED, message=reason)
        start_on_node(instance, exclude_node_ids=(node.pk,))
        moved.append(instance)
    return moved


def drain_node(node: BridgeNode, *, reason: str = "node draining") -> list[BridgeInstance]:
    """Take a node out of scheduling and move its instances off one by one (stop there, start elsewhere).

    Each instance is unavailable only between its stop and its restart; orders sent meanwhile fail as
    retryable and the broker adapter looks them up by client order id before re-sending.
    """
    with transaction.atomic():
        node = BridgeNode.objects.select_for_update().get(pk=node.pk)
        node.status = NodeStatus.DRAINING
        node.save(update_fields=["status", "updated_at"])
    moved = []
    for instance in selectors.active_instances_on(node):
        transition(instance, Status.STOPPING, message=reason)
        try:
            client_for_node(node).stop_instance(instance.instance_id, reason)
        except (AgentError, TransportError) as error:
            log.warning("drain: stop of %s on %s failed: %s", instance.instance_id, node.node_id, error)
        start_on_node(instance, exclude_node_ids=(node.pk,))
        if instance.status == Status.RUNNING:
            reconcile_in_flight_orders(instance)
        moved.append(instance)
    return moved


def undrain_node(node: BridgeNode) -> BridgeNode:
    """Return a drained node to scheduling; the next heartbeat sets its health status."""
    with transaction.atomic():
        node = BridgeNode.objects.select_for_update().get(pk=node.pk)
        node.status = NodeStatus.DOWN
        node.save(update_fields=["status", "updated_at"])
    return node


def restart_due_instances(now: datetime | None = None) -> list[BridgeInstance]:
    """Restart failed/pending instances that should run and whose back-off has elapsed.

    An instance left 'starting' or 'stopping' for longer than BRIDGES_TRANSITION_TIMEOUT_SECONDS (a worker
    died mid-change) is marked failed first, so it is not stuck forever.
    """
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=float(_setting("BRIDGES_TRANSITION_TIMEOUT_SECONDS", 180.0)))
    for instance in BridgeInstance.objects.filter(
        status__in=(Status.STARTING, Status.STOPPING), updated_at__lt=stuck_before
    ):
        if instance.should_run:
            transition(instance, Status.FAILED, message=f"stuck in {instance.status}; restarting", next_restart_at=now)
        else:
            transition(instance, Status.STOPPED, message=f"stuck in {instance.status}; considered stopped", node=None)
    due = BridgeInstance.objects.filter(
        should_run=True, status__in=(Status.FAILED, Status.PENDING), next_restart_at__lte=now
    ).select_related("node")
    restarted = []
    for instance in due:
        node = instance.node
        exclude = (node.pk,) if node is not None and node.status == NodeStatus.DOWN else ()
        start_on_node(instance, exclude_node_ids=exclude)
        if instance.status == Status.RUNNING:
            reconcile_in_flight_orders(instance)
        restarted.append(instance)
    return restarted


# -- orders ---------------------------------------------------------------------------------------------
_UPSERT_INTENT_SQL = """
INSERT INTO bridges_bridgeorderintent
    (instance_id, client_order_id, request, state, node_id, broker_order_id, order_status, attempts, last_error,
     created_at, updated_at)
VALUES (%s, %s, %s, 'sending', %s, '', '', 1, '', now(), now())
ON CONFLICT (instance_id, client_order_id) DO UPDATE SET
    node_id = EXCLUDED.node_id,
    attempts = bridges_bridgeorderintent.attempts + 1,
    state = CASE WHEN bridges_bridgeorderintent.state IN ('acknowledged', 'reconciled', 'resent')
                 THEN bridges_bridgeorderintent.state ELSE 'sending' END,
    updated_at = now()
RETURNING id
"""


def record_order_intent(instance: BridgeInstance, node: BridgeNode, order_request: dict[str, Any]) -> BridgeOrderIntent:
    """Durably write down that an order is about to be sent to `node`, before it leaves.

    One upsert, one commit: this row is what lets failover find an order whose answer was lost.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_INTENT_SQL,
            [instance.pk, order_request["client_order_id"], json.dumps(order_request), node.pk],
        )
        (intent_id,) = cursor.fetchone()
    return BridgeOrderIntent(
        id=intent_id, instance=instance, node=node, client_order_id=order_request["client_order_id"],
        request=order_request,
    )


_ACKNOWLEDGE_INTENT_SQL = sql.SQL(
    "BEGIN; SET LOCAL synchronous_commit TO OFF; "
    "UPDATE bridges_bridgeorderintent SET state = 'acknowledged', broker_order_id = {broker_order_id}, "
    "order_status = {order_status}, last_error = '', updated_at = now() WHERE id = {intent_id}; COMMIT;"
)


def settle_order_intent(
    intent: BridgeOrderIntent, state: str, *, order: dict[str, Any] | None = None, error: str = ""
) -> BridgeOrderIntent:
    """Record the outcome of a send.

    An acknowledgement is committed without waiting for the WAL flush, in one round trip: losing it in a
    database crash only leaves the intent 'sending', which reconciliation resolves by looking the order
    up. Other outcomes are rare and written durably.
    """
    intent.state = state
    if order is not None:
        intent.broker_order_id = order.get("broker_order_id") or ""
        intent.order_status = order["status"]
    intent.last_error = error[:2000]
    if state == IntentState.ACKNOWLEDGED and not connection.in_atomic_block:
        statement = _ACKNOWLEDGE_INTENT_SQL.format(
            broker_order_id=sql.Literal(intent.broker_order_id),
            order_status=sql.Literal(intent.order_status),
            intent_id=sql.Literal(intent.pk),
        )
        with connection.cursor() as cursor:
            cursor.execute(statement.as_string(cursor.connection))
        return intent
    BridgeOrderIntent.objects.filter(pk=intent.pk).update(
        state=state,
        broker_order_id=intent.broker_order_id,
        order_status=intent.order_status,
        last_error=intent.last_error,
        updated_at=timezone.now(),
    )
    return intent


def resend_window() -> timedelta:
    return timedelta(seconds=float(_setting("BRIDGES_RESEND_MAX_AGE_SECONDS", 60.0)))


def reconcile_in_flight_orders(instance: BridgeInstance) -> dict[str, list[str]]:
    """Settle every order whose outcome is unknown on the instance's (new) terminal, by client order id.

    The terminal is asked first; only an order the broker has never seen is sent again (with the same
    client order id, so even a race with a late original cannot create a second order), and only while it
    is recent (BRIDGES_RESEND_MAX_AGE_SECONDS, default 60 s): an older order the broker never received is
    abandoned instead of executing minutes late — the execution core sees it as not found.
    """
    summary: dict[str, list[str]] = {"found": [], "resent": [], "abandoned": [], "still_unknown": []}
    node = instance.node
    if node is None or instance.status != Status.RUNNING:
        summary["still_unknown"] = [intent.client_order_id for intent in selectors.unsettled_intents(instance)]
        return summary
    client = client_for_node(node)
    oldest_resendable = timezone.now() - resend_window()
    for intent in selectors.unsettled_intents(instance):
        try:
            order = client.find_order(instance.instance_id, intent.client_order_id)
            if order is not None:
                settle_order_intent(intent, IntentState.RECONCILED, order=order)
                summary["found"].append(intent.client_order_id)
                continue
            if intent.created_at < oldest_resendable:
                settle_order_intent(
                    intent, IntentState.FAILED,
                    error=f"not on the broker after failover and older than {resend_window().total_seconds():g}s: not re-sent",
                )
                summary["abandoned"].append(intent.client_order_id)
                continue
            order, _ = client.place_order(instance.instance_id, intent.request)
        except (AgentError, TransportError) as error:
            intent.last_error = str(error)[:2000]
            intent.save(update_fields=["last_error", "updated_at"])
            summary["still_unknown"].append(intent.client_order_id)
            continue
        BridgeOrderIntent.objects.filter(pk=intent.pk).update(node=node, attempts=intent.attempts + 1)
        settle_order_intent(intent, IntentState.RESENT, order=order)
        summary["resent"].append(intent.client_order_id)
    if any(summary.values()):
        record_instance_event(
            instance,
            BridgeInstanceEvent.Kind.RECONCILED,
            to_status=instance.status,
            message=(
                f"in-flight orders on {node.node_id}: {len(summary['found'])} found, "
                f"{len(summary['resent'])} re-sent, {len(summary['abandoned'])} abandoned, "
                f"{len(summary['still_unknown'])} still unknown"
            ),
            details=summary,
        )
    return summary


def pump_instance_events(instance: BridgeInstance, *, wait: float = 0.0) -> list[dict[str, Any]]:
    """Read new events from the instance's stream, advance the cursor, and publish them.

    A changed stream id means the terminal was restarted (sequence numbers restart): the cursor resets
    and in-flight orders are reconciled, since events of the old stream may be gone.
    """
    node = instance.node
    if node is None or instance.status != Status.RUNNING:
        return []
    answer = client_for_node(node).events(instance.instance_id, after=instance.events_cursor, wait=wait)
    if answer["stream_id"] != instance.stream_id:
        instance.stream_id, instance.events_cursor = answer["stream_id"], 0
        instance.save(update_fields=["stream_id", "events_cursor", "updated_at"])
        reconcile_in_flight_orders(instance)
        answer = client_for_node(node).events(instance.instance_id, after=0)
    if answer["gap"]:
        reconcile_in_flight_orders(instance)
    events = answer["events"]
    for event in events:
        if event["type"] == "order_update":
            order = event["order"]
            BridgeOrderIntent.objects.filter(instance=instance, client_order_id=order["client_order_id"]).update(
                order_status=order["status"], broker_order_id=order.get("broker_order_id") or "", updated_at=timezone.now()
            )
        bridge_event_received.send(sender=BridgeInstance, instance=instance, event=event)
    if events:
        instance.events_cursor = events[-1]["seq"]
        instance.save(update_fields=["events_cursor", "updated_at"])
    return events


def pump_all_events() -> int:
    count = 0
    for instance in BridgeInstance.objects.filter(status=Status.RUNNING).select_related("node"):
        try:
            count += len(pump_instance_events(instance))
        except (AgentError, TransportError) as error:
            log.warning("events of %s unavailable: %s", instance.instance_id, error)
    return count


def rotate_encryption() -> int:
    """Re-encrypt node secrets and terminal credentials under the current first CREDENTIALS_KEYS key."""
    count = 0
    with transaction.atomic():
        for node in BridgeNode.objects.select_for_update():
            node.secret_encrypted = reencrypt(node.secret_encrypted)
            node.save(update_fields=["secret_encrypted", "updated_at"])
            count += 1
        for instance in BridgeInstance.objects.select_for_update():
            instance.credentials_encrypted = reencrypt(instance.credentials_encrypted)
            instance.save(update_fields=["credentials_encrypted", "updated_at"])
            count += 1
    return count


# -- broker accounts (tenant side) ---------------------------------------------------------------------
def ensure_instance_for_account(account: Any) -> BridgeInstance:
    """Start, or update and keep running, the bridge terminal of a `BrokerAccount` of kind BRIDGE.

    Call inside the account's tenant schema. Account settings used: `bridge_backend` (default "mt5"),
    `bridge_region`, `bridge_options`; credentials: `login`, `password`, `server` (+ backend extras).
    """
    from brokers.credentials import decrypt_credentials

    account_settings = account.settings or {}
    return request_instance(
        tenant_schema=connection.schema_name,
        account_id=str(account.pk),
        backend=str(account_settings.get("bridge_backend", "mt5")),
        credentials={key: str(value) for key, value in decrypt_credentials(account.credentials_encrypted).items()},
        preferred_region=str(account_settings.get("bridge_region", "")),
        options=dict(account_settings.get("bridge_options", {})),
    )


def release_instance_for_account(account: Any, *, reason: str = "broker account disabled") -> BridgeInstance | None:
    instance = selectors.instance_for_account(connection.schema_name, str(account.pk))
    return stop_instance(instance, reason=reason) if instance is not None else None


def broker_for_account(account: Any, *, guards: list[Any] | None = None) -> Any:
    """The BrokerService of a BRIDGE `BrokerAccount` (what brokers.services.get_broker_service should return).

    Account settings used: `venue` (symbol venue of positions, default "FX"), `symbol_map`
    ({"OANDA:XAUUSD": "GOLD"}), `symbol_suffix` (".m" for brokers that suffix symbols).
    """
    from .broker import BridgeBroker

    account_settings = account.settings or {}
    return BridgeBroker(
        tenant_schema=connection.schema_name,
        account_id=str(account.pk),
        venue=str(account_settings.get("venue", "FX")),
        symbol_map=dict(account_settings.get("symbol_map", {})),
        symbol_suffix=str(account_settings.get("symbol_suffix", "")),
        guards=guards,
    )
