"""Crypto exchanges through the real ``ccxt`` client (sync API): Gate.io, Binance, Bybit, OKX.

One adapter instance trades one market type (spot or USDT-margined perpetuals) on one exchange.
Quantities are in BASE units for spot and perpetuals alike (0.01 = 0.01 BTC); the adapter converts to
the exchange's contracts (Gate/OKX perps count contracts of ``contractSize`` BTC).

Idempotency: our client order id is mapped to a deterministic id that the exchange accepts
(``exchange_client_order_id``) and sent as ccxt's ``clientOrderId`` (Binance ``newClientOrderId``,
Gate ``text``, Bybit ``orderLinkId``, OKX ``clOrdId``). After a timeout the base class looks the
order up by that id before sending again.
"""

from __future__ import annotations

import hashlib
import re
from decimal import ROUND_UP, Decimal
from typing import Any

import ccxt

from brokers.core.base import BrokerService, OrderGuard
from brokers.core.errors import (
    AuthenticationFailed,
    BrokerError,
    BrokerUnavailable,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    MarketClosed,
    OrderNotFound,
    RateLimited,
)
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
from brokers.core.symbols import MarketType, NormalizedSymbol, from_ccxt, to_ccxt

SUPPORTED_EXCHANGES = ("binance", "gate", "bybit", "okx")
QUOTE_DENOMINATED_MARKET_BUYS = {"gate"}
STABLE_QUOTES = {"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "DAI"}

# Client order id rules per exchange (from each exchange's API docs).
_CLIENT_ID_RULES: dict[str, tuple[re.Pattern[str], int, str]] = {
    # pattern the raw id must match to be used unchanged, max length, prefix of derived ids
    "binance": (re.compile(r"^[.A-Za-z0-9:/_-]{1,36}$"), 36, "fp"),
    "gate": (re.compile(r"^t-[A-Za-z0-9_.-]{1,26}$"), 28, "t-fp"),
    "bybit": (re.compile(r"^[A-Za-z0-9_-]{1,36}$"), 36, "fp"),
    "okx": (re.compile(r"^[A-Za-z0-9]{1,32}$"), 32, "fp"),
}

# Exchange messages/codes that mean "this client order id already exists" (ccxt reports most of them
# as a generic InvalidOrder/ExchangeError).
_DUPLICATE_MARKERS = {
    "binance": ("Duplicate order sent", "-4116", "DUPLICATED_CLIENT_ORDER_ID"),
    "gate": ("DUPLICATE", "duplicate"),
    "bybit": ("10014", "Duplicate", "duplicate"),
    "okx": ("51016", "Duplicated clOrdId"),
}


def exchange_client_order_id(exchange_id: str, client_order_id: str) -> str:
    """Deterministic client id valid on ``exchange_id``: our id itself when the exchange accepts it,
    otherwise a prefix + SHA-256 digest (same input -> same output, so retries find the order)."""
    pattern, max_len, prefix = _CLIENT_ID_RULES[exchange_id]
    candidate = client_order_id if exchange_id != "gate" else f"t-{client_order_id}"
    if pattern.match(candidate):
        return candidate
    digest = hashlib.sha256(client_order_id.encode()).hexdigest()
    return (prefix + digest)[:max_len]


def translate_ccxt_error(error: Exception, exchange_id: str = "") -> BrokerError:
    message = str(error)
    if isinstance(error, BrokerError):
        return error
    if any(marker in message for marker in _DUPLICATE_MARKERS.get(exchange_id, ())) or isinstance(
        error, ccxt.DuplicateOrderId
    ):
        return DuplicateOrder("the exchange already has an order with this client id", broker_message=message)
    if isinstance(error, ccxt.AuthenticationError):  # includes PermissionDenied, AccountSuspended
        return AuthenticationFailed(f"{exchange_id} rejected the API credentials", broker_message=message)
    if isinstance(error, ccxt.InsufficientFunds):
        return InsufficientFunds(f"{exchange_id}: insufficient funds", broker_message=message)
    if isinstance(error, ccxt.OrderNotFound):
        return OrderNotFound(f"{exchange_id}: order not found", broker_message=message)
    if isinstance(error, ccxt.MarketClosed):
        return MarketClosed(f"{exchange_id}: market closed", broker_message=message)
    if isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return RateLimited(f"{exchange_id}: rate limited", broker_message=message)
    if isinstance(error, ccxt.InvalidOrder | ccxt.BadSymbol | ccxt.BadRequest | ccxt.ArgumentsRequired):
        return InvalidOrder(f"{exchange_id} refused the order", broker_message=message)
    if isinstance(error, ccxt.NetworkError | ccxt.OnMaintenance | ccxt.ExchangeNotAvailable):
        # includes RequestTimeout: the outcome of a write is unknown
        return BrokerUnavailable(f"{exchange_id} is unreachable or timed out", broker_message=message)
    if isinstance(error, ccxt.BaseError):
        return BrokerError(f"{exchange_id} error", broker_message=message)
    raise error


_STATUS = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


class CcxtBroker(BrokerService):
    market_protection_bps = Decimal(50)
    def __init__(
        self,
        exchange_id: str,
        *,
        api_key: str,
        secret: str,
        password: str | None = None,
        market_type: MarketType = MarketType.SPOT,
        sandbox: bool = False,
        timeout_ms: int = 10_000,
        api_base_url: str | None = None,
        guards: list[OrderGuard] | None = None,
    ) -> None:
        super().__init__(guards=guards)
        exchange_id = {"gateio": "gate", "binanceusdm": "binance"}.get(exchange_id, exchange_id)
        if exchange_id not in SUPPORTED_EXCHANGES:
            raise ValueError(f"unsupported exchange {exchange_id!r}; supported: {', '.join(SUPPORTED_EXCHANGES)}")
        if market_type not in (MarketType.SPOT, MarketType.PERP):
            raise ValueError("ccxt accounts trade spot or perp")
        self.exchange_id = exchange_id
        self.broker_name = exchange_id
        self.market_type = market_type
        self.exchange = self._build_exchange(api_key, secret, password, timeout_ms)
        if sandbox:
            self.exchange.set_sandbox_mode(True)
        if api_base_url:
            self.exchange.urls["api"] = _rebase_urls(self.exchange.urls["api"], api_base_url)
        self._our_ids: dict[str, str] = {}  # exchange client id -> our client id
        self._symbols: dict[str, NormalizedSymbol] = {}  # our client id -> symbol

    def _build_exchange(self, api_key: str, secret: str, password: str | None, timeout_ms: int):
        perp = self.market_type is MarketType.PERP
        options: dict[str, Any] = {"warnOnFetchOpenOrdersWithoutSymbol": False}
        if self.exchange_id == "binance":
            options |= {
                "fetchMarkets": {"types": ["linear" if perp else "spot"]},
                "fetchMargins": False,
                "defaultType": "swap" if perp else "spot",
            }
        elif self.exchange_id == "gate":
            options |= {
                "fetchMarkets": {"types": ["swap" if perp else "spot"]},
                "swap": {"fetchMarkets": {"settlementCurrencies": ["usdt"]}},
                "unifiedAccount": False,
                "defaultType": "swap" if perp else "spot",
            }
        elif self.exchange_id == "bybit":
            options |= {
                "fetchMarkets": {"types": ["linear" if perp else "spot"]},
                # Unified Trading Account (the only account type for new Bybit users)
                "enableUnifiedAccount": True,
                "enableUnifiedMargin": False,
                "defaultType": "swap" if perp else "spot",
            }
        elif self.exchange_id == "okx":
            options |= {"fetchMarkets": {"types": ["swap" if perp else "spot"]}, "defaultType": "swap" if perp else "spot"}
        exchange = getattr(ccxt, self.exchange_id)(
            {
                "apiKey": api_key,
                "secret": secret,
                "password": password,
                "timeout": timeout_ms,
                "enableRateLimit": True,
                "options": options,
            }
        )
        exchange.has["fetchCurrencies"] = False  # private currency endpoints are not needed to trade
        return exchange

    # ------------------------------------------------------------------ plumbing
    def _call(self, method: str, *args, **kwargs):
        try:
            return getattr(self.exchange, method)(*args, **kwargs)
        except ccxt.BaseError as error:
            raise translate_ccxt_error(error, self.exchange_id) from error

    def connect(self) -> None:
        if not self.exchange.markets:
            self._call("load_markets")

    def _market(self, symbol: NormalizedSymbol) -> dict:
        self.connect()
        if symbol.market_type is not self.market_type:
            raise InvalidOrder(f"{symbol} is {symbol.market_type}, this account trades {self.market_type}")
        ccxt_symbol = to_ccxt(symbol)
        market = self.exchange.markets.get(ccxt_symbol)
        if market is None:
            raise InvalidOrder(f"{symbol} ({ccxt_symbol}) is not listed on {self.exchange_id}")
        return market

    def _contract_size(self, market: dict) -> Decimal:
        return _dec(market.get("contractSize")) or Decimal(1) if market.get("contract") else Decimal(1)

    def _venue_client_id(self, client_order_id: str) -> str:
        venue_id = exchange_client_order_id(self.exchange_id, client_order_id)
        self._our_ids[venue_id] = client_order_id
        return venue_id

    # ------------------------------------------------------------------ reads
    def instrument(self, symbol: NormalizedSymbol) -> Instrument:
        market = self._market(symbol)
        size = self._contract_size(market)
        precision, limits = market["precision"], market["limits"]
        step = (_dec(precision.get("amount")) or Decimal("0.00000001")) * size
        min_amount = (_dec(limits["amount"].get("min")) or Decimal(0)) * size
        max_amount = _dec(limits["amount"].get("max"))
        return Instrument(
            symbol=symbol,
            native_symbol=market["id"],
            tick_size=_dec(precision.get("price")) or Decimal("0.00000001"),
            qty_step=step,
            min_qty=max(min_amount, step),
            min_notional=_dec(limits["cost"].get("min")) or Decimal(0),
            max_qty=max_amount * size if max_amount else None,
        )

    def reference_price(self, symbol: NormalizedSymbol) -> Decimal | None:
        return None  # market-order notional is checked by the exchange

    def get_order(self, *, client_order_id=None, broker_order_id=None, symbol=None) -> OrderResult:
        symbol = symbol or self._symbols.get(client_order_id or "")
        if symbol is None:
            raise ValueError(f"{self.exchange_id} needs the symbol to look an order up")
        market = self._market(symbol)
        if broker_order_id and self.exchange_id == "bybit":
            raw = self._bybit_order(market, {"orderId": broker_order_id})
        elif broker_order_id:
            raw = self._call("fetch_order", broker_order_id, market["symbol"])
        else:
            raw = self._fetch_by_client_id(exchange_client_order_id(self.exchange_id, client_order_id), market)
        return self._to_result(raw, symbol, market, fallback_client_id=client_order_id)

    def _fetch_by_client_id(self, venue_id: str, market: dict) -> dict:
        ccxt_symbol = market["symbol"]
        if self.exchange_id == "binance":
            return self._call("fetch_order", None, ccxt_symbol, {"origClientOrderId": venue_id})
        if self.exchange_id == "gate":
            return self._call("fetch_order", venue_id, ccxt_symbol)  # Gate accepts the `text` as order id
        if self.exchange_id == "okx":
            return self._call("fetch_order", None, ccxt_symbol, {"clOrdId": venue_id})
        return self._bybit_order(market, {"orderLinkId": venue_id})

    def _bybit_order(self, market: dict, key: dict[str, str]) -> dict:
        # v5 /order/realtime answers open (and recently closed) orders, /order/history the closed ones
        category = "linear" if self.market_type is MarketType.PERP else "spot"
        request = {"category": category, "symbol": market["id"], **key}
        response = self._call("privateGetV5OrderRealtime", request)
        rows = ((response or {}).get("result") or {}).get("list") or []
        if not rows:
            response = self._call("privateGetV5OrderHistory", request)
            rows = ((response or {}).get("result") or {}).get("list") or []
        if not rows:
            raise OrderNotFound(f"bybit: no order with {key}")
        return self.exchange.parse_order(rows[0], market)

    def open_orders(self, symbol: NormalizedSymbol | None = None) -> list[OrderResult]:
        self.connect()
        ccxt_symbol = self._market(symbol)["symbol"] if symbol else None
        params: dict[str, Any] = {}
        if ccxt_symbol is None:
            params["type"] = "swap" if self.market_type is MarketType.PERP else "spot"
            if self.exchange_id == "gate" and self.market_type is MarketType.PERP:
                params["settle"] = "usdt"
        raw_orders = self._call("fetch_open_orders", ccxt_symbol, None, None, params)
        return [self._to_result(raw, None, None) for raw in raw_orders]

    def balances(self) -> list[Balance]:
        self.connect()
        raw = self._call("fetch_balance")
        result = []
        for asset, free in (raw.get("free") or {}).items():
            used = (raw.get("used") or {}).get(asset)
            free_d, used_d = _dec(free) or Decimal(0), _dec(used) or Decimal(0)
            if free_d or used_d:
                result.append(Balance(asset, free_d, used_d))
        return result

    def positions(self) -> list[Position]:
        self.connect()
        if self.market_type is MarketType.SPOT:
            # spot "positions" are holdings of non-stable assets, priced in USDT
            return [
                Position(NormalizedSymbol(self._venue(), b.asset, "USDT", MarketType.SPOT), b.total)
                for b in self.balances()
                if b.asset not in STABLE_QUOTES and b.total != 0
            ]
        result = []
        for raw in self._call("fetch_positions"):
            contracts = _dec(raw.get("contracts")) or Decimal(0)
            if contracts == 0:
                continue
            market = self.exchange.markets[raw["symbol"]]
            quantity = contracts * self._contract_size(market)
            if raw.get("side") == "short":
                quantity = -quantity
            result.append(
                Position(
                    from_ccxt(raw["symbol"], self.exchange_id),
                    quantity,
                    _dec(raw.get("entryPrice")),
                    _dec(raw.get("unrealizedPnl")),
                    raw=raw.get("info"),
                )
            )
        return result

    def _market_by_id(self, info: dict, fallback: str) -> dict:
        wanted = "swap" if self.market_type is MarketType.PERP else "spot"
        for market in self.exchange.markets.values():
            if market["id"] == fallback and market["type"] == wanted:
                return market
        raise BrokerError(f"{self.exchange_id} returned an order for unknown market {fallback!r}")

    def _venue(self) -> str:
        return {"binance": "BINANCE", "gate": "GATEIO", "bybit": "BYBIT", "okx": "OKX"}[self.exchange_id]

    # ------------------------------------------------------------------ writes
    def _send_order(self, request: OrderRequest) -> OrderResult:
        market = self._market(request.symbol)
        size = self._contract_size(market)
        amount = request.quantity / size
        params: dict[str, Any] = {"clientOrderId": self._venue_client_id(request.client_order_id)}
        if request.time_in_force is TimeInForce.DAY:
            raise InvalidOrder(f"{self.exchange_id} has no DAY orders (crypto trades 24/7); use GTC or IOC")
        if request.order_type is not OrderType.MARKET:
            params["timeInForce"] = request.time_in_force.value.upper()
        elif request.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            params["timeInForce"] = request.time_in_force.value.upper()
        if request.reduce_only:
            if self.market_type is MarketType.SPOT:
                raise InvalidOrder("reduce-only applies to perpetuals, not spot")
            params["reduceOnly"] = True
        if request.stop_price is not None:
            params["triggerPrice"] = float(request.stop_price)
        ccxt_type = "limit" if request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else "market"
        price = request.price
        if (
            ccxt_type == "market"
            and request.side is Side.BUY
            and self.market_type is MarketType.SPOT
            and self.exchange_id in QUOTE_DENOMINATED_MARKET_BUYS
            and request.stop_price is None
        ):
            # Gate spot market buys spend a quote amount; to buy an exact base quantity we send a
            # marketable IOC limit capped at ask + market_protection_bps.
            ccxt_type, price = "limit", self._protected_buy_price(market, request)
            params["timeInForce"] = "IOC"
        params.update(request.extra.get("ccxt_params", {}))
        self._symbols[request.client_order_id] = request.symbol
        raw = self._call(
            "create_order",
            market["symbol"],
            ccxt_type,
            request.side.value,
            float(amount),
            float(price) if price is not None else None,
            params,
        )
        result = self._to_result(raw, request.symbol, market, fallback_client_id=request.client_order_id)
        # several exchanges acknowledge with a bare id: read the order back for status and fills
        if raw.get("status") is None and result.broker_order_id:
            try:
                return self.get_order(broker_order_id=result.broker_order_id, symbol=request.symbol,
                                      client_order_id=request.client_order_id)
            except OrderNotFound:
                pass
        return result

    def _protected_buy_price(self, market: dict, request: OrderRequest) -> Decimal:
        ticker = self._call("fetch_ticker", market["symbol"])
        ask = _dec(ticker.get("ask")) or _dec(ticker.get("last"))
        if ask is None:
            raise BrokerUnavailable(f"{self.exchange_id}: no ask price for {request.symbol} to protect a market buy")
        tick = _dec(market["precision"].get("price")) or Decimal("0.00000001")
        limit = ask * (1 + self.market_protection_bps / Decimal(10_000))
        return (limit / tick).to_integral_value(rounding=ROUND_UP) * tick

    def _cancel(self, *, client_order_id, broker_order_id, symbol) -> OrderResult:
        symbol = symbol or self._symbols.get(client_order_id or "")
        if symbol is None:
            raise ValueError(f"{self.exchange_id} needs the symbol to cancel an order")
        market = self._market(symbol)
        if broker_order_id is None:
            broker_order_id = self.get_order(client_order_id=client_order_id, symbol=symbol).broker_order_id
        self._call("cancel_order", broker_order_id, market["symbol"])
        return self.get_order(broker_order_id=broker_order_id, symbol=symbol, client_order_id=client_order_id)

    # ------------------------------------------------------------------ conversion
    def _to_result(
        self,
        raw: dict,
        symbol: NormalizedSymbol | None,
        market: dict | None,
        *,
        fallback_client_id: str | None = None,
    ) -> OrderResult:
        if market is None:
            market = self.exchange.markets.get(raw["symbol"]) or self._market_by_id(raw.get("info") or {}, raw["symbol"])
        if symbol is None:
            symbol = from_ccxt(market["symbol"], self.exchange_id)
        size = self._contract_size(market)
        venue_client_id = raw.get("clientOrderId") or ""
        client_id = self._our_ids.get(venue_client_id) or fallback_client_id or venue_client_id
        amount = (_dec(raw.get("amount")) or Decimal(0)) * size
        filled = (_dec(raw.get("filled")) or Decimal(0)) * size
        status = _STATUS.get(raw.get("status") or "open", OrderStatus.OPEN)
        if status is OrderStatus.OPEN and filled > 0:
            status = OrderStatus.PARTIALLY_FILLED
        ccxt_type = (raw.get("type") or "market").lower()
        trigger = _dec(raw.get("triggerPrice") or raw.get("stopPrice"))
        order_type = {
            ("market", False): OrderType.MARKET,
            ("limit", False): OrderType.LIMIT,
            ("market", True): OrderType.STOP,
            ("limit", True): OrderType.STOP_LIMIT,
        }.get((ccxt_type if ccxt_type in ("market", "limit") else "limit", trigger is not None), OrderType.LIMIT)
        fee = raw.get("fee") or {}
        fills = []
        if filled > 0:
            # ccxt does not return per-fill detail on order endpoints; one aggregate fill per state
            fills.append(
                Fill(
                    fill_id=f"{raw.get('id')}:{filled}",
                    price=_dec(raw.get("average")) or _dec(raw.get("price")) or Decimal(0),
                    quantity=filled,
                    fee=_dec(fee.get("cost")) or Decimal(0),
                    fee_currency=fee.get("currency") or "",
                )
            )
        tif = (raw.get("timeInForce") or "GTC").lower()
        self._symbols[client_id] = symbol
        return OrderResult(
            client_order_id=client_id,
            broker_order_id=str(raw.get("id") or ""),
            symbol=symbol,
            side=Side(raw.get("side") or "buy"),
            order_type=order_type,
            status=status,
            quantity=amount,
            filled_quantity=filled,
            average_price=_dec(raw.get("average")),
            price=_dec(raw.get("price")) if ccxt_type == "limit" else None,
            stop_price=trigger,
            time_in_force=TimeInForce(tif) if tif in {t.value for t in TimeInForce} else TimeInForce.GTC,
            reduce_only=bool(raw.get("reduceOnly")),
            fee=_dec(fee.get("cost")) or Decimal(0),
            fills=fills,
            raw=raw.get("info"),
        )


def _rebase_urls(urls: Any, base_url: str) -> Any:
    """Point every API url at ``base_url`` keeping the path (``https://fapi.x.com/fapi/v1`` ->
    ``http://127.0.0.1:port/fapi/v1``). Used for local fakes and self-hosted proxies."""
    if isinstance(urls, dict):
        return {key: _rebase_urls(value, base_url) for key, value in urls.items()}
    if isinstance(urls, str):
        return re.sub(r"^https?://[^/]+", base_url.rstrip("/"), urls)
    return urls
