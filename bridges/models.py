"""Bridge pool: Windows nodes running the bridge agent, and the terminal instances placed on them.

These live in the public schema (a platform resource shared by all tenants); an instance names its
tenant by schema name and the tenant's broker account id.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class BridgeNode(models.Model):
    class Status(models.TextChoices):
        HEALTHY = "healthy", "Healthy"
        DEGRADED = "degraded", "Degraded"
        DOWN = "down", "Down"
        DRAINING = "draining", "Draining"

    node_id = models.SlugField(max_length=64, unique=True, help_text="Identity used in signed requests.")
    address = models.URLField(max_length=255, help_text="Agent base URL, e.g. https://win-eu-1:8740")
    region = models.CharField(max_length=32, db_index=True)
    capacity = models.PositiveIntegerField(default=8, help_text="Terminal slots on this node.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DOWN, db_index=True)
    secret_encrypted = models.TextField(help_text="Per-node HMAC secret, encrypted at rest.")
    agent_version = models.CharField(max_length=32, blank=True)
    backends = models.JSONField(default=list, blank=True, help_text="Backends the agent reports, e.g. ['mt5'].")
    reported_running = models.PositiveIntegerField(default=0)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    missed_heartbeats = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["region", "node_id"]

    def __str__(self) -> str:
        return f"{self.node_id} ({self.region}, {self.status})"

    @property
    def accepts_new_instances(self) -> bool:
        return self.status in (self.Status.HEALTHY, self.Status.DEGRADED)


class BridgeInstance(models.Model):
    """One terminal for one broker account. The record survives moves between nodes."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        STARTING = "starting", "Starting"
        RUNNING = "running", "Running"
        STOPPING = "stopping", "Stopping"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"

    ACTIVE_STATUSES = (Status.STARTING, Status.RUNNING, Status.STOPPING)

    instance_id = models.SlugField(max_length=64, unique=True, help_text="Identity used in the protocol.")
    tenant_schema = models.CharField(max_length=63, db_index=True)
    account_id = models.CharField(max_length=64, help_text="The tenant's broker account id.")
    backend = models.CharField(max_length=32, help_text="Agent backend: mt5, dll, sim.")
    preferred_region = models.CharField(max_length=32, blank=True)
    node = models.ForeignKey(
        BridgeNode, null=True, blank=True, on_delete=models.SET_NULL, related_name="instances"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    should_run = models.BooleanField(default=True, help_text="Desired state: the monitor keeps it running.")
    credentials_encrypted = models.TextField(help_text="Terminal login, encrypted; sent only in start requests.")
    options = models.JSONField(default=dict, blank=True)
    restart_count = models.PositiveIntegerField(default=0)
    next_restart_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    stream_id = models.CharField(max_length=64, blank=True)
    events_cursor = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant_schema", "account_id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_schema", "account_id"], name="bridge_instance_one_per_account"),
            models.CheckConstraint(
                condition=~Q(status="running") | Q(node__isnull=False), name="bridge_instance_running_has_node"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instance_id} [{self.tenant_schema}/{self.account_id}] {self.status}"


class BridgeInstanceEvent(models.Model):
    """Append-only history of every lifecycle change and placement decision of an instance."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status change"
        ASSIGNED = "assigned", "Assigned to node"
        REASSIGNED = "reassigned", "Moved to another node"
        RECONCILED = "reconciled", "Orders reconciled"
        ERROR = "error", "Error"

    instance = models.ForeignKey(BridgeInstance, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    node = models.ForeignKey(BridgeNode, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.instance_id} {self.kind} {self.from_status}->{self.to_status}"


class BridgeOrderIntent(models.Model):
    """The bridge leg of an order: recorded before it is sent, so a node lost mid-request leaves a trace
    that failover reconciles by client order id (look up first, re-send only if the broker never saw it)."""

    class State(models.TextChoices):
        SENDING = "sending", "Sending"
        ACKNOWLEDGED = "acknowledged", "Acknowledged by terminal"
        UNKNOWN = "unknown", "Outcome unknown"
        RECONCILED = "reconciled", "Found on broker after failover"
        RESENT = "resent", "Re-sent after failover"
        FAILED = "failed", "Refused before reaching the broker"

    UNSETTLED_STATES = (State.SENDING, State.UNKNOWN)

    instance = models.ForeignKey(BridgeInstance, on_delete=models.CASCADE, related_name="order_intents")
    client_order_id = models.CharField(max_length=64)
    request = models.JSONField(help_text="The protocol order_place_request body.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.SENDING, db_index=True)
    node = models.ForeignKey(BridgeNode, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    broker_order_id = models.CharField(max_length=64, blank=True)
    order_status = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "client_order_id"], name="bridge_intent_unique_client_id"),
        ]

    def __str__(self) -> str:
        return f"{self.client_order_id} {self.state}"
