"""US stocks through Alpaca's official ``alpaca-py`` SDK (``alpaca.trading.client.TradingClient``).

Alpaca's ``client_order_id`` is native (unique per account, up to 128 characters), so our id is
sent unchanged. The SDK's own 429 retry loop (3 s sleeps) is disabled: ``BrokerService`` retries, and
after an unknown outcome it looks the order up by client id before sending again.

Interactive Brokers (``ib_async``) will follow the same pattern later; it is not implemented yet.
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from typing import Any

from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus
from alpaca.trading.enums import TimeInForce as AlpacaTIF
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
)
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import Timeout

from brokers.core.base import BrokerService, OrderGuard
from brokers.core.errors import (
    AuthenticationFailed,
    BrokerError,
    BrokerUnavailable,
    DayTradeRuleViolation,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimited,
)
from brokers.core.instruments import default_instrument
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
from brokers.core.symbols import NormalizedSymbol, from_native, to_native

_STATUS = {
    "new": OrderStatus.OPEN,
    "accepted": OrderStatus.OPEN,
    "pending_new": OrderStatus.PENDING,
    "accepted_for_bidding": OrderStatus.OPEN,
    "held": OrderStatus.OPEN,
    "calculated": OrderStatus.OPEN,
    "done_for_day": OrderStatus.OPEN,  # resumes next session for GTC orders
    "pending_cancel": OrderStatus.OPEN,
    "pending_replace": OrderStatus.OPEN,
    "stopped": OrderStatus.OPEN,
    "suspended": OrderStatus.OPEN,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "replaced": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
_TIF = {
    TimeInForce.DAY: AlpacaTIF.DAY,
    TimeInForce.GTC: AlpacaTIF.GTC,
    TimeInForce.IOC: AlpacaTIF.IOC,
    TimeInForce.FOK: AlpacaTIF.FOK,
}
# Alpaca error codes (docs.alpaca.markets "Orders" error table)
_PDT_CODES = {40310100}
_NOT_FOUND_CODES = {40410000}


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def translate_alpaca_error(error: Exception) -> BrokerError:
    if isinstance(error, Timeout | RequestsConnectionError):
        return BrokerUnavailable("Alpaca is unreachable or timed out", broker_message=str(error))
    if not isinstance(error, APIError):
        raise error
    status = error.status_code
    try:
        payload = json.loads(str(error))
    except ValueError:
        payload = {}
    code = payload.get("code")
    message = payload.get("message") or str(error)
    if code in _PDT_CODES or "pattern day trad" in message.lower():
        return DayTradeRuleViolation("Alpaca refused: pattern day trading protection", broker_message=message)
    if status in (401,) or (status == 403 and "forbidden" in message.lower()):
        return AuthenticationFailed("Alpaca rejected the API keys", broker_message=message)
    if status == 403 and ("buying power" in message or "insufficient" in message):
        return InsufficientFunds("Alpaca: insufficient buying power or shares", broker_message=message)
    if status == 404 or code in _NOT_FOUND_CODES:
        return OrderNotFound("Alpaca: order not found", broker_message=message)
    if status == 429:
        return RateLimited("Alpaca: rate limited", broker_message=message)
    if "client_order_id must be unique" in message:
        return DuplicateOrder("Alpaca already has an order with this client id", broker_message=message)
    if status == 422 or status == 400 or status == 403:
        return InvalidOrder("Alpaca refused the order", broker_message=message)
    if status is not None and status >= 500:
        return BrokerUnavailable(f"Alpaca server error {status}", broker_message=message)
    return BrokerError("Alpaca error", broker_message=message)


class AlpacaBroker(BrokerService):
    broker_name = "alpaca"

    def __init__(
        self,
        *,
        api_key: str,
        secret: str,
        paper: bool = True,
        url_override: str | None = None,
        timeout_seconds: float = 10.0,
        allow_fractional: bool = False,
        guards: list[OrderGuard] | None = None,
    ) -> None:
        super().__init__(guards=guards)
        self.client = TradingClient(api_key, secret, paper=paper, url_override=url_override)
        self.client._retry = 0  # our retry loop looks the order up before re-sending
        session = self.client._session
        session.request = functools.partial(session.request, timeout=timeout_seconds)
        self.allow_fractional = allow_fractional
        self._assets: dict[str, Any] = {}

    def _call(self, method: str, *args, **kwargs):
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except (APIError, Timeout, RequestsConnectionError) as error:
            raise translate_alpaca_error(error) from error

    # ------------------------------------------------------------------ reads
    def instrument(self, symbol: NormalizedSymbol) -> Instrument:
        code = to_native(symbol, "alpaca")
        asset = self._assets.get(code)
        if asset is None:
            try:
                asset = self._assets[code] = self._call("get_asset", code)
            except OrderNotFound:
                raise InvalidOrder(f"{symbol}: Alpaca does not list {code}") from None
        if not asset.tradable:
            raise InvalidOrder(f"{symbol}: {code} is not tradable on Alpaca")
        rules = default_instrument(symbol)
        if self.allow_fractional and asset.fractionable:
            step = Decimal("0.000000001")
            return Instrument(symbol, code, rules.tick_size, step, min_qty=step, tick_bands=rules.tick_bands)
        return rules

    def get_order(self, *, client_order_id=None, broker_order_id=None, symbol=None) -> OrderResult:
        if broker_order_id:
            raw = self._call("get_order_by_id", broker_order_id)
        else:
            raw = self._call("get_order_by_client_id", client_order_id)
        return self._to_result(raw)

    def open_orders(self, symbol: NormalizedSymbol | None = None) -> list[OrderResult]:
        request = GetOrdersRequest(
            status=QueryOrderStatus.OPEN, symbols=[to_native(symbol, "alpaca")] if symbol else None
        )
        return [self._to_result(raw) for raw in self._call("get_orders", request)]

    def positions(self) -> list[Position]:
        result = []
        for raw in self._call("get_all_positions"):
            quantity = Decimal(raw.qty)
            if str(getattr(raw.side, "value", raw.side)) == "short" and quantity > 0:
                quantity = -quantity
            exchange = str(getattr(raw.exchange, "value", raw.exchange) or "NASDAQ")
            result.append(
                Position(
                    from_native(raw.symbol, "alpaca", venue=exchange if exchange in ("NASDAQ", "NYSE", "AMEX", "ARCA", "BATS") else "NASDAQ"),
                    quantity,
                    _dec(raw.avg_entry_price),
                    _dec(raw.unrealized_pl),
                    raw=raw,
                )
            )
        return result

    def balances(self) -> list[Balance]:
        account = self._call("get_account")
        # cash as the broker reports it; buying power (margin) is in account_info()
        return [Balance(account.currency or "USD", free=_dec(account.cash) or Decimal(0))]

    def account_info(self) -> AccountInfo:
        account = self._call("get_account")
        multiplier = _dec(account.multiplier) or Decimal(1)
        return AccountInfo(
            equity=_dec(account.equity),
            buying_power=_dec(account.buying_power),
            is_margin_account=multiplier > 1,
            pattern_day_trader=account.pattern_day_trader,
            daytrade_count=account.daytrade_count,
            daytrading_buying_power=_dec(account.daytrading_buying_power),
            currency=account.currency or "USD",
        )

    # ------------------------------------------------------------------ writes
    def _send_order(self, request: OrderRequest) -> OrderResult:
        common = {
            "symbol": to_native(request.symbol, "alpaca"),
            "qty": float(request.quantity),
            "side": OrderSide.BUY if request.side is Side.BUY else OrderSide.SELL,
            "time_in_force": _TIF[request.time_in_force],
            "client_order_id": request.client_order_id,
            "extended_hours": bool(request.extra.get("extended_hours", False)),
        }
        if request.order_type is OrderType.MARKET:
            order = MarketOrderRequest(**common)
        elif request.order_type is OrderType.LIMIT:
            order = LimitOrderRequest(**common, limit_price=float(request.price))
        elif request.order_type is OrderType.STOP:
            order = StopOrderRequest(**common, stop_price=float(request.stop_price))
        else:
            order = StopLimitOrderRequest(**common, limit_price=float(request.price), stop_price=float(request.stop_price))
        return self._to_result(self._call("submit_order", order))

    def _cancel(self, *, client_order_id, broker_order_id, symbol) -> OrderResult:
        if broker_order_id is None:
            broker_order_id = self.get_order(client_order_id=client_order_id).broker_order_id
        self._call("cancel_order_by_id", broker_order_id)
        return self.get_order(broker_order_id=broker_order_id)

    # ------------------------------------------------------------------ conversion
    def _to_result(self, raw) -> OrderResult:
        status_value = str(getattr(raw.status, "value", raw.status))
        filled = _dec(raw.filled_qty) or Decimal(0)
        status = _STATUS.get(status_value, OrderStatus.OPEN)
        if status is OrderStatus.OPEN and filled > 0:
            status = OrderStatus.PARTIALLY_FILLED
        kind = str(getattr(raw.order_type or raw.type, "value", raw.order_type or raw.type))
        order_type = {
            "market": OrderType.MARKET,
            "limit": OrderType.LIMIT,
            "stop": OrderType.STOP,
            "stop_limit": OrderType.STOP_LIMIT,
        }.get(kind, OrderType.MARKET)
        average = _dec(raw.filled_avg_price)
        fills = []
        if filled > 0 and average is not None:
            # Alpaca reports cumulative fill state on orders; per-execution detail comes from activities
            fills.append(Fill(fill_id=f"{raw.id}:{filled}", price=average, quantity=filled, timestamp=raw.filled_at))
        tif = str(getattr(raw.time_in_force, "value", raw.time_in_force))
        return OrderResult(
            client_order_id=raw.client_order_id,
            broker_order_id=str(raw.id),
            symbol=from_native(raw.symbol, "alpaca"),
            side=Side.BUY if str(getattr(raw.side, "value", raw.side)) == "buy" else Side.SELL,
            order_type=order_type,
            status=status,
            quantity=_dec(raw.qty) or Decimal(0),
            filled_quantity=filled,
            average_price=average,
            price=_dec(raw.limit_price),
            stop_price=_dec(raw.stop_price),
            time_in_force=TimeInForce(tif) if tif in {t.value for t in TimeInForce} else TimeInForce.DAY,
            created_at=raw.created_at,
            updated_at=raw.updated_at,
            raw=raw,
        )
