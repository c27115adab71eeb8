"""Taiwan stocks (TWSE/TPEx) and TAIFEX futures through Sinopac's ``shioaji`` SDK (1.7.x).

``ShioajiGateway`` is the only code that talks to Sinopac (login, contracts, orders, account queries).
``ShioajiBroker`` turns our ``OrderRequest`` into REAL ``sj.StockOrder``/``sj.FuturesOrder`` objects and
turns the SDK's ``Trade`` objects and order-callback payloads into our models.

Units: stock quantities are SHARES. A multiple of 1000 is sent as common lots (``StockOrderLot.Common``,
quantity in lots); fewer than 1000 shares as an intraday odd-lot order (``IntradayOdd``, quantity in
shares, limit orders only). A mix (e.g. 1500) is refused: send 1000 + 500 as two orders. Futures
quantities are contracts.

Idempotency: Shioaji has no client order id, but every order carries ``custom_field`` (up to 6
letters/digits). We put a deterministic 6-character digest of our client id there, and after an
unknown outcome (timeout, ``OrderOutcomeUnknownError``) we reconcile with ``update_status`` +
``list_trades`` by that digest before sending again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from decimal import Decimal
from typing import Any

import shioaji as sj

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
from brokers.core.instruments import TW_COMMON_LOT, default_instrument
from brokers.core.models import (
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
from brokers.core.symbols import (
    TW_FUTURES_VENUES,
    TW_STOCK_VENUES,
    NormalizedSymbol,
    from_native,
    to_native,
)

logger = logging.getLogger(__name__)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TAIPEI = dt.timezone(dt.timedelta(hours=8))

_STATUS = {
    "PendingSubmit": OrderStatus.PENDING,
    "PreSubmitted": OrderStatus.OPEN,  # accepted by the broker before the session opens
    "Submitted": OrderStatus.OPEN,
    "PartFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "Failed": OrderStatus.REJECTED,
    "Inactive": OrderStatus.REJECTED,
}
_CLOSED_MARKERS = ("非交易時間", "不在交易時間", "market closed")
_INSUFFICIENT_MARKERS = ("餘額不足", "額度不足", "保證金不足", "庫存不足", "insufficient", "Insufficient")


def custom_field_for(client_order_id: str) -> str:
    """6 base62 characters derived from our client id (Shioaji's custom_field limit)."""
    number = int.from_bytes(hashlib.sha256(client_order_id.encode()).digest()[:8], "big")
    chars = []
    for _ in range(6):
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "".join(chars)


def translate_shioaji_error(error: Exception) -> BrokerError:
    message = str(error)
    if isinstance(error, sj.OrderOutcomeUnknownError | sj.ShioajiTimeoutError | sj.ShioajiConnectionError):
        return BrokerUnavailable("Sinopac did not confirm the request (outcome unknown)", broker_message=message)
    if isinstance(error, sj.SystemMaintenance):
        return BrokerUnavailable("Sinopac is under maintenance", broker_message=message)
    if isinstance(error, sj.AuthError | sj.CaError | sj.ShioajiPermissionError | sj.AccountNotSignError):
        return AuthenticationFailed("Sinopac rejected the login or certificate", broker_message=message)
    if isinstance(error, sj.BadRequestError | sj.ShioajiValueError | sj.ShioajiTypeError | ValueError):
        return InvalidOrder("Sinopac refused the request", broker_message=message)
    if "rate" in message.lower() and "limit" in message.lower():
        return RateLimited("Sinopac rate limit", broker_message=message)
    if isinstance(error, sj.ServerError | sj.ResponseError):
        return BrokerUnavailable("Sinopac server error", broker_message=message)
    if isinstance(error, sj.ShioajiError):
        return BrokerError("Shioaji error", broker_message=message)
    raise error


class ShioajiGateway:
    """Thin wrapper around ``sj.Shioaji``: every network call goes through here.

    ``api`` may be given (tests pass an object with the SDK's method signatures); otherwise a real
    ``sj.Shioaji(simulation=...)`` is created on first use.
    """

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        *,
        simulation: bool = False,
        ca_path: str | None = None,
        ca_password: str | None = None,
        person_id: str | None = None,
        timeout_ms: int = 10_000,
        api: Any = None,
    ) -> None:
        self._credentials = (api_key, secret_key)
        self._ca = (ca_path, ca_password, person_id)
        self.simulation = simulation
        self.timeout_ms = timeout_ms
        self._api = api
        self._logged_in = False
        self._callback = None
        self._lock = threading.RLock()

    @property
    def api(self):
        if self._api is None:
            self._api = sj.Shioaji(simulation=self.simulation)
        return self._api

    def _call(self, method: str, *args, **kwargs):
        try:
            return getattr(self.api, method)(*args, **kwargs)
        except Exception as error:
            raise translate_shioaji_error(error) from error

    def login(self) -> None:
        with self._lock:
            if self._logged_in:
                return
            api_key, secret_key = self._credentials
            self._call("login", api_key, secret_key)
            ca_path, ca_password, person_id = self._ca
            if ca_path:  # live orders need the CA certificate; simulation does not
                self._call("activate_ca", ca_path, ca_password, person_id)
            if self._callback is not None:
                self.api.set_order_callback(self._callback)
            self._logged_in = True

    def set_order_callback(self, callback) -> None:
        self._callback = callback
        if self._logged_in:
            self.api.set_order_callback(callback)

    def contract(self, code: str, futures: bool):
        self.login()
        group = self.api.Contracts.Futures if futures else self.api.Contracts.Stocks
        try:
            contract = group[code]
        except (KeyError, IndexError, TypeError):
            contract = None
        if contract is None:
            raise InvalidOrder(f"Shioaji has no {'futures' if futures else 'stock'} contract {code!r}")
        return contract

    def place_order(self, contract, order):
        self.login()
        return self._call("place_order", contract, order, timeout=self.timeout_ms)

    def cancel_order(self, trade):
        self.login()
        return self._call("cancel_order", trade, timeout=self.timeout_ms)

    def trades(self) -> list:
        """Refresh order status from the server, then return every trade of the day."""
        self.login()
        for account in (self.api.stock_account, self.api.futopt_account):
            if account is not None:
                self._call("update_status", account, timeout=self.timeout_ms)
        return list(self._call("list_trades"))

    def positions(self, futures: bool) -> list:
        self.login()
        account = self.api.futopt_account if futures else self.api.stock_account
        if account is None:
            return []
        if futures:
            return list(self._call("list_positions", account, timeout=self.timeout_ms))
        return list(self._call("list_positions", account, unit=sj.Unit.Share, timeout=self.timeout_ms))

    def stock_balance(self):
        self.login()
        return self._call("account_balance", timeout=self.timeout_ms) if self.api.stock_account else None

    def futures_margin(self):
        self.login()
        account = self.api.futopt_account
        return self._call("margin", account, timeout=self.timeout_ms) if account else None


def _enum_value(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


class ShioajiBroker(BrokerService):
    broker_name = "shioaji"

    def __init__(self, gateway: ShioajiGateway, *, guards: list[OrderGuard] | None = None) -> None:
        super().__init__(guards=guards)
        self.gateway = gateway
        self._client_ids: dict[str, str] = {}  # custom_field -> our client id
        self._by_trade_id: dict[str, OrderResult] = {}
        self._trades: dict[str, Any] = {}  # trade id -> SDK Trade (needed to cancel)
        gateway.set_order_callback(self.on_order_event)

    def connect(self) -> None:
        self.gateway.login()

    # ------------------------------------------------------------------ orders -> SDK objects
    @staticmethod
    def is_futures(symbol: NormalizedSymbol) -> bool:
        if symbol.venue in TW_FUTURES_VENUES:
            return True
        if symbol.venue in TW_STOCK_VENUES:
            return False
        raise InvalidOrder(f"{symbol} is not tradable through Shioaji (Taiwan stocks and TAIFEX futures)")

    def build_order(self, request: OrderRequest):
        """The REAL ``sj.StockOrder``/``sj.FuturesOrder`` for a normalized request."""
        if request.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            raise InvalidOrder("Shioaji has no native stop orders; keep stops in the strategy")
        action = sj.Action.Buy if request.side is Side.BUY else sj.Action.Sell
        custom = custom_field_for(request.client_order_id)
        market = request.order_type is OrderType.MARKET
        if market:
            # TWSE/TAIFEX market orders must be IOC or FOK
            tif = sj.TimeInForce.FOK if request.time_in_force is TimeInForce.FOK else sj.TimeInForce.IOC
        else:
            tif = {
                TimeInForce.IOC: sj.TimeInForce.IOC,
                TimeInForce.FOK: sj.TimeInForce.FOK,
            }.get(request.time_in_force, sj.TimeInForce.ROD)  # DAY/GTC -> ROD (rest of day)
        price = 0.0 if market else float(request.price)
        if int(request.quantity) != request.quantity:
            raise InvalidOrder(f"{request.symbol}: quantity must be whole {'contracts' if self.is_futures(request.symbol) else 'shares'}")
        if self.is_futures(request.symbol):
            octype = request.extra.get("octype") or ("Cover" if request.reduce_only else "Auto")
            price_type = request.extra.get("price_type") or ("MKT" if market else "LMT")
            return sj.FuturesOrder(
                action=action,
                price=price,
                quantity=int(request.quantity),
                price_type=sj.FuturesPriceType(price_type),
                time_in_force=tif,
                octype=sj.FuturesOCType(octype),
                custom_field=custom,
            )
        shares = int(request.quantity)
        lot = request.extra.get("order_lot")
        if lot is None:
            if shares % int(TW_COMMON_LOT) == 0:
                lot = "Common"
            elif shares < TW_COMMON_LOT:
                lot = "IntradayOdd"
            else:
                raise InvalidOrder(
                    f"{request.symbol}: {shares} shares mixes {shares // 1000} common lot(s) and {shares % 1000} odd "
                    f"shares; send {shares // 1000 * 1000} and {shares % 1000} as two orders"
                )
        quantity = shares // int(TW_COMMON_LOT) if lot in ("Common", "BlockTrade") else shares
        if lot != "Common" and market:
            raise InvalidOrder(f"{request.symbol}: odd-lot orders must be limit orders")
        if lot != "Common":
            tif = sj.TimeInForce.ROD  # odd-lot and fixing sessions accept ROD only
        return sj.StockOrder(
            action=action,
            price=price,
            quantity=quantity,
            price_type=sj.StockPriceType.MKT if market else sj.StockPriceType.LMT,
            time_in_force=tif,
            order_lot=sj.StockOrderLot(lot),
            order_cond=sj.StockOrderCond(request.extra.get("order_cond", "Cash")),
            daytrade_short=request.extra.get("daytrade_short"),
            custom_field=custom,
        )

    # ------------------------------------------------------------------ BrokerService
    def instrument(self, symbol: NormalizedSymbol) -> Instrument:
        self.is_futures(symbol)
        return default_instrument(symbol)

    def _send_order(self, request: OrderRequest) -> OrderResult:
        futures = self.is_futures(request.symbol)
        order = self.build_order(request)
        if order.custom_field in self._client_ids:
            # sent before by this process: Shioaji would accept a second copy, so reconcile instead
            existing = self._find_existing(request)
            if existing is not None:
                return existing
        self._client_ids[order.custom_field] = request.client_order_id
        contract = self.gateway.contract(to_native(request.symbol, "shioaji"), futures)
        self._check_price_limits(request, contract)
        trade = self.gateway.place_order(contract, order)
        result = self._remember(trade)
        if result.status is OrderStatus.REJECTED:
            message = result.reject_reason
            error_class = InvalidOrder
            if any(m in message for m in _INSUFFICIENT_MARKERS):
                error_class = InsufficientFunds
            elif any(m in message for m in _CLOSED_MARKERS):
                error_class = MarketClosed
            raise error_class(f"Sinopac rejected {request.symbol} order", broker_message=message or "rejected")
        return result

    def _check_price_limits(self, request: OrderRequest, contract) -> None:
        limit_up = Decimal(str(getattr(contract, "limit_up", 0) or 0))
        limit_down = Decimal(str(getattr(contract, "limit_down", 0) or 0))
        if request.price is None or not limit_up:
            return
        if not limit_down <= request.price <= limit_up:
            raise InvalidOrder(
                f"{request.symbol}: price {request.price} is outside today's limits {limit_down}-{limit_up}"
            )

    def _find_existing(self, request: OrderRequest) -> OrderResult | None:
        custom = custom_field_for(request.client_order_id)
        for trade in self.gateway.trades():
            if getattr(trade.order, "custom_field", None) == custom:
                return self._remember(trade)
        return None

    def get_order(self, *, client_order_id=None, broker_order_id=None, symbol=None) -> OrderResult:
        custom = custom_field_for(client_order_id) if client_order_id else None
        for trade in self.gateway.trades():
            if (custom and getattr(trade.order, "custom_field", None) == custom) or (
                broker_order_id and trade.order.id == broker_order_id
            ):
                return self._remember(trade)
        raise OrderNotFound(f"Shioaji has no order {client_order_id or broker_order_id} today")

    def open_orders(self, symbol: NormalizedSymbol | None = None) -> list[OrderResult]:
        results = [self._remember(t) for t in self.gateway.trades()]
        return [r for r in results if not r.is_terminal and (symbol is None or r.symbol == symbol)]

    def _cancel(self, *, client_order_id, broker_order_id, symbol) -> OrderResult:
        current = self.get_order(client_order_id=client_order_id, broker_order_id=broker_order_id)
        if current.is_terminal:
            return current
        trade = self._trades[current.broker_order_id]
        self.gateway.cancel_order(trade)
        return self.get_order(broker_order_id=current.broker_order_id)

    def positions(self) -> list[Position]:
        result = []
        for futures in (False, True):
            for raw in self.gateway.positions(futures):
                quantity = Decimal(str(raw.quantity))
                if _enum_value(raw.direction) == "Sell":
                    quantity = -quantity
                symbol = from_native(raw.code, "shioaji")
                result.append(Position(symbol, quantity, Decimal(str(raw.price)), Decimal(str(raw.pnl)), raw=raw))
        return result

    def balances(self) -> list[Balance]:
        result = []
        stock = self.gateway.stock_balance()
        if stock is not None:
            result.append(Balance("TWD", Decimal(str(stock.acc_balance))))
        margin = self.gateway.futures_margin()
        if margin is not None:
            available = Decimal(str(margin.available_margin))
            equity = Decimal(str(margin.equity_amount))
            result.append(Balance("TWD-futures", available, max(equity - available, Decimal(0))))
        return result

    # ------------------------------------------------------------------ SDK objects -> ours
    def _remember(self, trade) -> OrderResult:
        result = self._trade_to_result(trade)
        self._trades[result.broker_order_id] = trade
        self._by_trade_id[result.broker_order_id] = result
        return result

    def _trade_to_result(self, trade) -> OrderResult:
        order, status = trade.order, trade.status
        code = trade.contract.code
        futures = _enum_value(getattr(trade.contract, "security_type", "")) in ("FUT", "Futures") or (
            getattr(order, "octype", None) is not None
        )
        exchange = _enum_value(getattr(trade.contract, "exchange", ""))
        symbol = from_native(code, "shioaji", venue={"OTC": "TPEX"}.get(exchange, "TWSE"))
        per_unit = TW_COMMON_LOT if not futures and _enum_value(order.order_lot) in ("Common", "BlockTrade") else 1
        custom = getattr(order, "custom_field", "") or ""
        client_id = self._client_ids.get(custom, custom or order.id)
        fills = [
            Fill(
                fill_id=f"{order.id}:{deal.seq}",
                price=Decimal(str(deal.price)),
                quantity=Decimal(deal.quantity) * per_unit,
                timestamp=dt.datetime.fromtimestamp(deal.ts, TAIPEI) if deal.ts else None,
            )
            for deal in list(status.deals or [])
        ]
        filled = sum((f.quantity for f in fills), Decimal(0))
        if not fills and status.deal_quantity:
            filled = Decimal(status.deal_quantity) * per_unit
        notional = sum((f.price * f.quantity for f in fills), Decimal(0))
        market = _enum_value(order.price_type) in ("MKT", "MKP")
        tif = _enum_value(order.time_in_force)
        state = _STATUS.get(_enum_value(status.status), OrderStatus.OPEN)
        return OrderResult(
            client_order_id=client_id,
            broker_order_id=order.id,
            symbol=symbol,
            side=Side.BUY if _enum_value(order.action) == "Buy" else Side.SELL,
            order_type=OrderType.MARKET if market else OrderType.LIMIT,
            status=state,
            quantity=Decimal(order.quantity) * per_unit,
            filled_quantity=filled,
            average_price=(notional / filled) if fills and filled else None,
            price=None if market else Decimal(str(order.price)),
            time_in_force={"IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}.get(tif, TimeInForce.DAY),
            reduce_only=_enum_value(order.octype) == "Cover",
            fills=fills,
            reject_reason=(status.msg or "") if state is OrderStatus.REJECTED else "",
            created_at=status.order_datetime,
            raw=trade,
        )

    def on_order_event(self, state, message) -> None:
        """Order/deal callback (``api.set_order_callback``). Payload shapes per shioaji's OrderEvent
        TypedDicts: order events carry ``operation``/``order``/``status``/``contract``; deal events carry
        ``trade_id``, ``price``, ``quantity``, ``ts`` (and ``order_lot`` for stocks)."""
        name = getattr(state, "name", str(state))
        try:
            if name in ("StockDeal", "FuturesDeal"):
                self._apply_deal(name, message)
            elif name in ("StockOrder", "FuturesOrder"):
                self._apply_order_event(message)
        except Exception:
            logger.exception("could not apply Shioaji %s event", name)

    def _apply_deal(self, name: str, message) -> None:
        result = self._by_trade_id.get(message["trade_id"])
        if result is None:
            return
        fill_id = f"{message['trade_id']}:{message['exchange_seq']}"  # same id as Trade.status.deals[].seq
        if any(f.fill_id == fill_id for f in result.fills):
            return
        per_unit = TW_COMMON_LOT if name == "StockDeal" and message.get("order_lot") == "Common" else 1
        quantity = Decimal(message["quantity"]) * per_unit
        price = Decimal(str(message["price"]))
        result.fills.append(
            Fill(fill_id, price, quantity, timestamp=dt.datetime.fromtimestamp(message["ts"], TAIPEI))
        )
        before = result.filled_quantity
        result.filled_quantity = before + quantity
        result.average_price = ((result.average_price or 0) * before + price * quantity) / result.filled_quantity
        result.status = OrderStatus.FILLED if result.filled_quantity >= result.quantity else OrderStatus.PARTIALLY_FILLED
        self._record(result)

    def _apply_order_event(self, message) -> None:
        order_id = message["order"]["id"]
        result = self._by_trade_id.get(order_id)
        if result is None:
            return
        operation = message["operation"]
        ok = operation.get("op_code") in ("00", "0", "")
        if operation["op_type"] == "Cancel" and ok:
            result.status = OrderStatus.CANCELLED
        elif operation["op_type"] == "Reject" or not ok:
            if operation["op_type"] == "New":
                result.status = OrderStatus.REJECTED
            result.reject_reason = operation.get("op_msg", "")
        elif operation["op_type"] == "New" and result.status is OrderStatus.PENDING:
            result.status = OrderStatus.OPEN
        self._record(result)
