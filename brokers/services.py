"""Broker accounts: creation with plan limits and credential validation, encryption at rest, key
rotation, and ``get_broker_service(account)``, the one way other apps obtain a ``BrokerService``."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import PlanLimitExceeded, check_live_trading_allowed, check_plan_limit
from brokers.core.base import BrokerService, OrderGuard
from brokers.core.daytrade import DayTradeGuard, DayTradePolicy
from brokers.core.errors import BrokerError
from brokers.core.guards import MarketHoursGuard
from brokers.core.models import Balance
from brokers.core.symbols import MarketType

from .credentials import decrypt_credentials, encrypt_credentials, last4, redacted, rotate_token
from .models import BrokerAccount, PaperAccountState
from .paper_store import DbPaperBroker, initial_state

logger = logging.getLogger(__name__)

REQUIRED_CREDENTIALS = {
    BrokerAccount.Kind.CCXT: ("api_key", "secret"),
    BrokerAccount.Kind.ALPACA: ("api_key", "secret"),
    BrokerAccount.Kind.SHIOAJI: ("api_key", "secret"),
    BrokerAccount.Kind.PAPER: (),
    BrokerAccount.Kind.BRIDGE: ("login", "password", "server"),
}
DEFAULT_PAPER_NAME = "Paper"


class BrokerNotSupported(ValidationError):
    pass


# ---------------------------------------------------------------------------------- factory


def _guards(account: BrokerAccount) -> list[OrderGuard]:
    options = account.settings or {}
    guards: list[OrderGuard] = []
    if options.get("enforce_market_hours", True):  # paper too: it should behave like the real market
        guards.append(
            MarketHoursGuard(
                session=options.get("session", "regular"), queue_outside_hours=account.queue_outside_hours
            )
        )
    if account.kind == BrokerAccount.Kind.ALPACA:
        guards.append(DayTradeGuard(DayTradePolicy(options.get("day_trade_policy", DayTradePolicy.BROKER_REPORTED))))
    return guards


def _local_base_url(options: dict) -> str | None:
    """``settings['api_base_url']`` redirects an adapter to a local endpoint (fake exchange, proxy on
    this host). Only loopback addresses are honoured so account settings can never aim the server at
    another machine."""
    url = options.get("api_base_url")
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise BrokerError(f"api_base_url must point at this host, not {host!r}")
    return url


def get_broker_service(account: BrokerAccount, *, credentials: dict[str, str] | None = None) -> BrokerService:
    """The adapter for ``account``, with its pre-trade guards (market hours, day-trading rule).

    ``credentials`` overrides the stored ones (used to validate keys before saving them).
    """
    if not account.enabled and account.pk is not None:
        raise BrokerError(f"broker account '{account.name}' is disabled")
    creds = redacted(credentials if credentials is not None else decrypt_credentials(account.credentials_encrypted))
    options = account.settings or {}
    guards = _guards(account)
    if account.kind == BrokerAccount.Kind.PAPER:
        return DbPaperBroker(account, guards=guards)
    if account.kind == BrokerAccount.Kind.CCXT:
        from brokers.core.ccxt_adapter import CcxtBroker

        return CcxtBroker(
            account.exchange,
            api_key=creds.get("api_key", ""),
            secret=creds.get("secret", ""),
            password=creds.get("passphrase") or None,
            market_type=MarketType(account.market_type),
            sandbox=bool(options.get("sandbox", not account.is_live)),
            api_base_url=_local_base_url(options),
            guards=guards,
        )
    if account.kind == BrokerAccount.Kind.ALPACA:
        from brokers.core.alpaca_adapter import AlpacaBroker

        return AlpacaBroker(
            api_key=creds.get("api_key", ""),
            secret=creds.get("secret", ""),
            paper=not account.is_live,
            url_override=_local_base_url(options),
            allow_fractional=bool(options.get("allow_fractional", False)),
            guards=guards,
        )
    if account.kind == BrokerAccount.Kind.SHIOAJI:
        from brokers.core.shioaji_adapter import ShioajiBroker, ShioajiGateway

        gateway = ShioajiGateway(
            creds.get("api_key", ""),
            creds.get("secret", ""),
            simulation=not account.is_live,
            ca_path=creds.get("ca_path") or None,
            ca_password=creds.get("ca_password") or None,
            person_id=creds.get("person_id") or None,
        )
        return ShioajiBroker(gateway, guards=guards)
    if account.kind == BrokerAccount.Kind.BRIDGE:
        from bridges.services import broker_for_account

        return broker_for_account(account, guards=guards)
    raise BrokerNotSupported(f"{account.get_kind_display()} accounts are not supported")


# ---------------------------------------------------------------------------------- accounts


def _current_organization() -> Organization | None:
    tenant = getattr(connection, "tenant", None)
    return tenant if isinstance(tenant, Organization) else None


def _check_fields(owner: User, kind: str, exchange: str, market_type: str, is_live: bool) -> None:
    errors: dict[str, str] = {}
    if kind == BrokerAccount.Kind.CCXT and exchange not in ("binance", "gate", "bybit", "okx"):
        errors["exchange"] = "Choose the exchange (Binance, Gate.io, Bybit or OKX)."
    if kind == BrokerAccount.Kind.CCXT and market_type not in (MarketType.SPOT, MarketType.PERP):
        errors["market_type"] = "Crypto accounts trade spot or perpetual futures."
    if kind == BrokerAccount.Kind.ALPACA and market_type != MarketType.STOCK:
        errors["market_type"] = "Alpaca accounts trade US stocks."
    if kind == BrokerAccount.Kind.SHIOAJI and market_type not in (MarketType.STOCK, MarketType.FUTURE):
        errors["market_type"] = "Shioaji accounts trade Taiwan stocks or TAIFEX futures."
    if is_live and kind == BrokerAccount.Kind.PAPER:
        errors["is_live"] = "A paper account cannot be live."
    if is_live:
        try:
            check_live_trading_allowed(owner, _current_organization())
        except PlanLimitExceeded as error:
            errors["is_live"] = f"{error.plan.name} plan does not include live trading; upgrade to trade real money."
    if errors:
        raise ValidationError(errors)


def _clean_credentials(kind: str, credentials: dict[str, str] | None) -> dict[str, str]:
    cleaned = {k: v.strip() for k, v in (credentials or {}).items() if isinstance(v, str) and v.strip()}
    missing = [f for f in REQUIRED_CREDENTIALS.get(kind, ()) if f not in cleaned]
    if missing:
        raise ValidationError({name: "Required." for name in missing})
    return cleaned


def validate_credentials(account: BrokerAccount, credentials: dict[str, str]) -> list[Balance]:
    """A harmless authenticated call (balances). Raises ValidationError with the broker's reason."""
    try:
        return get_broker_service(account, credentials=credentials).validate_credentials()
    except BrokerError as error:
        # the error text comes from the broker; it never contains our secrets
        raise ValidationError({"__all__": f"The broker refused these credentials: {error}"}) from error


def create_broker_account(
    owner: User,
    *,
    name: str,
    kind: str,
    exchange: str = "",
    market_type: str = MarketType.SPOT,
    is_live: bool = False,
    credentials: dict[str, str] | None = None,
    settings: dict | None = None,
    queue_outside_hours: bool = False,
    validate: bool = True,
) -> BrokerAccount:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the account a name."})
    count = BrokerAccount.objects.filter(owner_id=owner.pk).count()
    try:
        check_plan_limit(owner, "max_broker_accounts", count + 1, _current_organization())
    except PlanLimitExceeded as error:
        raise ValidationError({"__all__": str(error)}) from error
    _check_fields(owner, kind, exchange, market_type, is_live)
    cleaned = _clean_credentials(kind, credentials)
    account = BrokerAccount(
        owner=owner,
        name=name,
        kind=kind,
        exchange=exchange if kind == BrokerAccount.Kind.CCXT else "",
        market_type=market_type,
        is_live=is_live,
        settings=settings or {},
        queue_outside_hours=queue_outside_hours,
    )
    # A bridge terminal logs in when its instance starts on a node; there is nothing to call before that.
    if cleaned and validate and kind != BrokerAccount.Kind.BRIDGE:
        validate_credentials(account, cleaned)
        account.validated_at = timezone.now()
    account.credentials_encrypted = encrypt_credentials(cleaned) if cleaned else ""
    account.credentials_last4 = last4(cleaned)
    try:
        with transaction.atomic():
            account.save()
            if kind == BrokerAccount.Kind.PAPER:
                cash = (settings or {}).get("initial_cash")
                PaperAccountState.objects.create(account=account, state=initial_state(cash))
    except IntegrityError:
        raise ValidationError({"name": f"You already have a broker account named '{name}'."}) from None
    if kind == BrokerAccount.Kind.BRIDGE:
        from bridges.services import ensure_instance_for_account

        ensure_instance_for_account(account)  # the pool schedules its terminal on a node
    return account


def update_broker_account(
    account: BrokerAccount,
    *,
    name: str | None = None,
    credentials: dict[str, str] | None = None,
    settings: dict | None = None,
    queue_outside_hours: bool | None = None,
    is_live: bool | None = None,
    validate: bool = True,
) -> BrokerAccount:
    """Change an account. Blank credential fields keep the stored values (they are never shown again)."""
    if name is not None and name.strip():
        account.name = name.strip()
    if settings is not None:
        account.settings = settings
    if queue_outside_hours is not None:
        account.queue_outside_hours = queue_outside_hours
    if is_live is not None and is_live != account.is_live:
        _check_fields(account.owner, account.kind, account.exchange, account.market_type, is_live)
        account.is_live = is_live
    new_values = {k: v.strip() for k, v in (credentials or {}).items() if isinstance(v, str) and v.strip()}
    if new_values:
        merged = decrypt_credentials(account.credentials_encrypted) | new_values
        merged = _clean_credentials(account.kind, merged)
        if validate:
            validate_credentials(account, merged)
            account.validated_at = timezone.now()
        account.credentials_encrypted = encrypt_credentials(merged)
        account.credentials_last4 = last4(merged)
        account.last_error = ""
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        raise ValidationError({"name": f"You already have a broker account named '{account.name}'."}) from None
    return account


def test_broker_account(account: BrokerAccount) -> list[Balance]:
    """Check the stored credentials with a harmless call; records the outcome on the account."""
    try:
        balances = get_broker_service(account).validate_credentials()
    except BrokerError as error:
        account.last_error = str(error)[:2000]
        account.save(update_fields=["last_error", "updated_at"])
        raise
    account.validated_at = timezone.now()
    account.last_error = ""
    account.save(update_fields=["validated_at", "last_error", "updated_at"])
    return balances


test_broker_account.__test__ = False  # not a pytest test despite the name


def set_enabled(account: BrokerAccount, enabled: bool) -> BrokerAccount:
    account.enabled = enabled
    account.save(update_fields=["enabled", "updated_at"])
    if account.kind == BrokerAccount.Kind.BRIDGE:
        from bridges.services import ensure_instance_for_account, release_instance_for_account

        if enabled:
            ensure_instance_for_account(account)
        else:
            release_instance_for_account(account)
    return account


def ensure_default_paper_account(user: User) -> BrokerAccount:
    """Every user has a paper account (the default broker). Call inside the user's tenant schema."""
    existing = BrokerAccount.objects.filter(owner_id=user.pk, kind=BrokerAccount.Kind.PAPER, is_default=True).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        account, created = BrokerAccount.objects.get_or_create(
            owner_id=user.pk,
            name=DEFAULT_PAPER_NAME,
            defaults={"kind": BrokerAccount.Kind.PAPER, "market_type": MarketType.SPOT, "is_default": True},
        )
        if created:
            PaperAccountState.objects.create(account=account, state=initial_state())
    return account


def rotate_credentials_key() -> int:
    """Re-encrypt every stored credential of the current schema under the first CREDENTIALS_KEYS key."""
    count = 0
    for account in BrokerAccount.objects.exclude(credentials_encrypted="").only("pk", "credentials_encrypted"):
        rotated = rotate_token(account.credentials_encrypted)
        if rotated != account.credentials_encrypted:
            BrokerAccount.objects.filter(pk=account.pk).update(credentials_encrypted=rotated)
            count += 1
    return count


def paper_cash(account: BrokerAccount) -> dict[str, Decimal]:
    state = PaperAccountState.objects.filter(account=account).values_list("state", flat=True).first() or {}
    return {k: Decimal(v) for k, v in (state.get("cash") or {}).items()}


# ---------------------------------------------------------------------------------- paper matching

_TIMEFRAME_MINUTES = {"D": 1440, "W": 10080, "M": 43200}


def _timeframe_minutes(timeframe: str) -> int:
    if timeframe.isdigit():
        return int(timeframe)
    number, unit = timeframe[:-1] or "1", timeframe[-1].upper()
    return int(number) * _TIMEFRAME_MINUTES.get(unit, 10**9)


def match_resting_paper_orders(*, max_bars: int = 1000) -> int:
    """Replay newly stored bars through every paper account of the current schema that has resting
    orders, so limit and stop orders fill when the market crosses them. Uses the finest stored
    timeframe of each symbol and only bars that opened after the order was placed (or after the last
    bar already matched). Returns the number of orders that changed."""
    from backtests.marketdata.models import MarketSeries, OHLCVBar
    from brokers.core.paper import Bar as PaperBar

    from .models import PaperOrder
    from .paper_store import OPEN_STATUSES

    changed = 0
    accounts = BrokerAccount.objects.filter(
        kind=BrokerAccount.Kind.PAPER, enabled=True, paper_orders__status__in=OPEN_STATUSES
    ).distinct()
    for account in accounts:
        broker = DbPaperBroker(account)
        state_row = PaperAccountState.objects.get(account=account)
        cursors = dict(state_row.bar_cursors or {})
        open_orders = PaperOrder.objects.filter(account=account, status__in=OPEN_STATUSES)
        oldest: dict[str, dt.datetime] = {}
        for symbol, created in open_orders.values_list("symbol", "created_at"):
            oldest[symbol] = min(created, oldest.get(symbol, created))
        for symbol, since in oldest.items():
            series = sorted(MarketSeries.objects.filter(symbol=symbol), key=lambda s: _timeframe_minutes(s.timeframe))
            if not series:
                continue
            bars = OHLCVBar.objects.filter(series=series[0]).order_by("time")
            cursor = cursors.get(symbol)
            if cursor:
                bars = bars.filter(time__gt=dt.datetime.fromisoformat(cursor))
            bars = bars.filter(time__gte=since)[:max_bars]
            for bar in bars:
                price = PaperBar(
                    Decimal(str(bar.open)), Decimal(str(bar.high)), Decimal(str(bar.low)), Decimal(str(bar.close)),
                    Decimal(str(bar.volume)), bar.time,
                )
                changed += len(broker.process_bar(symbol, price))
                cursors[symbol] = bar.time.isoformat()
        PaperAccountState.objects.filter(pk=state_row.pk).update(bar_cursors=cursors)
    return changed
