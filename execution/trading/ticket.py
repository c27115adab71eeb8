"""Validation of the manual order ticket. Pure: no Django, no broker calls.

The ticket never sends more than the user asked for: quantities round DOWN to the instrument's lot
step, a close is capped at the open position, and on an account that cannot sell short a sell may not
exceed what is held. Limit prices go to the nearest tick (the broker layer's rule, so what the
confirmation sheet shows is exactly what the broker receives).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from brokers.core.models import Instrument, Side
from brokers.core.precision import round_price_for, round_quantity

ZERO = Decimal(0)
SIDES = ("buy", "sell")
ORDER_TYPES = ("market", "limit")


@dataclass(frozen=True, slots=True)
class TicketInput:
    """What the user typed, as strings (straight from the form)."""

    symbol: str
    side: str
    quantity: str
    order_type: str = "market"
    limit_price: str = ""
    close_only: bool = False


@dataclass(frozen=True, slots=True)
class MarketFacts:
    """What the broker says about the symbol on this account right now."""

    instrument: Instrument
    position: Decimal = ZERO  # signed: negative = short
    reference_price: Decimal | None = None  # last price, for the value estimate of market orders
    can_short: bool = False


@dataclass(frozen=True, slots=True)
class CheckedTicket:
    symbol: str
    side: str
    quantity: Decimal
    order_type: str
    limit_price: Decimal | None
    close_only: bool
    estimated_price: Decimal | None
    estimated_value: Decimal | None
    quote_currency: str
    notes: tuple[str, ...] = ()


@dataclass
class TicketInvalid(Exception):
    """Field -> message for the user; "__all__" for problems not tied to one field."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(self.errors.values())


def fmt(value: Decimal) -> str:
    """A Decimal as the user would write it: no exponent, no trailing zeros."""
    text = f"{value.normalize():f}"
    return text


def parse_decimal(text: str) -> Decimal | None:
    cleaned = (text or "").strip().replace(",", "").replace("_", "")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def check_ticket(raw: TicketInput, facts: MarketFacts) -> CheckedTicket:
    """The order the ticket will place, or TicketInvalid with a message per field."""
    errors: dict[str, str] = {}
    notes: list[str] = []
    instrument = facts.instrument
    symbol = str(instrument.symbol)
    side = (raw.side or "").lower()
    order_type = (raw.order_type or "market").lower()
    if side not in SIDES:
        errors["side"] = "Choose Buy or Sell."
    if order_type not in ORDER_TYPES:
        errors["order_type"] = "Choose Market or Limit."

    requested = parse_decimal(raw.quantity)
    quantity = ZERO
    if requested is None or requested <= 0:
        errors["quantity"] = "Enter a quantity greater than zero."
    elif side in SIDES:
        quantity = round_quantity(requested, instrument.qty_step)
        if quantity != requested:
            notes.append(f"Quantity rounded down to {fmt(quantity)} (lot size {fmt(instrument.qty_step)}).")
        quantity = _apply_position_rules(raw, facts, side, quantity, symbol, errors, notes)
        if "quantity" not in errors and "side" not in errors:
            minimum = max(instrument.min_qty, instrument.qty_step)
            if quantity <= 0 or quantity < instrument.min_qty:
                errors["quantity"] = (
                    f"The minimum quantity for {symbol} is {fmt(minimum)} (lot size {fmt(instrument.qty_step)})."
                )
            elif instrument.max_qty is not None and quantity > instrument.max_qty:
                errors["quantity"] = f"The maximum quantity for {symbol} is {fmt(instrument.max_qty)}."

    limit_price = None
    if order_type == "limit":
        typed = parse_decimal(raw.limit_price)
        if typed is None or typed <= 0:
            errors["limit_price"] = "Enter a limit price greater than zero."
        else:
            limit_price = round_price_for(typed, instrument, Side(side) if side in SIDES else Side.BUY)
            if limit_price <= 0:
                errors["limit_price"] = f"The price rounds to zero at tick {fmt(instrument.tick_for(typed))}."
            elif limit_price != typed:
                notes.append(f"Limit price rounded to {fmt(limit_price)} (tick {fmt(instrument.tick_for(typed))}).")

    estimated_price = limit_price if order_type == "limit" else facts.reference_price
    estimated_value = None
    if estimated_price is not None and quantity > 0:
        estimated_value = quantity * estimated_price * instrument.contract_multiplier
        if (
            instrument.min_notional > 0
            and estimated_value < instrument.min_notional
            and "quantity" not in errors
            and not raw.close_only
        ):
            errors["quantity"] = (
                f"Order value {fmt(estimated_value)} {instrument.symbol.quote} is below the minimum "
                f"{fmt(instrument.min_notional)} for {symbol}."
            )
    if errors:
        raise TicketInvalid(errors)
    return CheckedTicket(
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=order_type,
        limit_price=limit_price,
        close_only=raw.close_only,
        estimated_price=estimated_price,
        estimated_value=estimated_value,
        quote_currency=instrument.symbol.quote,
        notes=tuple(notes),
    )


def _apply_position_rules(
    raw: TicketInput, facts: MarketFacts, side: str, quantity: Decimal, symbol: str,
    errors: dict[str, str], notes: list[str],
) -> Decimal:
    position = facts.position
    step = facts.instrument.qty_step
    if raw.close_only:
        if position == 0:
            errors["quantity"] = f"There is no open position in {symbol} to close."
            return quantity
        closing_side = "sell" if position > 0 else "buy"
        if side != closing_side:
            held = "long" if position > 0 else "short"
            errors["side"] = f"You are {held} {fmt(abs(position))} {symbol}: closing it means you {closing_side}."
            return quantity
        held = round_quantity(abs(position), step)
        if quantity > held:
            notes.append(f"Capped at the open position ({fmt(held)}).")
            return held
        return quantity
    if side == "sell" and not facts.can_short and quantity > max(position, ZERO):
        if position <= 0:
            errors["quantity"] = f"You hold no {symbol}, and this account cannot sell short."
        else:
            errors["quantity"] = (
                f"You hold {fmt(position)} {symbol}; this account cannot sell more than it holds."
            )
    return quantity
