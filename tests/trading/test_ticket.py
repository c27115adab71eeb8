"""The manual order ticket's validation: lot-size rounding, position caps, tick rounding, clear messages."""

from decimal import Decimal as D

import pytest

from brokers.core.instruments import default_instrument
from brokers.core.models import Instrument
from brokers.core.symbols import parse_tradingview
from execution.trading.ticket import MarketFacts, TicketInput, TicketInvalid, check_ticket

BTC = default_instrument(parse_tradingview("BINANCE:BTCUSDT"))  # lot 0.00001, tick 0.01, min notional 5
TSMC = default_instrument(parse_tradingview("TWSE:2330"))  # lot 1, price-banded ticks
LOT_OF_10 = Instrument(symbol=parse_tradingview("NASDAQ:GOOG"), native_symbol="GOOG", tick_size=D("0.05"),
                       qty_step=D(10), min_qty=D(10))


def facts(instrument=BTC, position="0", price="50000", can_short=False) -> MarketFacts:
    return MarketFacts(instrument=instrument, position=D(position), reference_price=D(price) if price else None,
                       can_short=can_short)


def ticket(**fields) -> TicketInput:
    values = {"symbol": "BINANCE:BTCUSDT", "side": "buy", "quantity": "0.01", "order_type": "market"} | fields
    return TicketInput(**values)


def errors_of(raw, market) -> dict[str, str]:
    with pytest.raises(TicketInvalid) as raised:
        check_ticket(raw, market)
    return raised.value.errors


def test_a_valid_market_buy_is_returned_as_decimal_with_its_estimated_value():
    checked = check_ticket(ticket(quantity="0.01"), facts())
    assert checked.quantity == D("0.01") and isinstance(checked.quantity, D)
    assert checked.estimated_value == D("500.00")
    assert checked.limit_price is None and checked.notes == ()


def test_quantity_rounds_down_to_the_lot_size_and_says_so():
    checked = check_ticket(ticket(quantity="0.0123456789"), facts())
    assert checked.quantity == D("0.01234")
    assert "rounded down to 0.01234 (lot size 0.00001)" in checked.notes[0]


def test_quantity_never_rounds_up_to_the_next_lot():
    assert check_ticket(ticket(symbol="NASDAQ:GOOG", quantity="29.99"), facts(LOT_OF_10, price="100")).quantity == D(20)


def test_a_quantity_that_rounds_below_the_minimum_is_refused_with_the_minimum():
    errors = errors_of(ticket(symbol="NASDAQ:GOOG", quantity="9"), facts(LOT_OF_10, price="100"))
    assert errors["quantity"] == "The minimum quantity for NASDAQ:GOOG is 10 (lot size 10)."


@pytest.mark.parametrize("typed", ["", "0", "-1", "abc", "NaN", "Infinity"])
def test_a_missing_zero_or_non_numeric_quantity_is_refused(typed):
    assert errors_of(ticket(quantity=typed), facts())["quantity"] == "Enter a quantity greater than zero."


def test_thousands_separators_are_accepted():
    assert check_ticket(ticket(symbol="NASDAQ:GOOG", quantity="1,000"), facts(LOT_OF_10, price="100")).quantity == D(1000)


def test_an_order_below_the_minimum_notional_is_refused_with_its_value():
    errors = errors_of(ticket(quantity="0.00005"), facts())  # 0.00005 x 50000 = 2.5 USDT < 5
    assert "Order value 2.5 USDT is below the minimum 5" in errors["quantity"]


def test_a_close_is_capped_at_the_open_position():
    checked = check_ticket(ticket(side="sell", quantity="0.5", close_only=True), facts(position="0.2"))
    assert checked.quantity == D("0.2")
    assert checked.close_only
    assert "Capped at the open position (0.2)" in checked.notes[-1]


def test_a_close_of_a_short_position_must_be_a_buy():
    errors = errors_of(ticket(side="sell", quantity="1", close_only=True), facts(position="-0.3", can_short=True))
    assert errors["side"] == "You are short 0.3 BINANCE:BTCUSDT: closing it means you buy."


def test_a_close_without_a_position_is_refused():
    assert "no open position" in errors_of(ticket(side="sell", close_only=True), facts(position="0"))["quantity"]


def test_a_close_is_capped_at_the_position_rounded_down_to_the_lot():
    checked = check_ticket(ticket(side="sell", quantity="1", close_only=True), facts(position="0.123456789"))
    assert checked.quantity == D("0.12345")


def test_a_sell_beyond_the_holding_is_refused_on_an_account_that_cannot_short():
    errors = errors_of(ticket(side="sell", quantity="0.3"), facts(position="0.2"))
    assert errors["quantity"] == "You hold 0.2 BINANCE:BTCUSDT; this account cannot sell more than it holds."


def test_a_sell_without_a_holding_is_refused_on_an_account_that_cannot_short():
    assert "cannot sell short" in errors_of(ticket(side="sell", quantity="0.1"), facts())["quantity"]


def test_an_account_that_can_short_may_sell_more_than_it_holds():
    assert check_ticket(ticket(side="sell", quantity="0.3"), facts(position="0.2", can_short=True)).quantity == D("0.3")


def test_a_limit_price_goes_to_the_nearest_tick_and_says_so():
    checked = check_ticket(ticket(order_type="limit", limit_price="50000.126"), facts())
    assert checked.limit_price == D("50000.13")
    assert checked.estimated_value == D("0.01") * D("50000.13")
    assert "Limit price rounded to 50000.13 (tick 0.01)" in checked.notes[0]


def test_a_limit_price_on_a_price_banded_market_uses_the_band_tick():
    checked = check_ticket(ticket(symbol="TWSE:2330", quantity="1000", order_type="limit", limit_price="1003.2"),
                           facts(TSMC, price="1000"))
    assert checked.limit_price == D(1005)  # TWSE: 5 TWD ticks at or above 1000


def test_an_exact_half_tick_tie_goes_to_the_passive_side():
    buy = check_ticket(ticket(quantity="1", order_type="limit", limit_price="100.005"), facts(price="100"))
    sell = check_ticket(ticket(side="sell", quantity="1", order_type="limit", limit_price="100.005"),
                        facts(position="5", price="100"))
    assert (buy.limit_price, sell.limit_price) == (D("100.00"), D("100.01"))


def test_a_limit_order_needs_a_positive_price():
    assert errors_of(ticket(order_type="limit", limit_price=""), facts())["limit_price"] == (
        "Enter a limit price greater than zero.")


def test_an_unknown_side_or_order_type_is_refused():
    errors = errors_of(ticket(side="hold", order_type="iceberg"), facts())
    assert set(errors) >= {"side", "order_type"}


def test_a_market_order_without_a_known_price_has_no_estimate_but_is_valid():
    checked = check_ticket(ticket(quantity="0.01"), facts(price=None))
    assert checked.estimated_value is None
