"""Native deployments: a compiled Pine strategy version running bar by bar on one market series, sending its
orders through the execution core to one or more broker accounts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class Deployment(models.Model):
    class Status(models.TextChoices):
        STARTING = "starting"
        RUNNING = "running"
        PAUSED = "paused"
        STOPPED = "stopped"
        FAILED = "failed"

    class Mode(models.TextChoices):
        PAPER = "paper", "Paper"
        LIVE = "live", "Live (real money)"

    class StalePolicy(models.TextChoices):
        SKIP = "skip", "Don't trade stale signals (record and skip them)"
        TRADE = "trade", "Catch up: trade missed signals in order"

    ACTIVE = ("starting", "running", "paused")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    strategy_version = models.ForeignKey("strategies.StrategyVersion", on_delete=models.PROTECT, related_name="+")
    # MarketSeries lives in the public schema and deployments in every tenant schema: Django cannot
    # collect tenant rows when a series is deleted, so the database constraint alone refuses deleting a
    # series that a deployment uses.
    series = models.ForeignKey("marketdata.MarketSeries", on_delete=models.DO_NOTHING, related_name="+")
    timeframe = models.CharField(max_length=8)
    inputs = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=5, choices=Mode.choices, default=Mode.PAPER)
    routes = models.JSONField(default=list, help_text="execution.signals.AccountRoute as JSON, one per account")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STARTING, db_index=True)
    status_reason = models.CharField(max_length=500, blank=True)
    stale_policy = models.CharField(max_length=5, choices=StalePolicy.choices, default=StalePolicy.SKIP)
    max_signal_age_bars = models.PositiveSmallIntegerField(
        default=1, help_text="A signal is stale once more than this many newer bars have closed before it is sent."
    )
    max_orders_per_day = models.PositiveIntegerField(null=True, blank=True)
    max_position = models.DecimalField(max_digits=30, decimal_places=12, null=True, blank=True)
    warmup_bars = models.PositiveIntegerField(default=5000)
    initial_capital = models.FloatField(null=True, blank=True)
    # runner state: the Pine Runner snapshot and our position bookkeeping, persisted after every bar
    state = models.BinaryField(null=True, blank=True)
    # the bars and closed trades up to some bar, which later bars never change: ``state`` is a delta on it (a few KB
    # to write per bar instead of the whole history); rewritten every ~100 bars. Null: ``state`` is whole.
    state_base = models.BinaryField(null=True, blank=True)
    book = models.JSONField(default=dict, blank=True)
    last_bar_time = models.DateTimeField(null=True, blank=True)
    bars_processed = models.PositiveIntegerField(default=0)
    next_sequence = models.PositiveIntegerField(default=1)
    baseline = models.JSONField(default=dict, blank=True, help_text="{account id: position held outside the strategy}")
    strategy_position = models.DecimalField(max_digits=30, decimal_places=12, default=0)
    traded_position = models.DecimalField(max_digits=30, decimal_places=12, default=0)
    net_profit = models.DecimalField(max_digits=30, decimal_places=8, default=0)
    open_profit = models.DecimalField(max_digits=30, decimal_places=8, default=0)
    closed_trades = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["series", "status"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("native:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def account_ids(self) -> list[int]:
        return [int(r["account_id"]) for r in self.routes]


class DeploymentSignal(models.Model):
    """The outbox: the broker commands of one bar, committed together with the runner state of that bar and
    handed to the execution core afterwards (``signal_record_id`` once it is)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DISPATCHED = "dispatched"
        SKIPPED = "skipped"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="signals")
    sequence = models.PositiveIntegerField()
    bar_time = models.DateTimeField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    commands = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    reason = models.CharField(max_length=500, blank=True)
    signal_record_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sequence"]
        constraints = [models.UniqueConstraint(fields=["deployment", "sequence"], name="one_signal_per_sequence")]

    def __str__(self) -> str:
        return f"{self.deployment_id}#{self.sequence} [{self.status}]"


class DeploymentEvent(models.Model):
    """The deployment's log and audit trail: every control action, warm-up, reconciliation, skip, error."""

    class Kind(models.TextChoices):
        CREATED = "created"
        STARTED = "started"
        PAUSED = "paused"
        RESUMED = "resumed"
        STOPPED = "stopped"
        FAILED = "failed"
        SIGNAL = "signal"
        SKIPPED = "skipped"
        ALERT = "alert"
        RECONCILED = "reconciled"
        MISMATCH = "mismatch"
        LIMIT = "limit"
        KILL_SWITCH = "kill_switch"
        CATCH_UP = "catch_up"
        NOTE = "note"
        ERROR = "error"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    message = models.CharField(max_length=500)
    data = models.JSONField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    bar_time = models.DateTimeField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"
