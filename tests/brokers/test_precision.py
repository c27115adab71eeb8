from decimal import Decimal as D

import pytest

from brokers.core.errors import InvalidOrder
from brokers.core.instruments import default_instrument
from brokers.core.models import Instrument, OrderRequest, OrderType, Side
from brokers.core.precision import normalize_order, round_price, round_quantity
from brokers.core.symbols import parse_tradingview

BTC = parse_tradingview("BINANCE:BTCUSDT")
RULES = Instrument(BTC, "BTCUSDT", tick_size=D("0.1"), qty_step=D("0.001"), min_qty=D("0.001"), min_notional=D(10))


def request(**kw):
    base = dict(symbol=BTC, side=Side.BUY, quantity=D("0.0019"), client_order_id="c1")
    base.update(kw)
    return OrderRequest(**base)


def test_quantity_rounds_down_to_step():
    assert round_quantity(D("0.0019"), D("0.001")) == D("0.001")


def test_price_rounds_to_nearest_tick_not_always_passive():
    assert round_price(D("100.07"), D("0.1"), Side.BUY) == D("100.1")
    assert round_price(D("100.03"), D("0.1"), Side.SELL) == D("100.0")


def test_price_tie_goes_to_passive_side():
    assert round_price(D("100.05"), D("0.1"), Side.BUY) == D("100.0")
    assert round_price(D("100.05"), D("0.1"), Side.SELL) == D("100.1")


def test_normalize_rounds_quantity_and_limit_price():
    out = normalize_order(request(order_type=OrderType.LIMIT, price=D("20000.06"), quantity=D("0.0159")), RULES)
    assert out.quantity == D("0.015")
    assert out.price == D("20000.1")


def test_below_min_quantity_reports_numbers():
    with pytest.raises(InvalidOrder, match=r"quantity 0.0004 is below the minimum 0.001"):
        normalize_order(request(quantity=D("0.0004")), RULES, reference_price=D(20000))


def test_below_min_notional_reports_numbers():
    with pytest.raises(InvalidOrder, match=r"order value 9 \(0.001 x 9000\) is below the minimum notional 10"):
        normalize_order(request(order_type=OrderType.LIMIT, price=D(9000), quantity=D("0.001")), RULES)


def test_reduce_only_sell_is_capped_at_position():
    out = normalize_order(request(side=Side.SELL, quantity=D("0.5"), reduce_only=True), RULES, position_quantity=D("0.0123"))
    assert out.quantity == D("0.012")


def test_reduce_only_without_position_is_invalid():
    with pytest.raises(InvalidOrder, match="no position to reduce"):
        normalize_order(request(side=Side.SELL, reduce_only=True), RULES, position_quantity=D(0))


def test_taiwan_stock_tick_depends_on_price_band():
    rules = default_instrument(parse_tradingview("TWSE:2330"))
    assert rules.tick_for(D("9.99")) == D("0.01")
    assert rules.tick_for(D("45")) == D("0.05")
    assert rules.tick_for(D("580")) == D("1")
    assert rules.tick_for(D("1085")) == D("5")
    out = normalize_order(
        OrderRequest(parse_tradingview("TWSE:2330"), Side.BUY, D(1000), "c", OrderType.LIMIT, price=D("1087.4")),
        rules,
    )
    assert out.price == D("1085")
