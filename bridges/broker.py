"""`BridgeBroker`: the BrokerService adapter for accounts whose terminal runs on a bridge node.

Every call is routed to the node that currently holds the account's terminal instance (looked up per
call, so a failover is transparent), over the signed agent protocol. Orders are idempotent by client
order id end to end: the agent returns the existing order for a known id, and an order whose outcome is
unknown (node lost mid-request) is found by the base class's look-up before anything is re-sent.

Quantities: the brokers layer counts forex/CFD quantity in base units (EURUSD 10000 = 10000 EUR); the
terminal trades lots. Conversion uses the symbol's contract size reported by the terminal.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bridges.agent.backends.base import decimal_to_wire
from bridges.protocol import AgentClient, AgentError, TransportError
from brokers.core.base import BrokerService, OrderGuard
from brokers.core.errors import (
    AuthenticationFailed,
    BrokerError,
    BrokerUnavailable,
    InsufficientFunds,
    InvalidOrder,
    MarketClosed,
    OrderNotFound,
    RateLimited,
)
from brokers.core.models import (
    AccountInfo,
    Balance,
    Fill,
    Instrument,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
)
from brokers.core.precision import normalize_order
from brokers.core.symbols import FOREX_CURRENCIES, MarketType, NormalizedSymbol

from . import selectors, services
from .models import BridgeInstance, BridgeNode, BridgeOrderIntent

REJECTION_ERRORS: dict[str, type[BrokerError]] = {
    "insufficient_margin": InsufficientFunds,
    "market_closed": MarketClosed,
    "invalid_volume": InvalidOrder,
    "invalid_price": InvalidOrder,
    "unknown_symbol": InvalidOrder,
    "trading_disabled": InvalidOrder,
    "broker_rejected": InvalidOrder,
}


def broker_error_from_agent(error: AgentError, node_id: str) -> BrokerError:
    """Map an agent protocol error to the brokers error hierarchy."""
    detail = f"bridge {node_id}: {error.message}"
    broker_message = f"{error.code}" + (f" (terminal code {error.broker_code})" if error.broker_code else "")
    if error.code == "broker_authentication_failed":
        return AuthenticationFailed(detail, broker_message=broker_message)
    if error.code == "order_not_found":
        return OrderNotFound(detail, broker_message=broker_message)
    if error.code == "rate_limited":
        return RateLimited(detail, broker_message=broker_message)
    if error.code in ("order_conflict", "invalid_request", "order_not_cancellable"):
        return InvalidOrder(detail, broker_message=broker_message)
    if error.code in ("bad_signature", "unknown_node", "stale_timestamp", "replayed_nonce", "missing_headers",
                      "malformed_headers", "backend_unavailable"):
        # Our own channel to the node is misconfigured: not the tenant's credentials, and not retryable.
        return BrokerUnavailable(detail, broker_message=broker_message, retryable=False)
    return BrokerUnavailable(detail, broker_message=broker_message, retryable=error.retryable or error.code in (
        "instance_not_found", "instance_not_running"))


@dataclass(frozen=True)
class _Route:
    instance: BridgeInstance
    node: BridgeNode
    client: AgentClient


def _parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class BridgeBroker(BrokerService):
    broker_name = "bridge"

    def __init__(
        self,
        *,
        tenant_schema: str,
        account_id: str,
        venue: str = "FX",
        symbol_map: dict[str, str] | None = None,
        symbol_suffix: str = "",
        guards: list[OrderGuard] | None = None,
    ) -> None:
        super().__init__(guards=guards)
        self.tenant_schema = tenant_schema
        self.account_id = account_id
        self.venue = venue
        self.symbol_map = dict(symbol_map or {})
        self._native_to_tv = {native: tv for tv, native in self.symbol_map.items()}
        self.symbol_suffix = symbol_suffix
        self._symbol_info: dict[str, dict[str, Any]] = {}
        # The account's node is looked up at most once per second; any failure forgets it at once, so a
        # moved terminal is found on the next attempt.
        self.route_ttl_seconds = 1.0
        self._cached_route: tuple[float, _Route] | None = None

    # -- routing -----------------------------------------------------------------------------------------
    def _route(self, *, fresh: bool = False) -> _Route:
        cached = self._cached_route
        if not fresh and cached is not None and time.monotonic() - cached[0] < self.route_ttl_seconds:
            return cached[1]
        instance = selectors.instance_for_account(self.tenant_schema, self.account_id)
        if instance is None:
            raise BrokerUnavailable(
                f"no bridge terminal exists for account {self.account_id!r}", retryable=False
            )
        if instance.status == BridgeInstance.Status.FAILED and "broker_authentication_failed" in instance.last_error:
            raise AuthenticationFailed(
                f"the broker refused the login of account {self.account_id!r}", broker_message=instance.last_error
            )
        if instance.status != BridgeInstance.Status.RUNNING or instance.node is None:
            detail = f": {instance.last_error}" if instance.last_error else ""
            raise BrokerUnavailable(f"bridge terminal for account {self.account_id!r} is {instance.status}{detail}")
        route = _Route(instance, instance.node, services.client_for_node(instance.node))
        self._cached_route = (time.monotonic(), route)
        return route

    def connect(self) -> None:
        """Check that the account's terminal runs (raises AuthenticationFailed if the broker refused it)."""
        self._route(fresh=True)

    def _forget_route(self) -> None:
        self._cached_route = None

    def _call(self, operation: str, *args: Any, read_only: bool = True, **kwargs: Any) -> Any:
        """Run a client operation on the account's current node.

        A read that fails on a cached route (the terminal may have just moved) is retried once on a
        freshly looked-up route; writes are not, their caller decides.
        """
        route_was_cached = self._cached_route is not None
        route = self._route()
        try:
            return getattr(route.client, operation)(route.instance.instance_id, *args, **kwargs)
        except (AgentError, TransportError) as error:
            self._forget_route()
            moved = isinstance(error, TransportError) or error.code in ("instance_not_found", "instance_not_running")
            if read_only and route_was_cached and moved:
                fresh = self._route(fresh=True)
                if fresh.node.pk != route.node.pk or fresh.instance.instance_id != route.instance.instance_id:
                    return self._call(operation, *args, read_only=False, **kwargs)
            if isinstance(error, TransportError):
                raise BrokerUnavailable(f"bridge {route.node.node_id} unreachable: {error}") from error
            raise broker_error_from_agent(error, route.node.node_id) from error

    # -- symbols and units -------------------------------------------------------------------------------
    def native_symbol(self, symbol: NormalizedSymbol) -> str:
        return self.symbol_map.get(str(symbol)) or f"{symbol.base}{symbol.quote}{self.symbol_suffix}"

    def normalized_symbol(self, native: str) -> NormalizedSymbol:
        mapped = self._native_to_tv.get(native)
        if mapped is not None:
            venue, body = mapped.split(":", 1)
            native_body = body
        else:
            venue = self.venue
            native_body = native[: -len(self.symbol_suffix)] if self.symbol_suffix and native.endswith(self.symbol_suffix) else native
        base, quote = native_body[:3], native_body[3:]
        if len(native_body) == 6 and base in FOREX_CURRENCIES and quote in FOREX_CURRENCIES:
            return NormalizedSymbol(venue, base, quote, MarketType.FOREX, raw=native)
        # CFDs and indices (US500, GER40...): keep the terminal's name as the base.
        return NormalizedSymbol(venue, native_body, "", MarketType.FOREX, raw=native)

    def _info(self, native: str) -> dict[str, Any]:
        info = self._symbol_info.get(native)
        if info is None:
            info = self._call("symbol", native)
            self._symbol_info[native] = info
        return info

    def _contract(self, native: str) -> Decimal:
        return Decimal(self._info(native)["contract_size"])

    def _to_lots(self, native: str, quantity: Decimal) -> str:
        lots = quantity / self._contract(native)
        wire = decimal_to_wire(lots)
        assert wire is not None
        return wire

    def _from_lots(self, native: str, lots: str | Decimal) -> Decimal:
        return Decimal(lots) * self._contract(native)

    # -- reads -------------------------------------------------------------------------------------------
    def instrument(self, symbol: NormalizedSymbol) -> Instrument:
        native = self.native_symbol(symbol)
        info = self._info(native)
        contract = Decimal(info["contract_size"])
        return Instrument(
            symbol=symbol,
            native_symbol=native,
            tick_size=Decimal(info["tick_size"]),
            qty_step=Decimal(info["volume_step"]) * contract,
            min_qty=Decimal(info["min_volume"]) * contract,
            max_qty=Decimal(info["max_volume"]) * contract,
        )

    def reference_price(self, symbol: NormalizedSymbol) -> Decimal | None:
        info = self._call("symbol", self.native_symbol(symbol))
        if info["bid"] is None or info["ask"] is None:
            return None
        return (Decimal(info["bid"]) + Decimal(info["ask"])) / 2

    def get_order(
        self,
        *,
        client_order_id: str | None = None,
        broker_order_id: str | None = None,
        symbol: NormalizedSymbol | None = None,
    ) -> OrderResult:
        if client_order_id:
            return self._to_result(self._call("get_order", client_order_id))
        if broker_order_id:
            for order in self._call("list_orders"):
                if order["broker_order_id"] == broker_order_id:
                    return self._to_result(order)
            raise OrderNotFound(f"no order {broker_order_id!r} on the bridge terminal of {self.account_id!r}")
        raise ValueError("get_order needs client_order_id or broker_order_id")

    def open_orders(self, symbol: NormalizedSymbol | None = None) -> list[OrderResult]:
        results = [self._to_result(order) for order in self._call("list_orders", open_only=True)]
        return [result for result in results if symbol is None or result.symbol == symbol]

    def positions(self) -> list[Position]:
        positions = []
        for item in self._call("positions"):
            native = item["symbol"]
            positions.append(
                Position(
                    symbol=self.normalized_symbol(native),
                    quantity=self._from_lots(native, item["quantity"]),
                    average_price=Decimal(item["average_price"]),
                    unrealized_pnl=Decimal(item["unrealized_pnl"]),
                    raw=item,
                )
            )
        return positions

    def balances(self) -> list[Balance]:
        account = self._call("account")
        return [Balance(asset=account["currency"], free=Decimal(account["margin_free"]), locked=Decimal(account["margin_used"]))]

    def account_info(self) -> AccountInfo:
        account = self._call("account")
        return AccountInfo(
            equity=Decimal(account["equity"]),
            buying_power=Decimal(account["margin_free"]) * account["leverage"],
            is_margin_account=True,
            currency=account["currency"],
        )

    # -- writes ------------------------------------------------------------------------------------------
    def prepare_order(self, request: OrderRequest) -> OrderRequest:
        # Terminal symbols carry no minimum notional, so the base class's reference-price round trip
        # (used only for that check) would add a whole agent call to every order for nothing.
        instrument = self.instrument(request.symbol)
        position = self.position_quantity(request.symbol) if request.reduce_only else None
        return normalize_order(request, instrument, reference_price=None, position_quantity=position)

    def _wire_request(self, request: OrderRequest) -> dict[str, Any]:
        native = self.native_symbol(request.symbol)
        wire: dict[str, Any] = {
            "client_order_id": request.client_order_id,
            "symbol": native,
            "side": request.side.value,
            "order_type": request.order_type.value,
            "quantity": self._to_lots(native, request.quantity),
            "time_in_force": request.time_in_force.value,
        }
        if request.price is not None:
            wire["limit_price"] = decimal_to_wire(request.price)
        if request.stop_price is not None:
            wire["stop_price"] = decimal_to_wire(request.stop_price)
        return wire

    def _send_order(self, request: OrderRequest) -> OrderResult:
        route = self._route()
        wire = self._wire_request(request)
        intent = services.record_order_intent(route.instance, route.node, wire)
        try:
            order, _created = route.client.place_order(route.instance.instance_id, wire)
        except TransportError as error:
            self._forget_route()
            services.settle_order_intent(intent, BridgeOrderIntent.State.UNKNOWN, error=str(error))
            raise BrokerUnavailable(f"bridge {route.node.node_id}: order outcome unknown: {error}") from error
        except AgentError as error:
            self._forget_route()
            state = BridgeOrderIntent.State.UNKNOWN if error.retryable else BridgeOrderIntent.State.FAILED
            services.settle_order_intent(intent, state, error=str(error))
            raise broker_error_from_agent(error, route.node.node_id) from error
        services.settle_order_intent(intent, BridgeOrderIntent.State.ACKNOWLEDGED, order=order)
        result = self._to_result(order)
        if result.status is OrderStatus.REJECTED:
            error_class = REJECTION_ERRORS.get(order["reject_reason"] or "broker_rejected", InvalidOrder)
            raise error_class(
                f"{request.client_order_id} rejected by the terminal: {order['reject_reason']}",
                broker_message=f"{order['broker_code']} {order['broker_message']}",
            )
        return result

    def _cancel(
        self,
        *,
        client_order_id: str | None,
        broker_order_id: str | None,
        symbol: NormalizedSymbol | None,
    ) -> OrderResult:
        if not client_order_id:
            client_order_id = self.get_order(broker_order_id=broker_order_id).client_order_id
        return self._to_result(self._call("cancel_order", client_order_id, read_only=False))

    def _to_result(self, order: dict[str, Any]) -> OrderResult:
        native = order["symbol"]
        contract = self._contract(native)
        fills = [
            Fill(
                fill_id=fill["fill_id"],
                price=Decimal(fill["price"]),
                quantity=Decimal(fill["quantity"]) * contract,
                fee=-Decimal(fill["commission"]),
                timestamp=_parse_time(fill["filled_at"]),
            )
            for fill in order["fills"]
        ]
        reject_reason = ""
        if order["status"] == "rejected":
            reject_reason = f"{order['reject_reason']}: {order['broker_code']} {order['broker_message']}"
        return OrderResult(
            client_order_id=order["client_order_id"],
            broker_order_id=order["broker_order_id"] or "",
            symbol=self.normalized_symbol(native),
            side=Side(order["side"]),
            order_type=OrderType(order["order_type"]),
            status=OrderStatus(order["status"]),
            quantity=Decimal(order["quantity"]) * contract,
            filled_quantity=Decimal(order["filled_quantity"]) * contract,
            average_price=Decimal(order["average_fill_price"]) if order["average_fill_price"] else None,
            price=Decimal(order["limit_price"]) if order["limit_price"] else None,
            stop_price=Decimal(order["stop_price"]) if order["stop_price"] else None,
            time_in_force=TimeInForce(order["time_in_force"]),
            fee=sum((fill.fee for fill in fills), Decimal(0)),
            fills=fills,
            reject_reason=reject_reason,
            created_at=_parse_time(order["created_at"]),
            updated_at=_parse_time(order["updated_at"]),
            raw=order,
        )
