"""The normalized Signal every path (TradingView webhook, native strategy runner, manual order) hands to
the execution core. Pure data, no Django: build one, then call ``execution.services.submit_signal``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class SignalSource(StrEnum):
    WEBHOOK = "webhook"
    NATIVE = "native"
    MANUAL = "manual"


class Action(StrEnum):
    BUY = "buy"  # open or add long / reduce short
    SELL = "sell"  # open or add short / reduce long
    EXIT = "exit"  # flatten the position in the symbol
    CANCEL = "cancel"  # cancel this signal source's open orders in the symbol


class OrderKind(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class SizingMode(StrEnum):
    AS_ALERT = "as_alert"  # the quantity carried by the signal
    FIXED = "fixed"  # `value` units
    MULTIPLIER = "multiplier"  # signal quantity x `value`
    PERCENT_EQUITY = "percent_equity"  # `value` % of account equity, converted at the reference price
    FIXED_CASH = "fixed_cash"  # `value` in quote currency, converted at the reference price
    RISK = "risk"  # risk `value` % of equity over the stop distance


class DriftPolicy(StrEnum):
    WARN = "warn"  # record the drift, trade the signal as sent
    SKIP = "skip"  # record the drift, do not trade
    SYNC = "sync"  # trade to the strategy's target position instead


class Direction(StrEnum):
    BOTH = "both"
    LONG_ONLY = "long_only"
    SHORT_ONLY = "short_only"


@dataclass(frozen=True, slots=True)
class Command:
    action: Action
    symbol: str  # as sent (TradingView ticker "BINANCE:BTCUSDT" or bare "BTCUSDT")
    quantity: Decimal | None = None
    order_type: OrderKind = OrderKind.MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    reference_price: Decimal | None = None  # e.g. {{close}}; used for cash/percent sizing

    @property
    def is_exit(self) -> bool:
        return self.action in (Action.EXIT, Action.CANCEL)


@dataclass(frozen=True, slots=True)
class PositionHint:
    """What the TradingView strategy believes the position is after this signal."""

    market_position: str | None = None  # long | short | flat
    prev_market_position: str | None = None
    market_position_size: Decimal | None = None  # absolute size

    @property
    def target_signed(self) -> Decimal | None:
        if self.market_position is None:
            return None
        if self.market_position == "flat":
            return Decimal(0)
        if self.market_position_size is None:
            return None
        sign = -1 if self.market_position == "short" else 1
        return sign * abs(self.market_position_size)


@dataclass(frozen=True, slots=True)
class SizingRule:
    mode: SizingMode = SizingMode.AS_ALERT
    value: Decimal = Decimal(1)
    stop_distance: Decimal | None = None  # for RISK when the signal has no stop-loss


@dataclass(frozen=True, slots=True)
class SessionWindow:
    """Trading session in UTC: weekdays (0=Mon) and a start/end time "HH:MM" (end may wrap midnight)."""

    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    start: str = "00:00"
    end: str = "24:00"

    def allows(self, moment: dt.datetime) -> bool:
        moment = moment.astimezone(dt.UTC)
        if moment.weekday() not in self.weekdays:
            return False
        now = moment.strftime("%H:%M")
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end


@dataclass(frozen=True, slots=True)
class Filters:
    direction: Direction = Direction.BOTH
    allowed_symbols: tuple[str, ...] = ()  # empty = all; compared on the bare symbol, case-insensitive
    session: SessionWindow | None = None
    max_position: Decimal | None = None  # absolute position size after the order
    max_orders_per_day: int | None = None
    ignore_if_in_position: bool = False  # skip entries while a position is open in the symbol


@dataclass(frozen=True, slots=True)
class AccountRoute:
    """One account a signal goes to, with how to size and filter it there."""

    account_id: int
    sizing: SizingRule = field(default_factory=SizingRule)
    filters: Filters = field(default_factory=Filters)
    default_exchange: str = ""  # prefix for bare tickers ("BTCUSDT" -> "BINANCE:BTCUSDT")
    symbol_overrides: dict[str, str] = field(default_factory=dict)  # "BTCUSDT" -> "BYBIT:BTCUSDT.P"
    weight: Decimal | None = None  # asset-manager allocation weight (pro-rata when None)


@dataclass(frozen=True, slots=True)
class Signal:
    source: SignalSource
    owner_id: int
    idempotency_key: str  # unique per tenant; the same key never executes twice
    commands: tuple[Command, ...]
    routes: tuple[AccountRoute, ...]
    binding_id: int | None = None
    deployment_id: int | None = None
    alert_id: int | None = None
    signal_time: dt.datetime | None = None
    position_hint: PositionHint | None = None
    drift_policy: DriftPolicy = DriftPolicy.WARN
    requires_approval: bool = False
    approval_expires_after: dt.timedelta = dt.timedelta(minutes=15)
    allocation: str = "per_account"  # per_account | equity | weights (asset managers split the alert quantity)

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def command_from_json(data: dict[str, Any]) -> Command:
    return Command(
        action=Action(data["action"]),
        symbol=data["symbol"],
        quantity=_dec(data.get("quantity")),
        order_type=OrderKind(data.get("order_type") or OrderKind.MARKET),
        limit_price=_dec(data.get("limit_price")),
        stop_price=_dec(data.get("stop_price")),
        take_profit=_dec(data.get("take_profit")),
        stop_loss=_dec(data.get("stop_loss")),
        reference_price=_dec(data.get("reference_price")),
    )


def route_from_json(data: dict[str, Any]) -> AccountRoute:
    sizing = data.get("sizing") or {}
    filters = data.get("filters") or {}
    session = filters.get("session")
    return AccountRoute(
        account_id=int(data["account_id"]),
        sizing=SizingRule(
            mode=SizingMode(sizing.get("mode", SizingMode.AS_ALERT)),
            value=Decimal(str(sizing.get("value", "1"))),
            stop_distance=_dec(sizing.get("stop_distance")),
        ),
        filters=Filters(
            direction=Direction(filters.get("direction", Direction.BOTH)),
            allowed_symbols=tuple(filters.get("allowed_symbols") or ()),
            session=SessionWindow(
                weekdays=tuple(session["weekdays"]), start=session["start"], end=session["end"]
            )
            if session
            else None,
            max_position=_dec(filters.get("max_position")),
            max_orders_per_day=filters.get("max_orders_per_day"),
            ignore_if_in_position=bool(filters.get("ignore_if_in_position")),
        ),
        default_exchange=data.get("default_exchange", ""),
        symbol_overrides=dict(data.get("symbol_overrides") or {}),
        weight=_dec(data.get("weight")),
    )


def position_hint_from_json(data: dict[str, Any] | None) -> PositionHint | None:
    if not data:
        return None
    return PositionHint(
        market_position=data.get("market_position"),
        prev_market_position=data.get("prev_market_position"),
        market_position_size=_dec(data.get("market_position_size")),
    )
