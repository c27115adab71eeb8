"""Paper trading: a pure, deterministic matching engine plus a ``BrokerService`` around it.

Fill model
- Market orders fill on submission against the price source's quote: buys at the ask, sells at the
  bid (the last price when the quote has no bid/ask), moved against the trader by ``slippage_bps``.
- Limit orders that are marketable on arrival fill at the better of the limit and the slipped market
  price; otherwise they rest. Resting orders are matched by ``process_bar`` / ``process_quote``: a buy
  limit fills when the low (ask) trades at or below the limit, at the limit, or at the open when the
  bar gapped through it. Stops trigger when the high/low crosses the stop and then fill like a market
  (stop) or rest as a limit (stop-limit).
- Quote sizes (``bid_size``/``ask_size``) and ``Bar.volume * max_volume_ratio`` cap the quantity filled
  per event: the rest stays open (IOC cancels it, FOK fills all or nothing).
- Fees: ``fee_bps`` of the traded notional, charged in the quote currency.

Cash and positions
- Spot/stock: buying debits ``qty * price * multiplier + fee``; selling more than held is refused
  unless ``allow_short``.
- Perpetuals/futures: margin accounting. Opening needs ``notional / leverage`` of free cash; realized
  PnL and fees settle into cash; positions may be short.

The engine never touches a database: ``PaperEngine.state`` is a plain dataclass with
``to_dict``/``from_dict`` so the Django layer can persist it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from brokers.core.base import BrokerService, OrderGuard
from brokers.core.errors import InsufficientFunds, InvalidOrder, OrderNotFound
from brokers.core.instruments import default_instrument
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
from brokers.core.precision import round_price_for
from brokers.core.symbols import MarketType, NormalizedSymbol, parse_tradingview

ZERO = Decimal(0)
BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Quote:
    bid: Decimal | None = None
    ask: Decimal | None = None
    last: Decimal | None = None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    timestamp: dt.datetime | None = None

    def price_for(self, side: Side) -> Decimal | None:
        if side is Side.BUY:
            return self.ask or self.last
        return self.bid or self.last

    def size_for(self, side: Side) -> Decimal | None:
        return self.ask_size if side is Side.BUY else self.bid_size


@dataclass(frozen=True, slots=True)
class Bar:
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal | None = None
    timestamp: dt.datetime | None = None


PriceSource = Callable[[NormalizedSymbol], Quote | None]


@dataclass(slots=True)
class PaperPosition:
    quantity: Decimal = ZERO
    average_price: Decimal = ZERO


@dataclass(slots=True)
class PaperState:
    cash: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[NormalizedSymbol, PaperPosition] = field(default_factory=dict)
    orders: dict[str, OrderResult] = field(default_factory=dict)  # client_order_id -> order
    requests: dict[str, OrderRequest] = field(default_factory=dict)  # open orders' requests
    next_order_number: int = 1
    next_fill_number: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "cash": {k: str(v) for k, v in self.cash.items()},
            "positions": {
                str(sym): [str(p.quantity), str(p.average_price), _symbol_to_dict(sym)]
                for sym, p in self.positions.items()
                if p.quantity != 0
            },
            "next_order_number": self.next_order_number,
            "next_fill_number": self.next_fill_number,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PaperState:
        positions = {}
        for _key, (qty, avg, sym) in (data.get("positions") or {}).items():
            positions[_symbol_from_dict(sym)] = PaperPosition(Decimal(qty), Decimal(avg))
        return cls(
            cash={k: Decimal(v) for k, v in (data.get("cash") or {}).items()},
            positions=positions,
            next_order_number=int(data.get("next_order_number", 1)),
            next_fill_number=int(data.get("next_fill_number", 1)),
        )


def _symbol_to_dict(symbol: NormalizedSymbol) -> dict[str, Any]:
    return {
        "venue": symbol.venue,
        "base": symbol.base,
        "quote": symbol.quote,
        "market_type": str(symbol.market_type),
        "settle": symbol.settle,
        "expiry": symbol.expiry.isoformat() if symbol.expiry else None,
        "continuous": symbol.continuous,
    }


def _symbol_from_dict(data: dict[str, Any]) -> NormalizedSymbol:
    return NormalizedSymbol(
        venue=data["venue"],
        base=data["base"],
        quote=data["quote"],
        market_type=MarketType(data["market_type"]),
        settle=data.get("settle") or "",
        expiry=dt.date.fromisoformat(data["expiry"]) if data.get("expiry") else None,
        continuous=data.get("continuous"),
    )


class PaperEngine:
    def __init__(
        self,
        *,
        state: PaperState | None = None,
        price_source: PriceSource | None = None,
        slippage_bps: Decimal = ZERO,
        fee_bps: Decimal = ZERO,
        leverage: Decimal = Decimal(1),
        allow_short: bool = False,
        max_volume_ratio: Decimal | None = None,
        instruments: dict[NormalizedSymbol, Instrument] | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.state = state or PaperState()
        self.price_source = price_source
        self.slippage_bps = Decimal(slippage_bps)
        self.fee_bps = Decimal(fee_bps)
        self.leverage = Decimal(leverage)
        self.allow_short = allow_short
        self.max_volume_ratio = max_volume_ratio
        self.instruments = dict(instruments or {})
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.last_quotes: dict[NormalizedSymbol, Quote] = {}
        self.lock = threading.RLock()

    # ---------------------------------------------------------------- lookups
    def instrument(self, symbol: NormalizedSymbol) -> Instrument:
        found = self.instruments.get(symbol)
        if found is None:
            found = self.instruments[symbol] = default_instrument(symbol)
        return found

    def quote(self, symbol: NormalizedSymbol) -> Quote | None:
        quote = self.price_source(symbol) if self.price_source else None
        return quote or self.last_quotes.get(symbol)

    def order(self, client_order_id: str) -> OrderResult:
        try:
            return self.state.orders[client_order_id]
        except KeyError:
            raise OrderNotFound(f"paper order {client_order_id!r} not found") from None

    def order_by_broker_id(self, broker_order_id: str) -> OrderResult:
        for order in self.state.orders.values():
            if order.broker_order_id == broker_order_id:
                return order
        raise OrderNotFound(f"paper order {broker_order_id!r} not found")

    def open_orders(self) -> list[OrderResult]:
        return [o for o in self.state.orders.values() if not o.is_terminal]

    # ---------------------------------------------------------------- orders
    def submit(self, request: OrderRequest) -> OrderResult:
        with self.lock:
            existing = self.state.orders.get(request.client_order_id)
            if existing is not None:
                return existing  # idempotent: same client id, same order
            now = self.clock()
            order = OrderResult(
                client_order_id=request.client_order_id,
                broker_order_id=f"P{self.state.next_order_number}",
                symbol=request.symbol,
                side=request.side,
                order_type=request.order_type,
                status=OrderStatus.OPEN,
                quantity=request.quantity,
                price=request.price,
                stop_price=request.stop_price,
                time_in_force=request.time_in_force,
                reduce_only=request.reduce_only,
                created_at=now,
                updated_at=now,
            )
            self.state.next_order_number += 1
            try:
                self._check_reduce_only(request)
                if request.order_type is OrderType.MARKET:
                    quote = self.quote(request.symbol)
                    if quote is None or quote.price_for(request.side) is None:
                        raise InvalidOrder(f"{request.symbol}: no price available to fill a market order")
                    self._fill_from_quote(order, quote, limit=None)
                elif request.order_type is OrderType.LIMIT:
                    quote = self.quote(request.symbol)
                    if quote is not None:
                        self._fill_from_quote(order, quote, limit=request.price)
                else:
                    self._check_stop_on_arrival(order)
            except (InvalidOrder, InsufficientFunds) as error:
                if order.filled_quantity == 0:
                    order.status = OrderStatus.REJECTED
                    order.reject_reason = str(error)
                    self.state.orders[order.client_order_id] = order
                    raise
                order.status = OrderStatus.CANCELLED
                order.reject_reason = str(error)
            self._finish_time_in_force(order)
            self.state.orders[order.client_order_id] = order
            if not order.is_terminal:
                self.state.requests[order.client_order_id] = request
            return order

    def cancel(self, client_order_id: str) -> OrderResult:
        with self.lock:
            order = self.order(client_order_id)
            if order.is_terminal:
                return order
            order.status = OrderStatus.CANCELLED
            order.updated_at = self.clock()
            self.state.requests.pop(client_order_id, None)
            return order

    # ---------------------------------------------------------------- market events
    def process_quote(self, symbol: NormalizedSymbol, quote: Quote) -> list[OrderResult]:
        """Match resting orders of ``symbol`` against a new quote; returns the orders that changed."""
        with self.lock:
            self.last_quotes[symbol] = quote
            changed = []
            for order in self._resting(symbol):
                before = (order.status, order.filled_quantity)
                self._trigger_stop(order, high=quote.last or quote.ask, low=quote.last or quote.bid)
                awaiting_trigger = order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and not order.raw
                if not awaiting_trigger:
                    limit = order.price if order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
                    try:
                        self._fill_from_quote(order, quote, limit=limit)
                    except (InvalidOrder, InsufficientFunds) as error:
                        self._cancel_for(order, error)
                self._after_event(order, before, changed)
            return changed

    def process_bar(self, symbol: NormalizedSymbol, bar: Bar) -> list[OrderResult]:
        """Match resting orders against an OHLC bar (the paper broker's "latest stored bar")."""
        with self.lock:
            self.last_quotes[symbol] = Quote(last=bar.close, timestamp=bar.timestamp)
            available = None
            if self.max_volume_ratio is not None and bar.volume is not None:
                available = bar.volume * self.max_volume_ratio
            changed = []
            for order in self._resting(symbol):
                before = (order.status, order.filled_quantity)
                self._trigger_stop(order, high=bar.high, low=bar.low)
                price = self._bar_fill_price(order, bar)
                if price is not None:
                    quantity = order.remaining_quantity
                    if available is not None:
                        quantity = min(quantity, self._floor_to_step(order, available))
                    if quantity > 0:
                        try:
                            self._apply_fill(order, price, quantity, slipped=order.order_type is not OrderType.LIMIT and order.raw != "triggered-limit")
                        except (InvalidOrder, InsufficientFunds) as error:
                            self._cancel_for(order, error)
                        if available is not None:
                            available -= quantity
                self._after_event(order, before, changed)
            return changed

    # ---------------------------------------------------------------- internals
    def _resting(self, symbol: NormalizedSymbol) -> list[OrderResult]:
        return [o for o in self.state.orders.values() if o.symbol == symbol and not o.is_terminal]

    def _after_event(self, order: OrderResult, before: tuple, changed: list[OrderResult]) -> None:
        if order.status not in (OrderStatus.FILLED, OrderStatus.CANCELLED) and order.filled_quantity > 0:
            order.status = OrderStatus.PARTIALLY_FILLED
        if order.is_terminal:
            self.state.requests.pop(order.client_order_id, None)
        if (order.status, order.filled_quantity) != before:
            order.updated_at = self.clock()
            changed.append(order)

    def _cancel_for(self, order: OrderResult, error: Exception) -> None:
        order.status = OrderStatus.CANCELLED
        order.reject_reason = str(error)

    def _check_reduce_only(self, request: OrderRequest) -> None:
        if not request.reduce_only:
            return
        held = self.state.positions.get(request.symbol, PaperPosition()).quantity
        if held == 0 or (held > 0) == (request.side is Side.BUY):
            raise InvalidOrder(f"{request.symbol}: reduce-only {request.side} order but no position to reduce")

    def _check_stop_on_arrival(self, order: OrderResult) -> None:
        quote = self.quote(order.symbol)
        if quote is None:
            return
        price = quote.last or quote.price_for(order.side)
        if price is None:
            return
        self._trigger_stop(order, high=price, low=price)
        if order.raw in ("triggered", "triggered-limit"):
            limit = order.price if order.order_type is OrderType.STOP_LIMIT else None
            self._fill_from_quote(order, quote, limit=limit)

    def _trigger_stop(self, order: OrderResult, *, high: Decimal | None, low: Decimal | None) -> None:
        if order.order_type not in (OrderType.STOP, OrderType.STOP_LIMIT) or order.raw:
            return
        stop = order.stop_price
        crossed = (order.side is Side.BUY and high is not None and high >= stop) or (
            order.side is Side.SELL and low is not None and low <= stop
        )
        if crossed:
            order.raw = "triggered" if order.order_type is OrderType.STOP else "triggered-limit"

    def _bar_fill_price(self, order: OrderResult, bar: Bar) -> Decimal | None:
        buy = order.side is Side.BUY
        if order.order_type is OrderType.MARKET:
            return bar.open
        if order.order_type is OrderType.STOP:
            if order.raw != "triggered":
                return None
            # a gap through the stop fills at the open, otherwise at the stop
            return max(order.stop_price, bar.open) if buy else min(order.stop_price, bar.open)
        if order.order_type is OrderType.STOP_LIMIT and order.raw != "triggered-limit":
            return None
        limit = order.price
        if buy and bar.low <= limit:
            return min(limit, bar.open)
        if not buy and bar.high >= limit:
            return max(limit, bar.open)
        return None

    def _slipped(self, price: Decimal, side: Side) -> Decimal:
        if self.slippage_bps == 0:
            return price
        factor = self.slippage_bps / BPS
        return price * (1 + factor) if side is Side.BUY else price * (1 - factor)

    def _floor_to_step(self, order: OrderResult, quantity: Decimal) -> Decimal:
        step = self.instrument(order.symbol).qty_step
        return (quantity / step).to_integral_value(rounding="ROUND_DOWN") * step

    def _fill_from_quote(self, order: OrderResult, quote: Quote, *, limit: Decimal | None) -> None:
        market = quote.price_for(order.side)
        if market is None:
            return
        price = self._slipped(market, order.side)
        if limit is not None:
            if (order.side is Side.BUY and market > limit) or (order.side is Side.SELL and market < limit):
                return  # not marketable
            price = min(price, limit) if order.side is Side.BUY else max(price, limit)
        quantity = order.remaining_quantity
        size = quote.size_for(order.side)
        if size is not None:
            quantity = min(quantity, self._floor_to_step(order, size))
        if order.time_in_force is TimeInForce.FOK and quantity < order.remaining_quantity:
            return
        if quantity > 0:
            self._apply_fill(order, price, quantity, slipped=False)

    def _apply_fill(self, order: OrderResult, price: Decimal, quantity: Decimal, *, slipped: bool) -> None:
        instrument = self.instrument(order.symbol)
        if slipped:
            price = self._slipped(price, order.side)
        price = round_price_for(price, instrument, order.side)
        symbol = order.symbol
        notional = price * quantity * instrument.contract_multiplier
        fee = notional * self.fee_bps / BPS
        currency = symbol.settle or symbol.quote
        cash = self.state.cash.get(currency, ZERO)
        position = self.state.positions.get(symbol) or PaperPosition()
        signed = quantity * order.side.sign

        if symbol.is_derivative:
            new_cash, new_position = self._derivative_fill(position, signed, price, instrument, cash, fee, symbol)
        else:
            if order.side is Side.BUY:
                if notional + fee > cash:
                    raise InsufficientFunds(
                        f"{symbol}: buying {quantity.normalize():f} at {price.normalize():f} costs "
                        f"{(notional + fee).normalize():f} {currency}, cash is {cash.normalize():f}"
                    )
                new_cash = cash - notional - fee
            else:
                if not self.allow_short and quantity > position.quantity:
                    raise InsufficientFunds(
                        f"{symbol}: cannot sell {quantity.normalize():f}, holding {position.quantity.normalize():f}"
                    )
                new_cash = cash + notional - fee
            new_position = _merge_position(position, signed, price)

        self.state.cash[currency] = new_cash
        if new_position.quantity == 0:
            self.state.positions.pop(symbol, None)
        else:
            self.state.positions[symbol] = new_position
        fill = Fill(
            fill_id=f"F{self.state.next_fill_number}",
            price=price,
            quantity=quantity,
            fee=fee,
            fee_currency=currency,
            timestamp=self.clock(),
        )
        self.state.next_fill_number += 1
        filled_before = order.filled_quantity
        order.filled_quantity = filled_before + quantity
        order.average_price = (
            price
            if order.average_price is None
            else (order.average_price * filled_before + price * quantity) / order.filled_quantity
        )
        order.fee += fee
        order.fills.append(fill)
        order.status = OrderStatus.FILLED if order.remaining_quantity == 0 else OrderStatus.PARTIALLY_FILLED

    def _derivative_fill(self, position, signed, price, instrument, cash, fee, symbol):
        multiplier = instrument.contract_multiplier
        old = position.quantity
        realized = ZERO
        if old != 0 and (old > 0) != (signed > 0):
            closed = min(abs(signed), abs(old))
            direction = 1 if old > 0 else -1
            realized = (price - position.average_price) * closed * direction * multiplier
        new_position = _merge_position(position, signed, price)
        new_cash = cash + realized - fee
        increases_exposure = abs(new_position.quantity) > abs(old) or (old != 0 and (old > 0) != (new_position.quantity > 0))
        if increases_exposure:
            required = self._margin_used(exclude=symbol) + (
                abs(new_position.quantity) * new_position.average_price * multiplier / self.leverage
            )
            if required > new_cash:
                raise InsufficientFunds(
                    f"{symbol}: position of {new_position.quantity.normalize():f} needs margin "
                    f"{required.normalize():f}, cash after fees is {new_cash.normalize():f}"
                )
        return new_cash, new_position

    def _margin_used(self, *, exclude: NormalizedSymbol | None = None) -> Decimal:
        total = ZERO
        for sym, pos in self.state.positions.items():
            if sym == exclude or not sym.is_derivative:
                continue
            total += abs(pos.quantity) * pos.average_price * self.instrument(sym).contract_multiplier / self.leverage
        return total

    def _finish_time_in_force(self, order: OrderResult) -> None:
        if order.is_terminal:
            return
        if order.filled_quantity > 0 and order.status is OrderStatus.OPEN:
            order.status = OrderStatus.PARTIALLY_FILLED
        if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK) and order.order_type in (
            OrderType.MARKET,
            OrderType.LIMIT,
        ):
            order.status = OrderStatus.CANCELLED if order.remaining_quantity > 0 else OrderStatus.FILLED
            if order.filled_quantity > 0 and order.status is OrderStatus.CANCELLED:
                order.reject_reason = f"{order.time_in_force}: unfilled remainder cancelled"


def _merge_position(position: PaperPosition, signed: Decimal, price: Decimal) -> PaperPosition:
    old = position.quantity
    new_qty = old + signed
    if new_qty == 0:
        return PaperPosition()
    if old == 0 or ((old > 0) != (new_qty > 0) and abs(signed) > abs(old)):
        # opened fresh, or flipped through zero: the remainder opens at this price
        return PaperPosition(new_qty, price)
    if (old > 0) == (signed > 0):
        average = (position.average_price * abs(old) + price * abs(signed)) / abs(new_qty)
        return PaperPosition(new_qty, average)
    return PaperPosition(new_qty, position.average_price)  # reduced: average unchanged


class PaperBroker(BrokerService):
    """``BrokerService`` over a ``PaperEngine``. The default broker of every new user."""

    broker_name = "paper"

    def __init__(self, engine: PaperEngine | None = None, *, guards: list[OrderGuard] | None = None, **engine_options):
        super().__init__(guards=guards)
        self.engine = engine or PaperEngine(**engine_options)

    def instrument(self, symbol: NormalizedSymbol) -> Instrument:
        return self.engine.instrument(symbol)

    def reference_price(self, symbol: NormalizedSymbol) -> Decimal | None:
        quote = self.engine.quote(symbol)
        return quote.last or quote.ask or quote.bid if quote else None

    def _send_order(self, request: OrderRequest) -> OrderResult:
        return self.engine.submit(request)

    def _cancel(self, *, client_order_id, broker_order_id, symbol) -> OrderResult:
        if client_order_id is None:
            client_order_id = self.engine.order_by_broker_id(broker_order_id).client_order_id
        return self.engine.cancel(client_order_id)

    def get_order(self, *, client_order_id=None, broker_order_id=None, symbol=None) -> OrderResult:
        if client_order_id is not None:
            return self.engine.order(client_order_id)
        if broker_order_id is not None:
            return self.engine.order_by_broker_id(broker_order_id)
        raise ValueError("give client_order_id or broker_order_id")

    def open_orders(self, symbol: NormalizedSymbol | None = None) -> list[OrderResult]:
        return [o for o in self.engine.open_orders() if symbol is None or o.symbol == symbol]

    def positions(self) -> list[Position]:
        result = []
        for symbol, pos in self.engine.state.positions.items():
            quote = self.engine.last_quotes.get(symbol)
            pnl = None
            if quote and quote.last is not None:
                pnl = (quote.last - pos.average_price) * pos.quantity * self.instrument(symbol).contract_multiplier
            result.append(Position(symbol, pos.quantity, pos.average_price, pnl))
        return result

    def balances(self) -> list[Balance]:
        locked = {}
        for symbol in list(self.engine.state.positions):
            if symbol.is_derivative:
                ccy = symbol.settle or symbol.quote
                locked[ccy] = locked.get(ccy, ZERO)
        margin = self.engine._margin_used()
        result = []
        for currency, amount in self.engine.state.cash.items():
            used = margin if currency in locked else ZERO
            result.append(Balance(currency, amount - used, used))
        return result

    def process_bar(self, symbol: NormalizedSymbol | str, bar: Bar) -> list[OrderResult]:
        symbol = parse_tradingview(symbol) if isinstance(symbol, str) else symbol
        return [self._record(o) for o in self.engine.process_bar(symbol, bar)]

    def process_quote(self, symbol: NormalizedSymbol | str, quote: Quote) -> list[OrderResult]:
        symbol = parse_tradingview(symbol) if isinstance(symbol, str) else symbol
        return [self._record(o) for o in self.engine.process_quote(symbol, quote)]
