"""Webhook bindings (a TradingView alert URL and the accounts it trades) and the alerts received."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

TRADINGVIEW_WEBHOOK_IPS = ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7")


class WebhookBinding(models.Model):
    class DriftPolicy(models.TextChoices):
        WARN = "warn", "Warn and trade the signal"
        SKIP = "skip", "Skip the trade"
        SYNC = "sync", "Trade to the strategy's position"

    class Allocation(models.TextChoices):
        PER_ACCOUNT = "per_account", "Each account sizes on its own"
        EQUITY = "equity", "Split the alert quantity pro-rata by account equity"
        WEIGHTS = "weights", "Split the alert quantity by fixed weights"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=8, help_text="last characters of the token, to recognise it")
    passphrase_hash = models.CharField(max_length=64, blank=True)
    ip_allowlist = models.JSONField(default=list, blank=True)
    max_signal_age_seconds = models.PositiveIntegerField(null=True, blank=True)
    max_exit_signal_age_seconds = models.PositiveIntegerField(null=True, blank=True)
    drift_policy = models.CharField(max_length=5, choices=DriftPolicy.choices, default=DriftPolicy.WARN)
    allocation = models.CharField(max_length=12, choices=Allocation.choices, default=Allocation.PER_ACCOUNT)
    requires_approval = models.BooleanField(default=False)
    approval_timeout_minutes = models.PositiveIntegerField(default=15)
    dedupe_window_seconds = models.PositiveIntegerField(default=60)
    last_drift = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(default=120)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class BindingAccount(models.Model):
    class Sizing(models.TextChoices):
        AS_ALERT = "as_alert", "Quantity in the alert"
        FIXED = "fixed", "Fixed quantity"
        MULTIPLIER = "multiplier", "Multiplier of the alert quantity"
        PERCENT_EQUITY = "percent_equity", "Percent of equity"
        FIXED_CASH = "fixed_cash", "Fixed cash amount"
        RISK = "risk", "Risk % of equity per trade"

    class Direction(models.TextChoices):
        BOTH = "both", "Long and short"
        LONG_ONLY = "long_only", "Long only"
        SHORT_ONLY = "short_only", "Short only"

    binding = models.ForeignKey(WebhookBinding, on_delete=models.CASCADE, related_name="accounts")
    broker_account_id = models.BigIntegerField()
    enabled = models.BooleanField(default=True)
    sizing_mode = models.CharField(max_length=16, choices=Sizing.choices, default=Sizing.AS_ALERT)
    sizing_value = models.DecimalField(max_digits=30, decimal_places=12, default=Decimal(1))
    stop_distance = models.DecimalField(max_digits=30, decimal_places=12, null=True, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.BOTH)
    allowed_symbols = models.JSONField(default=list, blank=True)
    session_weekdays = models.JSONField(default=list, blank=True)  # empty = no session filter
    session_start = models.CharField(max_length=5, default="00:00")
    session_end = models.CharField(max_length=5, default="24:00")
    max_position = models.DecimalField(max_digits=30, decimal_places=12, null=True, blank=True)
    max_orders_per_day = models.PositiveIntegerField(null=True, blank=True)
    ignore_if_in_position = models.BooleanField(default=False)
    default_exchange = models.CharField(max_length=20, blank=True)
    symbol_overrides = models.JSONField(default=dict, blank=True)
    weight = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["binding", "broker_account_id"], name="account_linked_once_per_binding")
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"account {self.broker_account_id} on {self.binding_id}"



class Alert(models.Model):
    class Status(models.TextChoices):
        ACCEPTED = "accepted"  # stored, waiting for the worker
        PROCESSED = "processed"  # turned into a signal and dispatched
        DUPLICATE = "duplicate"
        STALE = "stale"
        REJECTED = "rejected"  # refused at the door (4xx)
        FAILED = "failed"  # could not be turned into a signal

    # indexed through the composite indexes below (binding first), which serve the foreign key as well
    binding = models.ForeignKey(WebhookBinding, on_delete=models.CASCADE, related_name="alerts", db_index=False)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    body = models.TextField()
    content_type = models.CharField(max_length=100, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    http_status = models.PositiveSmallIntegerField(default=200)
    reason = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    body_hash = models.CharField(max_length=64, blank=True)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    parsed = models.JSONField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        # every index is paid for by each alert stored at the door: only those a query uses
        indexes = [
            models.Index(fields=["binding", "status", "received_at"]),  # alert log, per binding
            models.Index(fields=["binding", "idempotency_key"], name="alert_dedupe"),  # duplicates at intake
            models.Index(fields=["status", "received_at"], name="alert_sweep"),  # accepted but never queued
        ]

    def __str__(self) -> str:
        return f"alert {self.pk} [{self.status}]"

