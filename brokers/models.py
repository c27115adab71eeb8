from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse


class BrokerAccount(models.Model):
    """A user's trading account at a broker (or the built-in paper broker).

    Credentials are stored only as a Fernet token (``credentials_encrypted``); the UI shows
    ``credentials_last4`` and never sends a saved secret back to the browser.
    """

    class Kind(models.TextChoices):
        PAPER = "paper", "Paper (simulated)"
        CCXT = "ccxt", "Crypto exchange (ccxt)"
        SHIOAJI = "shioaji", "Sinopac Shioaji (Taiwan)"
        ALPACA = "alpaca", "Alpaca (US stocks)"
        BRIDGE = "bridge", "Windows bridge"

    class Exchange(models.TextChoices):
        NONE = "", "—"
        BINANCE = "binance", "Binance"
        GATE = "gate", "Gate.io"
        BYBIT = "bybit", "Bybit"
        OKX = "okx", "OKX"

    class MarketType(models.TextChoices):
        SPOT = "spot", "Spot"
        PERP = "perp", "Perpetual futures"
        FUTURE = "future", "Futures"
        STOCK = "stock", "Stocks"
        FOREX = "forex", "Forex"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PAPER)
    exchange = models.CharField(max_length=16, choices=Exchange.choices, blank=True, default="")
    market_type = models.CharField(max_length=8, choices=MarketType.choices, default=MarketType.SPOT)
    is_live = models.BooleanField(default=False, help_text="Real money. Off: paper, testnet or simulation.")
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    queue_outside_hours = models.BooleanField(
        default=False, help_text="Hold orders sent while the market is closed and submit them at the open."
    )
    settings = models.JSONField(default=dict, blank=True)
    credentials_encrypted = models.TextField(blank=True, default="")
    credentials_last4 = models.CharField(max_length=4, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    validated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_broker_account_name_per_owner")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("brokers:edit", args=[self.pk])

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)


class PaperAccountState(models.Model):
    """Cash and positions of a paper account (``brokers.core.paper.PaperState.to_dict``)."""

    account = models.OneToOneField(BrokerAccount, on_delete=models.CASCADE, related_name="paper_state")
    state = models.JSONField(default=dict)
    # symbol -> open time (ISO) of the last stored bar matched against resting orders
    bar_cursors = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"paper state of {self.account}"


class PaperOrder(models.Model):
    """An order of a paper account, with its fills. Unique per (account, client_order_id): a retried
    placement finds the first one."""

    account = models.ForeignKey(BrokerAccount, on_delete=models.CASCADE, related_name="paper_orders")
    client_order_id = models.CharField(max_length=128)
    broker_order_id = models.CharField(max_length=32)
    symbol = models.CharField(max_length=64)
    symbol_data = models.JSONField(default=dict)
    side = models.CharField(max_length=4)
    order_type = models.CharField(max_length=12)
    status = models.CharField(max_length=20, db_index=True)
    time_in_force = models.CharField(max_length=4)
    reduce_only = models.BooleanField(default=False)
    quantity = models.DecimalField(max_digits=28, decimal_places=10)
    filled_quantity = models.DecimalField(max_digits=28, decimal_places=10, default=Decimal(0))
    price = models.DecimalField(max_digits=28, decimal_places=10, null=True, blank=True)
    stop_price = models.DecimalField(max_digits=28, decimal_places=10, null=True, blank=True)
    average_price = models.DecimalField(max_digits=28, decimal_places=10, null=True, blank=True)
    fee = models.DecimalField(max_digits=28, decimal_places=10, default=Decimal(0))
    fills = models.JSONField(default=list, blank=True)
    trigger_state = models.CharField(max_length=20, blank=True, default="")
    reject_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "client_order_id"], name="unique_paper_client_order_id")
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} ({self.status})"
