"""Pre-trade guards plugged into ``BrokerService(guards=[...])``."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from brokers.core.calendars import is_open, next_open
from brokers.core.errors import MarketClosed
from brokers.core.models import OrderRequest, OrderResult, OrderStatus


class MarketHoursGuard:
    """Refuse orders outside trading hours with ``MarketClosed`` (the next open in the message), or,
    when the account says ``queue_outside_hours``, answer QUEUED (``queued_until`` = the next open).
    ``session``: 'regular', 'extended' (US pre/post market) or 'night' (TAIFEX).

    The guard keeps queued requests in memory and ``release_due(service)`` submits them once open; a
    caller that outlives the process (the execution core) should persist QUEUED orders itself and call
    ``service.submit_prepared(request)`` at ``queued_until``."""

    def __init__(
        self,
        *,
        session: str = "regular",
        queue_outside_hours: bool = False,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.session = session
        self.queue_outside_hours = queue_outside_hours
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.queued: list[tuple[dt.datetime, OrderRequest]] = []
        self._lock = threading.Lock()

    def __call__(self, request: OrderRequest, service) -> OrderResult | None:
        now = self.clock()
        if is_open(request.symbol, now, self.session):
            return None
        opens = next_open(request.symbol, now, self.session)
        if not self.queue_outside_hours:
            raise MarketClosed(
                f"{request.symbol} is closed ({self.session} session); next open {opens.isoformat()}",
                next_open=opens,
            )
        with self._lock:
            if not any(queued.client_order_id == request.client_order_id for _, queued in self.queued):
                self.queued.append((opens, request))
        return OrderResult(
            client_order_id=request.client_order_id,
            broker_order_id="",
            symbol=request.symbol,
            side=request.side,
            order_type=request.order_type,
            status=OrderStatus.QUEUED,
            quantity=request.quantity,
            price=request.price,
            stop_price=request.stop_price,
            time_in_force=request.time_in_force,
            reduce_only=request.reduce_only,
            reject_reason=f"queued until {opens.isoformat()}",
            created_at=now,
            updated_at=now,
            queued_until=opens,
        )

    def release_due(self, service) -> list[OrderResult]:
        """Submit the queued orders whose market has opened; returns their results."""
        now = self.clock()
        with self._lock:
            due = [(t, r) for t, r in self.queued if t <= now and is_open(r.symbol, now, self.session)]
            self.queued = [(t, r) for t, r in self.queued if (t, r) not in due]
        return [service.submit_prepared(request) for _, request in due]
