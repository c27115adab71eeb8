from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django_tenants.models import DomainMixin, TenantMixin


class Plan(models.Model):
    """A subscription plan and the limits that services enforce."""

    class Code(models.TextChoices):
        FREE = "free", "Free"
        PRO = "pro", "Pro"
        ENTERPRISE = "enterprise", "Enterprise"

    code = models.CharField(max_length=20, choices=Code.choices, unique=True)
    name = models.CharField(max_length=50)
    max_accounts_per_binding = models.PositiveIntegerField()
    max_webhook_bindings = models.PositiveIntegerField()
    max_native_deployments = models.PositiveIntegerField()
    max_backtest_bars = models.PositiveIntegerField()
    max_concurrent_backtests = models.PositiveIntegerField()
    max_broker_accounts = models.PositiveIntegerField()
    allows_live_trading = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class Organization(TenantMixin):
    """A tenant: its own PostgreSQL schema. Retail users share the one whose kind is RETAIL."""

    class Kind(models.TextChoices):
        RETAIL = "retail", "Retail (shared)"
        BUSINESS = "business", "Business"
        PLATFORM = "platform", "Platform (public schema)"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=63, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.BUSINESS)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True)
    kill_switch_engaged = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True

    def __str__(self) -> str:
        return self.name


class Domain(DomainMixin):
    pass


class User(AbstractUser):
    """A person. Users live in the public schema; Membership says which tenants they may enter."""

    email = models.EmailField("e-mail address")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True)
    kill_switch_engaged = models.BooleanField(default=False)

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        TRADER = "trader", "Trader"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.TRADER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class PushSubscription(models.Model):
    """A browser's Web Push subscription (one per device) for a user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failure_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user} · {self.endpoint[:40]}…"


class NotificationEvent(models.TextChoices):
    ORDER_FILLED = "order_filled", "Order filled"
    ORDER_REJECTED = "order_rejected", "Order rejected"
    DEPLOYMENT_STOPPED = "deployment_stopped", "Deployment stopped"
    BROKER_DISCONNECTED = "broker_disconnected", "Broker or bridge disconnected"


class NotificationPreference(models.Model):
    """Opt-outs per event type; an event without a row is delivered."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notification_preferences")
    event = models.CharField(max_length=40, choices=NotificationEvent.choices)
    push_enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="unique_notification_preference")]

    def __str__(self) -> str:
        return f"{self.user} {self.event}: {'on' if self.push_enabled else 'off'}"
