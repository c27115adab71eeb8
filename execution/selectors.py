"""Reads of the execution records, scoped like the rest of the tenant (retail: own rows only)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from accounts.models import Organization

from .models import Fill, Order, SignalRecord

ZERO = Decimal(0)


def _is_retail() -> bool:
    return Organization.objects.filter(schema_name=connection.schema_name, kind=Organization.Kind.RETAIL).exists()


def orders_for(user) -> QuerySet[Order]:
    orders = Order.objects.all()
    return orders.filter(owner=user) if _is_retail() else orders


def signals_awaiting_approval(user) -> QuerySet[SignalRecord]:
    signals = SignalRecord.objects.filter(status=SignalRecord.Status.AWAITING_APPROVAL)
    return signals.filter(owner=user) if _is_retail() else signals


def signal_for(user, pk: int) -> SignalRecord:
    signals = SignalRecord.objects.all()
    if _is_retail():
        signals = signals.filter(owner=user)
    return signals.get(pk=pk)


def fills_for(user) -> QuerySet[Fill]:
    fills = Fill.objects.select_related("order")
    return fills.filter(order__owner=user) if _is_retail() else fills


def client_report(user) -> list[dict]:
    """Per account (an asset manager's client): signals, orders, fills, volume, fees, realized P&L (average cost)."""
    rows: dict[int, dict] = defaultdict(lambda: {"signals": set(), "orders": 0, "filled_orders": 0, "fills": 0,
                                                 "volume": ZERO, "fees": ZERO, "realized_pnl": ZERO})
    for order in orders_for(user).only("broker_account_id", "state", "execution_id").select_related("execution"):
        row = rows[order.broker_account_id]
        row["orders"] += 1
        row["filled_orders"] += order.state == Order.State.FILLED
        if order.execution_id:
            row["signals"].add(order.execution.signal_id)
    book: dict[tuple[int, str], tuple[Decimal, Decimal]] = {}
    for fill in fills_for(user).order_by("filled_at", "id"):
        account = fill.order.broker_account_id
        row = rows[account]
        row["fills"] += 1
        row["volume"] += fill.price * fill.quantity
        row["fees"] += fill.fee
        key = (account, fill.order.symbol)
        qty, avg = book.get(key, (ZERO, ZERO))
        signed = fill.quantity if fill.order.side == "buy" else -fill.quantity
        if qty == 0 or (qty > 0) == (signed > 0):
            total = qty + signed
            book[key] = (total, (avg * abs(qty) + fill.price * abs(signed)) / abs(total))
        else:
            closed = min(abs(qty), abs(signed))
            row["realized_pnl"] += closed * (fill.price - avg) * (1 if qty > 0 else -1)
            remaining = qty + signed
            book[key] = (remaining, avg if remaining == 0 or (remaining > 0) == (qty > 0) else fill.price)
    report = []
    for account, row in sorted(rows.items()):
        open_positions = {sym: q for (acc, sym), (q, _a) in book.items() if acc == account and q != 0}
        report.append({"account_id": account, **row, "signals": len(row["signals"]),
                       "net_pnl": row["realized_pnl"] - row["fees"], "open_positions": open_positions})
    return report
