"""Rounding quantities and prices to an instrument's lot/tick rules.

Quantity: always ROUND_DOWN to the quantity step, so we never trade more than asked and never sell
more than held. A reduce-only/sell order is additionally capped at the held position.

Price: rounded to the NEAREST tick. Rounding a buy limit down / a sell limit up ("always passive") is
wrong for stop orders and for marketable limits used as protected market orders, where the user's
number is a trigger or a worst acceptable price and moving it a whole tick away changes the fill.
The nearest tick moves the price by at most half a tick; an exact tie goes to the passive side
(buy down, sell up) so a tie never makes an order more aggressive than requested.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

from brokers.core.errors import InvalidOrder, below_minimum_message
from brokers.core.models import Instrument, OrderRequest, OrderType, Side


def round_quantity(quantity: Decimal, step: Decimal) -> Decimal:
    if step <= 0:
        return quantity
    return (quantity / step).to_integral_value(rounding=ROUND_DOWN) * step


def round_price(price: Decimal, tick: Decimal, side: Side) -> Decimal:
    if tick <= 0:
        return price
    lower = (price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
    upper = (price / tick).to_integral_value(rounding=ROUND_CEILING) * tick
    below, above = price - lower, upper - price
    if below < above:
        return lower
    if above < below:
        return upper
    return lower if side is Side.BUY else upper


def round_price_for(price: Decimal, instrument: Instrument, side: Side) -> Decimal:
    """Round with the tick that applies at the rounded price (price-banded ticks on TWSE/TPEx)."""
    tick = instrument.tick_for(price)
    rounded = round_price(price, tick, side)
    # crossing a band edge can change the tick (e.g. 49.99 -> 50 on TWSE): re-check with the new tick
    new_tick = instrument.tick_for(rounded)
    if new_tick != tick:
        rounded = round_price(price, new_tick, side)
    return rounded


def normalize_order(
    request: OrderRequest,
    instrument: Instrument,
    *,
    reference_price: Decimal | None = None,
    position_quantity: Decimal | None = None,
) -> OrderRequest:
    """Return the request with quantity/prices on the instrument's grid, or raise InvalidOrder.

    ``reference_price`` (last price) is used for the min-notional check of market orders.
    ``position_quantity`` (signed) caps reduce-only orders at what is held.
    """
    quantity = round_quantity(request.quantity, instrument.qty_step)
    if request.reduce_only and position_quantity is not None:
        held = abs(position_quantity)
        closes_position = (position_quantity > 0 and request.side is Side.SELL) or (
            position_quantity < 0 and request.side is Side.BUY
        )
        if not closes_position or held == 0:
            raise InvalidOrder(f"{request.symbol}: reduce-only {request.side} order but no position to reduce")
        quantity = min(quantity, round_quantity(held, instrument.qty_step))

    name = str(request.symbol)
    if quantity <= 0 or quantity < instrument.min_qty:
        raise InvalidOrder(
            below_minimum_message("quantity", request.quantity, max(instrument.min_qty, instrument.qty_step), name)
            + f" (after rounding to step {instrument.qty_step.normalize():f}: {quantity.normalize():f})"
        )
    if instrument.max_qty is not None and quantity > instrument.max_qty:
        raise InvalidOrder(f"{name}: quantity {quantity} exceeds the maximum {instrument.max_qty}")

    price = request.price
    if price is not None:
        price = round_price_for(price, instrument, request.side)
    stop_price = request.stop_price
    if stop_price is not None:
        stop_price = round_price_for(stop_price, instrument, request.side)
    if (price is not None and price <= 0) or (stop_price is not None and stop_price <= 0):
        raise InvalidOrder(f"{name}: price rounds to zero at tick {instrument.tick_size}")

    notional_price = price if request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
    notional_price = notional_price or stop_price or reference_price
    if instrument.min_notional > 0 and notional_price is not None:
        notional = quantity * notional_price * instrument.contract_multiplier
        if notional < instrument.min_notional:
            raise InvalidOrder(
                f"{name}: order value {notional.normalize():f} ({quantity.normalize():f} x "
                f"{notional_price.normalize():f}) is below the minimum notional "
                f"{instrument.min_notional.normalize():f}"
            )
    return request.with_changes(quantity=quantity, price=price, stop_price=stop_price)
