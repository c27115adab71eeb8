"""Turn one command into an order for one account: symbol mapping, sizing, filters. Pure: no Django.

``plan_order`` returns an ``OrderPlan`` or a ``Skip`` with a human-readable reason for the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from execution.signals import (
    AccountRoute,
    Action,
    Command,
    Direction,
    DriftPolicy,
    OrderKind,
    PositionHint,
    SizingMode,
)

ZERO = Decimal(0)
QUANTUM = Decimal("0.000000000001")


@dataclass(frozen=True, slots=True)
class OrderPlan:
    symbol: str  # TradingView form EXCHANGE:SYMBOL
    side: str  # buy | sell
    quantity: Decimal
    order_type: OrderKind
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    note: str = ""  # how the size was reached, for the audit trail


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What the broker (and our records) say about the account right before the order."""

    position: Decimal = ZERO  # signed, in the symbol
    equity: Decimal | None = None
    price: Decimal | None = None  # reference price for cash/percent/risk sizing
    orders_today: int = 0
    allocation_share: Decimal | None = None  # asset-manager split of the alert quantity
    now: dt.datetime | None = None


def resolve_symbol(raw: str, route: AccountRoute) -> str | Skip:
    text = raw.strip().upper()
    bare = text.split(":", 1)[-1]
    overrides = {k.upper(): v.upper() for k, v in route.symbol_overrides.items()}
    if text in overrides:
        return overrides[text]
    if bare in overrides:
        return overrides[bare]
    if ":" in text:
        return text
    if route.default_exchange:
        return f"{route.default_exchange.upper()}:{text}"
    return Skip(f"{raw} has no exchange prefix and the account has no default exchange or symbol mapping")


def bare_symbol(symbol: str) -> str:
    return symbol.split(":", 1)[-1].upper()


def expected_drift(hint: PositionHint | None, command: Command, position: Decimal) -> str | None:
    """A description of the mismatch between the strategy's position and the account's, or None."""
    if hint is None or hint.prev_market_position is None:
        return None
    previous = hint.prev_market_position
    actual = "flat" if position == 0 else ("long" if position > 0 else "short")
    if previous != actual:
        return f"strategy was {previous} before this signal but the account is {actual} ({position.normalize():f})"
    return None


def plan_order(
    command: Command,
    route: AccountRoute,
    facts: AccountFacts,
    *,
    hint: PositionHint | None = None,
    drift_policy: DriftPolicy = DriftPolicy.WARN,
) -> OrderPlan | Skip:
    symbol = resolve_symbol(command.symbol, route)
    if isinstance(symbol, Skip):
        return symbol
    filters = route.filters
    if filters.allowed_symbols and bare_symbol(symbol) not in {bare_symbol(s) for s in filters.allowed_symbols}:
        return Skip(f"{bare_symbol(symbol)} is not in the account's allowed symbols")
    position = facts.position

    if command.action is Action.EXIT:
        if position == 0:
            return Skip(f"no open position in {symbol} to close")
        quantity, note = _exit_quantity(command, route, facts, hint)
        side = "sell" if position > 0 else "buy"
        return _finish(command, symbol, side, min(quantity, abs(position)), reduce_only=True, note=note)

    if filters.max_orders_per_day is not None and facts.orders_today >= filters.max_orders_per_day:
        return Skip(f"max orders per day reached ({filters.max_orders_per_day})")
    now = facts.now or dt.datetime.now(dt.UTC)
    if filters.session is not None and not filters.session.allows(now):
        return Skip(f"outside the trading session ({filters.session.start}-{filters.session.end} UTC)")

    if drift_policy is DriftPolicy.SYNC and hint is not None and hint.target_signed is not None:
        target = _scaled_target(hint.target_signed, route, command)
        if isinstance(target, Skip):
            return target
        delta = target - position
        if delta == 0:
            return Skip(f"account already at the strategy's position ({target.normalize():f})")
        side = "buy" if delta > 0 else "sell"
        quantity, note = abs(delta), f"trade to target position {target.normalize():f}"
    else:
        sized = _size(command, route, facts)
        if isinstance(sized, Skip):
            return sized
        quantity, note = sized
        side = command.action.value

    signed = quantity if side == "buy" else -quantity
    increases = position == 0 or (position > 0) == (signed > 0) or abs(signed) > abs(position)
    if filters.direction is Direction.LONG_ONLY and side == "sell":
        if position <= 0:
            return Skip("long-only account: a sell would open a short")
        if quantity > position:
            quantity, note = position, f"{note}; capped to the long position (long-only)"
    if filters.direction is Direction.SHORT_ONLY and side == "buy":
        if position >= 0:
            return Skip("short-only account: a buy would open a long")
        if quantity > -position:
            quantity, note = -position, f"{note}; capped to the short position (short-only)"
    if filters.ignore_if_in_position and position != 0 and increases and (position > 0) == (side == "buy"):
        return Skip(f"already in a position in {symbol} ({position.normalize():f})")
    if filters.max_position is not None:
        after = position + (quantity if side == "buy" else -quantity)
        if abs(after) > filters.max_position and abs(after) > abs(position):
            room = filters.max_position - abs(position) if (position >= 0) == (side == "buy") else None
            if room is None:  # reversing through zero: allow up to max on the other side
                room = abs(position) + filters.max_position
            if room <= 0:
                return Skip(f"max position {filters.max_position.normalize():f} reached")
            quantity, note = room, f"{note}; capped by max position {filters.max_position.normalize():f}"
    return _finish(command, symbol, side, quantity, reduce_only=False, note=note)


def _exit_quantity(command: Command, route: AccountRoute, facts: AccountFacts,
                   hint: PositionHint | None) -> tuple[Decimal, str]:
    """How much of the account's position a (partial) exit closes. The strategy's quantity is in the
    strategy's units, so it is scaled the way the entry was: by the allocation share or the multiplier; for
    sizing rules with no fixed ratio (fixed, cash, equity, risk) by the fraction of the strategy's position it
    closes, known when the alert says what remains ({{strategy.market_position_size}}; native runs always do).
    Without that, the quantity is used as sent."""
    position = abs(facts.position)
    if command.quantity is None:
        return position, "close position"
    quantity = command.quantity
    if facts.allocation_share is not None:
        return quantity * facts.allocation_share, f"close {facts.allocation_share:.4%} of the exit quantity"
    mode = route.sizing.mode
    if mode is SizingMode.AS_ALERT:
        return quantity, "close the exit quantity"
    if mode is SizingMode.MULTIPLIER:
        return quantity * route.sizing.value, f"close exit quantity x {route.sizing.value.normalize():f}"
    remaining = hint.market_position_size if hint is not None and hint.market_position is not None else None
    if hint is not None and hint.market_position == "flat":
        remaining = ZERO
    if remaining is not None and quantity + abs(remaining) > 0:
        fraction = quantity / (quantity + abs(remaining))
        return position * fraction, f"close {fraction:.2%} of the position, as the strategy did"
    return quantity, "exit quantity as sent (add {{strategy.market_position_size}} to the alert to scale it)"


def _scaled_target(target: Decimal, route: AccountRoute, command: Command) -> Decimal | Skip:
    mode = route.sizing.mode
    if mode is SizingMode.AS_ALERT:
        return target
    if mode is SizingMode.MULTIPLIER:
        return target * route.sizing.value
    if mode is SizingMode.FIXED:
        return ZERO if target == 0 else (route.sizing.value if target > 0 else -route.sizing.value)
    return Skip(f"cannot trade to the strategy's position with {mode.value} sizing; use warn or skip drift policy")


def _size(command: Command, route: AccountRoute, facts: AccountFacts) -> tuple[Decimal, str] | Skip:
    rule = route.sizing
    alert_qty = command.quantity
    price = command.limit_price or command.stop_price or command.reference_price or facts.price
    if facts.allocation_share is not None:
        if alert_qty is None:
            return Skip("allocation needs a quantity in the alert")
        return alert_qty * facts.allocation_share, f"{facts.allocation_share:.4%} of the alert quantity"
    if rule.mode is SizingMode.AS_ALERT:
        if alert_qty is None:
            return Skip("the alert has no quantity and the account sizes 'as in the alert'")
        return alert_qty, "quantity from the alert"
    if rule.mode is SizingMode.FIXED:
        return rule.value, "fixed quantity"
    if rule.mode is SizingMode.MULTIPLIER:
        if alert_qty is None:
            return Skip("the alert has no quantity to multiply")
        return alert_qty * rule.value, f"alert quantity x {rule.value.normalize():f}"
    if price is None or price <= 0:
        return Skip(f"no reference price to size by {rule.mode.value}")
    if rule.mode is SizingMode.FIXED_CASH:
        return rule.value / price, f"{rule.value.normalize():f} cash at {price.normalize():f}"
    if facts.equity is None or facts.equity <= 0:
        return Skip("account equity unknown or zero")
    if rule.mode is SizingMode.PERCENT_EQUITY:
        cash = facts.equity * rule.value / 100
        return cash / price, f"{rule.value.normalize():f}% of equity {facts.equity.normalize():f}"
    if rule.mode is SizingMode.RISK:
        distance = abs(price - command.stop_loss) if command.stop_loss is not None else rule.stop_distance
        if not distance:
            return Skip("risk sizing needs a stop-loss in the alert or a stop distance on the account")
        risk_cash = facts.equity * rule.value / 100
        return risk_cash / distance, f"risk {rule.value.normalize():f}% of equity over stop distance {distance.normalize():f}"
    return Skip(f"unknown sizing mode {rule.mode}")


def _finish(command: Command, symbol: str, side: str, quantity: Decimal, *, reduce_only: bool, note: str):
    quantity = quantity.quantize(QUANTUM, rounding=ROUND_DOWN)
    if quantity <= 0:
        return Skip("sized quantity is zero")
    order_type = command.order_type if command.action in (Action.BUY, Action.SELL) else OrderKind.MARKET
    return OrderPlan(
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=order_type,
        limit_price=command.limit_price if order_type in (OrderKind.LIMIT, OrderKind.STOP_LIMIT) else None,
        stop_price=command.stop_price if order_type in (OrderKind.STOP, OrderKind.STOP_LIMIT) else None,
        reduce_only=reduce_only,
        note=note,
    )
