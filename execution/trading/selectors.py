"""Reads for the trade screen: accounts, symbols, positions, the outcome of a manual order, alerts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.db.models import QuerySet

from backtests.marketdata.models import MarketSeries
from brokers.core.errors import BrokerError, SymbolError
from brokers.core.symbols import CCXT_IDS, parse_tradingview
from brokers.models import BrokerAccount
from brokers.selectors import broker_accounts_for
from brokers.services import get_broker_service
from execution import selectors as execution_selectors
from execution.models import AccountExecution, AuditEvent, Order, SignalRecord

TABS = ("positions", "orders", "alerts", "deployments")


def trade_accounts(user) -> QuerySet[BrokerAccount]:
    return broker_accounts_for(user).filter(enabled=True).order_by("-is_default", "name")


def selected_account(user, account_id: str | int | None) -> BrokerAccount | None:
    accounts = trade_accounts(user)
    if account_id:
        try:
            chosen = accounts.filter(pk=int(account_id)).first()
        except (TypeError, ValueError):
            chosen = None
        if chosen is not None:
            return chosen
    return accounts.first()


ALPACA_VENUES = {"NASDAQ", "NYSE", "AMEX", "ARCA", "BATS"}
SHIOAJI_VENUES = {"TWSE", "TPEX", "TAIFEX"}


def tradable(symbol: str, account: BrokerAccount | None = None) -> bool:
    """Does the ticker parse, and can `account`'s broker trade that venue? (Paper trades every venue.)"""
    try:
        parsed = parse_tradingview(symbol)
    except SymbolError:
        return False
    if account is None or account.kind == BrokerAccount.Kind.PAPER:
        return True
    if account.kind == BrokerAccount.Kind.CCXT:
        return CCXT_IDS.get(parsed.venue) == account.exchange
    if account.kind == BrokerAccount.Kind.ALPACA:
        return parsed.venue in ALPACA_VENUES
    if account.kind == BrokerAccount.Kind.SHIOAJI:
        return parsed.venue in SHIOAJI_VENUES
    return True


def search_symbols(user, query: str, account: BrokerAccount | None, limit: int = 12) -> list[str]:
    """TradingView tickers the user can trade: their positions/orders first, then stored market series.

    A query with an exchange prefix that is not known yet (e.g. BINANCE:SOLUSDT) is offered as typed when it
    parses, so any ticker the broker lists can be traded without being in the market-data store.
    """
    needle = query.strip().upper()
    seen: dict[str, None] = {}
    recent = Order.objects.filter(owner=user).order_by("-created_at").values_list("symbol", flat=True)[:200]
    for symbol in recent:
        seen.setdefault(symbol.upper(), None)
    for symbol in MarketSeries.objects.order_by("symbol").values_list("symbol", flat=True).distinct():
        seen.setdefault(symbol.upper(), None)
    matches = [s for s in seen if (not needle or needle in s) and tradable(s, account)]
    if needle and ":" in needle and needle not in matches and tradable(needle, account):
        matches.insert(0, needle)
    return matches[:limit]


@dataclass(frozen=True)
class PositionRow:
    symbol: str
    quantity: Decimal
    average_price: Decimal | None
    last_price: Decimal | None
    unrealized_pnl: Decimal | None

    @property
    def side(self) -> str:
        return "long" if self.quantity > 0 else "short"

    @property
    def closing_side(self) -> str:
        return "sell" if self.quantity > 0 else "buy"


@dataclass(frozen=True)
class PositionsView:
    rows: list[PositionRow]
    balances: list
    error: str = ""


def positions(account: BrokerAccount | None) -> PositionsView:
    """Open positions and cash straight from the broker (the broker is the record of what is held)."""
    if account is None:
        return PositionsView([], [])
    try:
        service = get_broker_service(account)
        try:
            rows = []
            for position in service.positions():
                if position.quantity == 0:
                    continue
                last = service.reference_price(position.symbol)
                pnl = position.unrealized_pnl
                if pnl is None and last is not None and position.average_price is not None:
                    multiplier = service.instrument(position.symbol).contract_multiplier
                    pnl = (last - position.average_price) * position.quantity * multiplier
                rows.append(PositionRow(str(position.symbol), position.quantity, position.average_price, last, pnl))
            balances = [b for b in service.balances() if b.total]
        finally:
            service.close()
    except (BrokerError, ValueError) as error:
        return PositionsView([], [], error=f"{account.name} did not answer: {error}")
    return PositionsView(sorted(rows, key=lambda r: r.symbol), balances)


def recent_orders(user, limit: int = 50) -> QuerySet[Order]:
    return execution_selectors.orders_for(user).order_by("-created_at")[:limit]


@dataclass(frozen=True)
class Outcome:
    """Where a manual order stands: pending (still with the core/broker) or final, with the user message."""

    final: bool
    tone: str  # ok | bad | wait
    headline: str
    detail: str = ""
    order: Order | None = None


def manual_order_outcome(user, signal_id: int) -> Outcome | None:
    record = SignalRecord.objects.filter(pk=signal_id, owner=user, source=SignalRecord.Source.MANUAL).first()
    if record is None:
        return None
    if record.status == SignalRecord.Status.REJECTED:
        return Outcome(True, "bad", "Not placed", record.status_reason)
    execution = AccountExecution.objects.filter(signal=record).first()
    order = Order.objects.filter(execution__signal=record).order_by("id").first()
    if order is not None:
        return _order_outcome(order)
    if execution is not None and execution.status in (AccountExecution.Status.SKIPPED, AccountExecution.Status.FAILED):
        reason = execution.reason or _last_audit_message(record) or "the order was not placed"
        return Outcome(True, "bad", "Not placed", reason)
    if execution is not None and execution.status == AccountExecution.Status.DONE:
        return Outcome(True, "bad", "Not placed", _last_audit_message(record) or "nothing to do")
    return Outcome(False, "wait", "Sending to the broker…")


def _order_outcome(order: Order) -> Outcome:
    quantity = f"{order.quantity.normalize():f}"
    action = "Bought" if order.side == "buy" else "Sold"
    if order.state == Order.State.FILLED:
        price = f" at {order.average_price.normalize():f}" if order.average_price is not None else ""
        return Outcome(True, "ok", f"{action} {quantity} {order.symbol}{price}", order=order)
    if order.state == Order.State.PARTIALLY_FILLED:
        filled = f"{order.filled_quantity.normalize():f}"
        return Outcome(True, "ok", f"Partially filled: {filled} of {quantity} {order.symbol}",
                       "The rest is working at the broker.", order=order)
    if order.state == Order.State.ACKNOWLEDGED:
        detail = order.last_error or "Working at the broker; it appears under Orders."
        return Outcome(True, "ok", f"Order accepted: {order.side} {quantity} {order.symbol}", detail, order=order)
    if order.state in (Order.State.REJECTED, Order.State.FAILED, Order.State.CANCELLED, Order.State.EXPIRED):
        return Outcome(True, "bad", f"Order {order.get_state_display().lower()}", order.last_error, order=order)
    return Outcome(False, "wait", "Sending to the broker…", order=order)


def _last_audit_message(record: SignalRecord) -> str:
    event = AuditEvent.objects.filter(signal=record, stage__in=["skipped", "failed", "rejected"]).order_by("-id").first()
    return event.message if event else ""


def recent_alerts(user, limit: int = 30) -> list[dict]:
    """Recent webhook alerts with what they did: the orders they produced, or why nothing happened."""
    from webhooks.selectors import alerts_for

    alerts = list(alerts_for(user)[:limit])
    orders: dict[int, list[Order]] = {}
    for order in Order.objects.filter(execution__signal__alert_id__in=[a.pk for a in alerts]).select_related(
        "execution__signal"
    ):
        orders.setdefault(order.execution.signal.alert_id, []).append(order)
    skipped: dict[int, str] = {}
    for alert_id, message in AuditEvent.objects.filter(
        alert_id__in=[a.pk for a in alerts], stage__in=["skipped", "failed", "rejected", "stale", "duplicate"]
    ).values_list("alert_id", "message"):
        skipped.setdefault(alert_id, message)
    rows = []
    for alert in alerts:
        parsed = alert.parsed or {}
        rows.append({
            "alert": alert,
            "summary": _alert_summary(parsed),
            "orders": orders.get(alert.pk, []),
            "note": alert.reason or skipped.get(alert.pk, ""),
        })
    return rows


def _alert_summary(parsed: dict) -> str:
    commands = parsed.get("commands") if isinstance(parsed, dict) else None
    if isinstance(commands, list) and commands:
        parts = []
        for command in commands[:3]:
            if isinstance(command, dict):
                qty = command.get("quantity")
                parts.append(" ".join(str(p) for p in (command.get("action"), qty, command.get("symbol")) if p))
        return "; ".join(parts)
    if isinstance(parsed, dict):
        return " ".join(str(parsed[k]) for k in ("action", "quantity", "ticker", "symbol") if parsed.get(k))
    return ""


def native_deployments(user) -> list | None:
    """Native deployments when that app is installed (None otherwise: the tab links to the execution page)."""
    if not apps.is_installed("execution.native"):
        return None
    deployment = apps.get_model("native", "Deployment")
    return list(deployment.objects.filter(owner=user).select_related("series").order_by("-id")[:50])


def approvals(user) -> QuerySet[SignalRecord]:
    return execution_selectors.signals_awaiting_approval(user)[:20]
