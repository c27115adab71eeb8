"""Execution records: signals, per-account jobs, orders with their full state history, fills, audit."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SignalRecord(models.Model):
    """One normalized Signal as handed to the execution core (webhook, native runner or manual)."""

    class Source(models.TextChoices):
        WEBHOOK = "webhook"
        NATIVE = "native"
        MANUAL = "manual"

    class Status(models.TextChoices):
        RECEIVED = "received"
        AWAITING_APPROVAL = "awaiting_approval"
        DISPATCHED = "dispatched"
        DONE = "done"
        REJECTED = "rejected"  # not executed (approval declined/expired, kill switch...)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices)
    idempotency_key = models.CharField(max_length=200, unique=True)
    binding_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    deployment_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    alert_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    payload = models.JSONField()  # Signal.to_json()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    status_reason = models.CharField(max_length=300, blank=True)
    approval_expires_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source} signal {self.idempotency_key}"


class AccountExecution(models.Model):
    """The job of carrying out one signal on one broker account."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SKIPPED = "skipped"  # filtered out; `reason` says why
        DONE = "done"
        FAILED = "failed"

    signal = models.ForeignKey(SignalRecord, on_delete=models.CASCADE, related_name="executions")
    broker_account_id = models.BigIntegerField(db_index=True)
    route = models.JSONField()  # AccountRoute as JSON
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    allocation_share = models.DecimalField(max_digits=20, decimal_places=12, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["signal", "broker_account_id"], name="one_execution_per_signal_account")
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"signal {self.signal_id} on account {self.broker_account_id} [{self.status}]"



class Order(models.Model):
    class State(models.TextChoices):
        NEW = "new"
        SUBMITTED = "submitted"
        ACKNOWLEDGED = "acknowledged"
        PARTIALLY_FILLED = "partially_filled"
        FILLED = "filled"
        REJECTED = "rejected"
        CANCELLED = "cancelled"
        EXPIRED = "expired"
        FAILED = "failed"

    TERMINAL = frozenset({"filled", "rejected", "cancelled", "expired", "failed"})
    TRANSITIONS: dict[str, frozenset[str]] = {
        "new": frozenset({"submitted", "rejected", "failed", "cancelled"}),
        "submitted": frozenset(
            {"acknowledged", "partially_filled", "filled", "rejected", "cancelled", "expired", "failed"}
        ),
        "acknowledged": frozenset({"partially_filled", "filled", "cancelled", "expired", "rejected"}),
        "partially_filled": frozenset({"partially_filled", "filled", "cancelled", "expired"}),
    }

    execution = models.ForeignKey(
        AccountExecution, null=True, blank=True, on_delete=models.CASCADE, related_name="orders"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    broker_account_id = models.BigIntegerField(db_index=True)
    command_index = models.PositiveSmallIntegerField(default=0)
    client_order_id = models.CharField(max_length=64, unique=True)
    broker_order_id = models.CharField(max_length=100, blank=True)
    symbol = models.CharField(max_length=60)
    side = models.CharField(max_length=4)
    order_type = models.CharField(max_length=12)
    quantity = models.DecimalField(max_digits=30, decimal_places=12)
    limit_price = models.DecimalField(max_digits=30, decimal_places=12, null=True, blank=True)
    stop_price = models.DecimalField(max_digits=30, decimal_places=12, null=True, blank=True)
    reduce_only = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.NEW, db_index=True)
    filled_quantity = models.DecimalField(max_digits=30, decimal_places=12, default=0)
    average_price = models.DecimalField(max_digits=30, decimal_places=12, null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} [{self.state}]"

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL


class OrderEvent(models.Model):
    """Every state change of an order, with what the broker said."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    message = models.CharField(max_length=500, blank=True)
    broker_response = models.JSONField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.from_state or '-'} -> {self.to_state}"



class Fill(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    fill_id = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=30, decimal_places=12)
    quantity = models.DecimalField(max_digits=30, decimal_places=12)
    fee = models.DecimalField(max_digits=30, decimal_places=12, default=0)
    fee_currency = models.CharField(max_length=16, blank=True)
    filled_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "fill_id"], name="one_fill_per_broker_fill")]
        ordering = ["filled_at", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} @ {self.price}"



class AuditEvent(models.Model):
    """The audit trail of a signal, per account: received, validated, sized/filtered, submitted, ..."""

    class Stage(models.TextChoices):
        RECEIVED = "received"
        VALIDATED = "validated"
        DUPLICATE = "duplicate"
        STALE = "stale"
        AWAITING_APPROVAL = "awaiting_approval"
        APPROVED = "approved"
        DECLINED = "declined"
        DISPATCHED = "dispatched"
        SIZED = "sized"
        SKIPPED = "skipped"
        DRIFT = "drift"
        SUBMITTED = "submitted"
        ACKNOWLEDGED = "acknowledged"
        PARTIALLY_FILLED = "partially_filled"
        FILLED = "filled"
        REJECTED = "rejected"
        CANCELLED = "cancelled"
        EXPIRED = "expired"
        FAILED = "failed"
        RETRY = "retry"

    signal = models.ForeignKey(SignalRecord, null=True, blank=True, on_delete=models.CASCADE, related_name="audit")
    alert_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    broker_account_id = models.BigIntegerField(null=True, blank=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.stage}: {self.message}"



class RiskLimits(models.Model):
    """Risk across all of an owner's accounts (owner=None: the whole tenant)."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    daily_loss_cap = models.DecimalField(max_digits=30, decimal_places=12, null=True, blank=True)
    max_open_positions = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"risk limits of {self.owner or 'the organisation'}"

