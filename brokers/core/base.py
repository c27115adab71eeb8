"""The broker-neutral interface every adapter implements.

``BrokerService.place_order`` is a template: it rounds the request to the instrument's grid, runs the
pre-trade guards (market hours, day-trading rule), then submits with idempotent retries. After a
failure whose outcome is unknown (timeout, dropped connection, 5xx) it looks the order up by
``client_order_id`` before sending again, so a retried placement never creates a second order.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from brokers.core.errors import BrokerError, BrokerUnavailable, DuplicateOrder, OrderNotFound, RateLimited
from brokers.core.models import (
    AccountInfo,
    Balance,
    Instrument,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderUpdate,
    Position,
)
from brokers.core.precision import normalize_order
from brokers.core.symbols import NormalizedSymbol

logger = logging.getLogger(__name__)

UpdateCallback = Callable[[OrderUpdate], None]


class OrderGuard(Protocol):
    """Pre-trade check. Raise a BrokerError to refuse, return an OrderResult to short-circuit
    (e.g. a QUEUED order held until the open), or None to let the order through."""

    def __call__(self, request: OrderRequest, service: BrokerService) -> OrderResult | None: ...


class BrokerService(ABC):
    broker_name: str = ""
    max_submit_attempts: int = 3
    retry_backoff: float = 0.25  # seconds, doubled per attempt
    max_retry_sleep: float = 5.0

    def __init__(self, *, guards: list[OrderGuard] | None = None) -> None:
        self.guards: list[OrderGuard] = list(guards or [])
        self._updates: list[OrderUpdate] = []
        self._sequence = 0
        self._listeners: list[UpdateCallback] = []
        self._tracked: dict[str, OrderResult] = {}  # client_order_id -> last seen order
        # (status, filled, fill count) last published per order; adapters may mutate results in place
        self._published: dict[str, tuple[OrderStatus, Decimal, int]] = {}
        self._update_lock = threading.RLock()

    # ------------------------------------------------------------------ connection
    def connect(self) -> None:  # noqa: B027 - optional for adapters without a session
        """Open the session (login). Adapters that authenticate per request need nothing here."""

    def validate_credentials(self) -> list[Balance]:
        """A harmless authenticated call; raises AuthenticationFailed on bad keys."""
        self.connect()
        return self.balances()

    def close(self) -> None:  # noqa: B027
        """Release network resources."""

    # ------------------------------------------------------------------ reads
    @abstractmethod
    def instrument(self, symbol: NormalizedSymbol) -> Instrument: ...

    @abstractmethod
    def get_order(
        self,
        *,
        client_order_id: str | None = None,
        broker_order_id: str | None = None,
        symbol: NormalizedSymbol | None = None,
    ) -> OrderResult: ...

    @abstractmethod
    def open_orders(self, symbol: NormalizedSymbol | None = None) -> list[OrderResult]: ...

    @abstractmethod
    def positions(self) -> list[Position]: ...

    @abstractmethod
    def balances(self) -> list[Balance]: ...

    def account_info(self) -> AccountInfo:
        return AccountInfo()

    def reference_price(self, symbol: NormalizedSymbol) -> Decimal | None:
        """Last known price, used for min-notional checks of market orders. None if unknown."""
        return None

    def position_quantity(self, symbol: NormalizedSymbol) -> Decimal:
        return sum((p.quantity for p in self.positions() if p.symbol == symbol), Decimal(0))

    # ------------------------------------------------------------------ writes
    def prepare_order(self, request: OrderRequest) -> OrderRequest:
        instrument = self.instrument(request.symbol)
        position = self.position_quantity(request.symbol) if request.reduce_only else None
        return normalize_order(
            request,
            instrument,
            reference_price=self.reference_price(request.symbol),
            position_quantity=position,
        )

    def place_order(self, request: OrderRequest) -> OrderResult:
        request = self.prepare_order(request)
        for guard in self.guards:
            short_circuit = guard(request, self)
            if short_circuit is not None:
                return self._record(short_circuit)
        return self._record(self._submit_idempotent(request))

    def place_orders(self, requests: list[OrderRequest]) -> list[OrderResult | BrokerError]:
        """Place several orders; each item is the result or the BrokerError that refused that order.
        Adapters with a batch path (the DB paper broker) override this."""
        results: list[OrderResult | BrokerError] = []
        for request in requests:
            try:
                results.append(self.place_order(request))
            except BrokerError as error:
                results.append(error)
        return results

    def submit_prepared(self, request: OrderRequest) -> OrderResult:
        """Submit an already-normalized request without guards (used to release queued orders)."""
        return self._record(self._submit_idempotent(request))

    def cancel_order(
        self,
        *,
        client_order_id: str | None = None,
        broker_order_id: str | None = None,
        symbol: NormalizedSymbol | None = None,
    ) -> OrderResult:
        result = self._cancel(client_order_id=client_order_id, broker_order_id=broker_order_id, symbol=symbol)
        return self._record(result)

    @abstractmethod
    def _send_order(self, request: OrderRequest) -> OrderResult:
        """One attempt at sending the order. Raise BrokerError subclasses on failure."""

    @abstractmethod
    def _cancel(
        self,
        *,
        client_order_id: str | None,
        broker_order_id: str | None,
        symbol: NormalizedSymbol | None,
    ) -> OrderResult: ...

    def _find_existing(self, request: OrderRequest) -> OrderResult | None:
        try:
            return self.get_order(client_order_id=request.client_order_id, symbol=request.symbol)
        except OrderNotFound:
            return None

    def _submit_idempotent(self, request: OrderRequest) -> OrderResult:
        """Send with retries. After a failure whose outcome is unknown the order is looked up by client
        id first; it is sent again only when the broker positively says it does not have it."""
        last_error: BrokerError | None = None
        outcome_unknown = False
        for attempt in range(1, self.max_submit_attempts + 1):
            if attempt > 1:
                self._sleep_before_retry(attempt, last_error)
            if outcome_unknown:
                try:
                    existing = self._find_existing(request)
                except BrokerError as lookup_error:
                    if not lookup_error.retryable:
                        raise
                    last_error = lookup_error
                    continue  # cannot tell whether the first send landed: never send blind
                if existing is not None:
                    logger.info("order %s found after an unknown outcome; not resending", request.client_order_id)
                    return existing
                outcome_unknown = False
            try:
                return self._send_order(request)
            except DuplicateOrder:
                existing = self._find_existing(request)
                if existing is None:
                    raise
                return existing
            except BrokerError as error:
                if not error.retryable:
                    raise
                last_error = error
                # a rate limit is a refusal; anything else (timeout, 5xx, dropped link) may have landed
                outcome_unknown = outcome_unknown or not isinstance(error, RateLimited)
                logger.warning(
                    "order %s attempt %d failed (%s); retrying", request.client_order_id, attempt, type(error).__name__
                )
        if outcome_unknown:
            raise BrokerUnavailable(
                f"order {request.client_order_id}: the broker did not confirm it and it could not be looked up; "
                "it may exist - reconcile with get_order before sending it again",
                broker_message=last_error.broker_message if last_error else None,
            )
        assert last_error is not None
        raise last_error

    def _sleep_before_retry(self, attempt: int, error: BrokerError | None) -> None:
        delay = self.retry_backoff * (2 ** (attempt - 2))
        if isinstance(error, RateLimited) and error.retry_after:
            delay = max(delay, error.retry_after)
        if delay > 0:
            time.sleep(min(delay, self.max_retry_sleep))

    # ------------------------------------------------------------------ updates
    def subscribe(self, callback: UpdateCallback) -> Callable[[], None]:
        """Register a callback for every order update; returns the unsubscribe function."""
        with self._update_lock:
            self._listeners.append(callback)

        def unsubscribe() -> None:
            with self._update_lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return unsubscribe

    def poll_updates(self, since: int = 0) -> list[OrderUpdate]:
        """Refresh every tracked non-terminal order from the broker, then return the updates with a
        sequence number greater than ``since`` (pass the last sequence you processed)."""
        for result in list(self._tracked.values()):
            if result.is_terminal or not result.broker_order_id:
                continue
            try:
                fresh = self.get_order(
                    client_order_id=result.client_order_id,
                    broker_order_id=result.broker_order_id,
                    symbol=result.symbol,
                )
            except OrderNotFound:
                continue
            self._record(fresh)
        with self._update_lock:
            return [u for u in self._updates if u.sequence > since]

    def _record(self, result: OrderResult) -> OrderResult:
        """Remember the order's state and emit updates for what changed since it was last seen."""
        with self._update_lock:
            previous = self._published.get(result.client_order_id)
            self._tracked[result.client_order_id] = result
            self._published[result.client_order_id] = (result.status, result.filled_quantity, len(result.fills))
            new_updates: list[OrderUpdate] = []
            seen_fills = previous[2] if previous else 0
            for fill in result.fills[seen_fills:]:
                new_updates.append(self._make_update(result, fill=fill))
            changed = previous is None or previous[:2] != (result.status, result.filled_quantity)
            if changed and not new_updates:
                new_updates.append(self._make_update(result))
            elif changed and new_updates and new_updates[-1].status != result.status:
                new_updates.append(self._make_update(result))
            self._updates.extend(new_updates)
            listeners = list(self._listeners)
        for update in new_updates:
            for listener in listeners:
                try:
                    listener(update)
                except Exception:
                    logger.exception("order update listener failed")
        return result

    def _make_update(self, result: OrderResult, *, fill=None, message: str = "") -> OrderUpdate:
        self._sequence += 1
        return OrderUpdate(
            sequence=self._sequence,
            client_order_id=result.client_order_id,
            broker_order_id=result.broker_order_id,
            status=result.status,
            filled_quantity=result.filled_quantity,
            fill=fill,
            timestamp=result.updated_at or dt.datetime.now(dt.UTC),
            message=message or result.reject_reason,
        )
