"""Web Push when the execution core records a fill or a rejection.

The core writes an ``OrderEvent`` row for every state change (``execution.services.transition``); a
receiver on that row queues the push after the transaction commits, so a rolled-back change never
notifies and the core needs no knowledge of Web Push. Any order path (webhook, native, manual) is covered.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import NoReverseMatch, reverse

from accounts.models import NotificationEvent, PushSubscription
from accounts.push import PushMessage, notify
from execution.models import Order, OrderEvent
from fourpass.sql import PUBLIC_SCHEMA, prepared_cursor, table

logger = logging.getLogger(__name__)

FILL_STATES = frozenset({Order.State.FILLED, Order.State.PARTIALLY_FILLED})
REJECTION_STATES = frozenset({Order.State.REJECTED, Order.State.FAILED})


def _number(value) -> str:
    return f"{value.normalize():f}" if value is not None else "?"


def order_push_message(order: Order, state: str) -> tuple[str, PushMessage] | None:
    """(notification event, message) for an order that reached `state`, or None when nothing is pushed."""
    try:
        url = reverse("trading:orders")
    except NoReverseMatch:
        url = "/"
    tag = f"order-{order.pk}"
    verb = "Bought" if order.side == "buy" else "Sold"
    if state == Order.State.FILLED:
        price = f" at {_number(order.average_price)}" if order.average_price is not None else ""
        return NotificationEvent.ORDER_FILLED, PushMessage(
            "Order filled", f"{verb} {_number(order.filled_quantity)} {order.symbol}{price}", url=url, tag=tag
        )
    if state == Order.State.PARTIALLY_FILLED:
        return NotificationEvent.ORDER_FILLED, PushMessage(
            "Order partially filled",
            f"{verb} {_number(order.filled_quantity)} of {_number(order.quantity)} {order.symbol}",
            url=url, tag=tag,
        )
    if state in REJECTION_STATES:
        reason = order.last_error or "no reason given"
        title = "Order rejected" if state == Order.State.REJECTED else "Order failed"
        return NotificationEvent.ORDER_REJECTED, PushMessage(
            title, f"{order.side.capitalize()} {_number(order.quantity)} {order.symbol}: {reason}"[:240],
            url=url, tag=tag,
        )
    return None


def notify_order_state(order_id: int, state: str, owner_id: int | None = None) -> int:
    """Push the outcome of `order_id` reaching `state` to the owner's devices. Returns devices queued.

    With `owner_id` known, an owner without any device costs one query (most users of a fan-out)."""
    if owner_id is not None and not _has_devices(owner_id):
        return 0
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return 0
    built = order_push_message(order, state)
    if built is None:
        return 0
    event, message = built
    return notify(order.owner_id, event, message)


def _has_devices(owner_id: int) -> bool:
    """Asked for every fill: one prepared statement."""
    with prepared_cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table(PUBLIC_SCHEMA, PushSubscription)} "  # noqa: S608
                       "WHERE user_id = %s)", [owner_id], prepare=True)
        return cursor.fetchone()[0]


@receiver(post_save, sender=OrderEvent, dispatch_uid="trading.push_on_order_outcome")
def push_on_order_outcome(sender, instance: OrderEvent, created: bool, **kwargs) -> None:
    if not created or instance.to_state not in FILL_STATES | REJECTION_STATES:
        return
    order_id, state = instance.order_id, instance.to_state
    owner_id = instance.order.owner_id  # the order is in memory when the core records its steps

    def send() -> None:
        try:
            notify_order_state(order_id, state, owner_id)
        except Exception:  # a push is a courtesy; the order record is what counts
            logger.exception("push for order %s (%s) could not be queued", order_id, state)

    transaction.on_commit(send)
