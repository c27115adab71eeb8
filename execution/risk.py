"""User/tenant-wide risk checks run before every order: kill switches, daily loss cap, max open positions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization, User
from fourpass.sql import PUBLIC_SCHEMA, prepared_cursor, table

from .models import Fill, Order, RiskLimits

ZERO = Decimal(0)


def _switches_sql(schema: str) -> str:
    """The user's and the organisation's kill switches, and whether any risk limits apply to the owner: one
    prepared statement per schema (read before every order, so it is on the hot path)."""
    return (
        "SELECT u.kill_switch_engaged, "  # noqa: S608 (identifiers from fourpass.sql.table)
        f"EXISTS (SELECT 1 FROM {table(PUBLIC_SCHEMA, Organization)} AS o "
        "WHERE o.schema_name = %(schema)s AND o.kill_switch_engaged), "
        f"EXISTS (SELECT 1 FROM {table(schema, RiskLimits)} AS r WHERE r.owner_id = %(owner)s OR r.owner_id IS NULL) "
        f"FROM {table(PUBLIC_SCHEMA, User)} AS u WHERE u.id = %(owner)s"
    )


def _switches(owner_id: int) -> tuple[str | None, bool]:
    """(why the owner may not trade at all, or None; whether risk limits apply to the owner)."""
    schema = connection.schema_name
    with prepared_cursor() as cursor:
        cursor.execute(_switches_sql(schema), {"schema": schema, "owner": owner_id}, prepare=True)
        row = cursor.fetchone()
    if row is None:
        return "the owner no longer exists", False
    user_switch, org_switch, has_limits = row
    if user_switch:
        return "kill switch engaged for the user", has_limits
    if org_switch:
        return "kill switch engaged for the organisation", has_limits
    return None, has_limits


def kill_switch_reason(owner_id: int) -> str | None:
    """Read fresh before every order (no caching): engaging the switch must stop the very next order."""
    return _switches(owner_id)[0]


def net_positions(owner_id: int | None = None) -> dict[tuple[int, str], Decimal]:
    """Signed position per (account, symbol) derived from our fills."""
    fills = Fill.objects.select_related("order")
    if owner_id is not None:
        fills = fills.filter(order__owner_id=owner_id)
    positions: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for fill in fills.only("quantity", "order__side", "order__symbol", "order__broker_account_id"):
        sign = 1 if fill.order.side == "buy" else -1
        positions[(fill.order.broker_account_id, fill.order.symbol)] += sign * fill.quantity
    return {key: qty for key, qty in positions.items() if qty != 0}


def realized_pnl_today(owner_id: int | None) -> Decimal:
    """Average-cost realized P&L of today's fills (UTC day), net of fees; positions start flat at 00:00."""
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    fills = Fill.objects.filter(filled_at__gte=start).select_related("order").order_by("filled_at", "id")
    if owner_id is not None:
        fills = fills.filter(order__owner_id=owner_id)
    book: dict[tuple[int, str], tuple[Decimal, Decimal]] = {}
    pnl = ZERO
    for fill in fills:
        key = (fill.order.broker_account_id, fill.order.symbol)
        qty, avg = book.get(key, (ZERO, ZERO))
        signed = fill.quantity if fill.order.side == "buy" else -fill.quantity
        pnl -= fill.fee
        if qty == 0 or (qty > 0) == (signed > 0):
            total = qty + signed
            avg = (avg * abs(qty) + fill.price * abs(signed)) / abs(total)
            book[key] = (total, avg)
            continue
        closed = min(abs(signed), abs(qty))
        pnl += closed * (fill.price - avg) * (1 if qty > 0 else -1)
        remaining = qty + signed
        book[key] = (remaining, avg if (remaining > 0) == (qty > 0) or remaining == 0 else fill.price)
    return pnl


def limits_for(owner_id: int) -> list[RiskLimits]:
    return list(RiskLimits.objects.filter(Q(owner_id=owner_id) | Q(owner__isnull=True)))


def risk_block_reason(owner_id: int, *, account_id: int, symbol: str, opens_position: bool) -> str | None:
    """Why an order must not go out now, or None. Exits are never blocked by the loss cap or position count."""
    reason, has_limits = _switches(owner_id)
    if reason:
        return reason
    if not opens_position or not has_limits:
        return None
    for limits in limits_for(owner_id):
        scope = owner_id if limits.owner_id else None
        if limits.daily_loss_cap is not None:
            pnl = realized_pnl_today(scope)
            if pnl <= -abs(limits.daily_loss_cap):
                return f"daily loss cap reached (realized {pnl.normalize():f}, cap {limits.daily_loss_cap.normalize():f})"
        if limits.max_open_positions is not None:
            open_positions = net_positions(scope)
            if (account_id, symbol) not in open_positions and len(open_positions) >= limits.max_open_positions:
                return f"max open positions reached ({limits.max_open_positions})"
    return None


def today_start() -> dt.datetime:
    return timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)


def orders_today(account_id: int) -> int:
    return Order.objects.filter(broker_account_id=account_id, created_at__gte=today_start(), reduce_only=False).count()
