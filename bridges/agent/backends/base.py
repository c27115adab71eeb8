"""The small interface every terminal backend implements, plus wire helpers shared by backends.

A backend object is one logged-in terminal for one broker account. It holds credentials only in memory
(the start request carries them; nothing is written to disk) and reports order changes through `emit`.
Orders are addressed by 4pass's client order id; placing an existing client order id returns the existing
order unchanged (idempotency), so a retried or reconciled request can never create a second order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from bridges.protocol.errors import AgentError

EventSink = Callable[[dict[str, Any]], None]

ORDER_IDENTITY_FIELDS = ("symbol", "side", "order_type", "quantity", "limit_price", "stop_price")


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decimal_to_wire(value: Decimal | None) -> str | None:
    if value is None:
        return None
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return str(normalized.quantize(Decimal(1)))
    return format(normalized, "f")


def same_order_request(existing: dict[str, Any], request: dict[str, Any]) -> bool:
    """True when `request` asks for the same order as `existing` (compared numerically, not textually)."""
    for field in ORDER_IDENTITY_FIELDS:
        old, new = existing.get(field), request.get(field)
        if field in ("quantity", "limit_price", "stop_price"):
            if (old is None) != (new is None):
                return False
            if old is not None and Decimal(old) != Decimal(new):
                return False
        elif old != new:
            return False
    return True


class TerminalBackend(ABC):
    """One terminal session for one broker account."""

    name: ClassVar[str]

    def __init__(
        self,
        *,
        instance_id: str,
        account_id: str,
        credentials: dict[str, str],
        options: dict[str, Any],
        emit: EventSink,
    ) -> None:
        self.instance_id = instance_id
        self.account_id = account_id
        self._credentials = dict(credentials)
        self.options = dict(options)
        self.emit = emit

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Whether this backend can run on this machine, and why not."""
        return True, ""

    @abstractmethod
    def connect(self) -> None:
        """Start/log in the terminal; raise AgentError(broker_authentication_failed|terminal_start_failed)."""

    @abstractmethod
    def close(self) -> None:
        """Log out and release the terminal. Must be safe to call twice."""

    @property
    @abstractmethod
    def connected(self) -> bool: ...

    @abstractmethod
    def place_order(self, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Place (or find, by client order id) an order; returns (wire order, created)."""

    @abstractmethod
    def cancel_order(self, client_order_id: str) -> dict[str, Any]: ...

    @abstractmethod
    def get_order(self, client_order_id: str) -> dict[str, Any]:
        """Raise AgentError('order_not_found') when the broker has no such client order id."""

    @abstractmethod
    def list_orders(self, *, open_only: bool) -> list[dict[str, Any]]: ...

    @abstractmethod
    def positions(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def account(self) -> dict[str, Any]: ...

    @abstractmethod
    def symbols(self) -> list[dict[str, Any]]: ...

    def symbol(self, name: str) -> dict[str, Any]:
        for info in self.symbols():
            if info["symbol"] == name:
                return info
        raise AgentError("invalid_request", f"unknown symbol {name!r}", http_status=404)

    def sim_command(self, command: dict[str, Any]) -> dict[str, Any]:
        raise AgentError("route_not_found", f"backend {self.name!r} does not accept simulator commands")

    def forget_credentials(self) -> None:
        self._credentials.clear()
