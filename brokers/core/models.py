"""Normalized order, position and instrument models shared by every adapter.

Quantities, prices and cash are ``Decimal``. Quantities are in the instrument's trading unit as the
*user* thinks of it: shares for stocks (also Taiwan stocks: 1 common lot = 1000 shares), contracts for
futures/perpetuals, base currency for spot crypto and forex.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from brokers.core.symbols import MarketType, NormalizedSymbol

__all__ = [
    "Balance",
    "Fill",
    "Instrument",
    "MarketType",
    "OrderRequest",
    "OrderResult",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "Position",
    "Side",
    "TimeInForce",
]


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    DAY = "day"


class OrderStatus(StrEnum):
    QUEUED = "queued"  # held by us until the market opens (account setting)
    PENDING = "pending"  # sent, not yet acknowledged
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: NormalizedSymbol
    side: Side
    quantity: Decimal
    client_order_id: str
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    # Broker-specific knobs (e.g. Shioaji ``order_cond``/``octype``, ccxt params). Never required.
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.quantity, Decimal):
            raise TypeError("quantity must be a Decimal")
        if self.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {self.quantity}")
        if not self.client_order_id:
            raise ValueError("client_order_id is required (it makes retries idempotent)")
        if self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and self.price is None:
            raise ValueError(f"{self.order_type} order needs a price")
        if self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and self.stop_price is None:
            raise ValueError(f"{self.order_type} order needs a stop_price")
        for name in ("price", "stop_price"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, Decimal) or value <= 0):
                raise ValueError(f"{name} must be a positive Decimal, got {value!r}")

    def with_changes(self, **changes: Any) -> OrderRequest:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Fill:
    fill_id: str
    price: Decimal
    quantity: Decimal
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    timestamp: dt.datetime | None = None


@dataclass(slots=True)
class OrderResult:
    client_order_id: str
    broker_order_id: str
    symbol: NormalizedSymbol
    side: Side
    order_type: OrderType
    status: OrderStatus
    quantity: Decimal
    filled_quantity: Decimal = Decimal(0)
    average_price: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    fee: Decimal = Decimal(0)
    fills: list[Fill] = field(default_factory=list)
    reject_reason: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    raw: Any = None
    queued_until: dt.datetime | None = None  # QUEUED orders: when the market opens

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One change of an order as seen by the adapter (new status and/or a new fill)."""

    sequence: int
    client_order_id: str
    broker_order_id: str
    status: OrderStatus
    filled_quantity: Decimal
    fill: Fill | None = None
    timestamp: dt.datetime | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class Position:
    symbol: NormalizedSymbol
    quantity: Decimal  # signed: negative = short
    average_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    raw: Any = None

    @property
    def side(self) -> Side | None:
        if self.quantity > 0:
            return Side.BUY
        if self.quantity < 0:
            return Side.SELL
        return None


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    free: Decimal
    locked: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """Account-level facts used by risk guards. Fields a broker does not report stay None."""

    equity: Decimal | None = None
    buying_power: Decimal | None = None
    is_margin_account: bool | None = None
    pattern_day_trader: bool | None = None
    daytrade_count: int | None = None
    daytrading_buying_power: Decimal | None = None
    currency: str = ""


@dataclass(frozen=True, slots=True)
class Instrument:
    """Trading rules of one instrument.

    ``tick_bands`` overrides ``tick_size`` for markets whose tick depends on the price (TWSE/TPEx):
    a tuple of ``(upper_price_bound_exclusive, tick)``, ascending; the last bound may be None (no limit).
    """

    symbol: NormalizedSymbol
    native_symbol: str
    tick_size: Decimal
    qty_step: Decimal
    min_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    contract_multiplier: Decimal = Decimal(1)
    max_qty: Decimal | None = None
    tick_bands: tuple[tuple[Decimal | None, Decimal], ...] = ()

    @property
    def market_type(self) -> MarketType:
        return self.symbol.market_type

    def tick_for(self, price: Decimal) -> Decimal:
        for upper, tick in self.tick_bands:
            if upper is None or price < upper:
                return tick
        return self.tick_size
