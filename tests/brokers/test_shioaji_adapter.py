from decimal import Decimal as D

import pytest
import shioaji as sj

from brokers.core.errors import AuthenticationFailed, InvalidOrder
from brokers.core.models import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from brokers.core.shioaji_adapter import ShioajiBroker, ShioajiGateway, custom_field_for
from brokers.core.symbols import parse_tradingview
from tests.brokers.fake_exchanges.server import FakeMarket, Venue
from tests.brokers.fake_exchanges.shioaji_api import FakeShioajiApi

TSMC = parse_tradingview("TWSE:2330")
TXF = parse_tradingview("TAIFEX:TXF1!")


@pytest.fixture
def api():
    venue = Venue(
        [
            FakeMarket("2330", "stock", "2330", "TWD", tick=D(1), step=D(1), min_qty=D(1), price=D(580)),
            FakeMarket("TXFR1", "future", "TXF", "TWD", tick=D(1), step=D(1), min_qty=D(1), price=D(22000)),
        ],
        {"TWD": D(5_000_000), "2330": D(3000)},
    )
    return FakeShioajiApi(venue)


@pytest.fixture
def broker(api):
    broker = ShioajiBroker(ShioajiGateway("sj-key", "sj-secret", simulation=True, api=api))
    broker.retry_backoff = 0
    return broker


def request(symbol=TSMC, qty="2000", **kw):
    return OrderRequest(symbol=symbol, side=kw.pop("side", Side.BUY), quantity=D(qty), client_order_id="c-1", **kw)


def test_common_lot_stock_order_is_built_in_lots(broker):
    order = broker.build_order(request(order_type=OrderType.LIMIT, price=D(580)))
    assert isinstance(order, sj.StockOrder)
    assert order.quantity == 2
    assert order.order_lot == sj.StockOrderLot.Common
    assert order.price_type == sj.StockPriceType.LMT
    assert order.time_in_force == sj.TimeInForce.ROD
    assert order.action == sj.Action.Buy
    assert order.order_cond == sj.StockOrderCond.Cash
    assert order.custom_field == custom_field_for("c-1")


def test_odd_lot_is_sent_in_shares_as_intraday_odd(broker):
    order = broker.build_order(request(qty="300", order_type=OrderType.LIMIT, price=D(580)))
    assert (order.quantity, order.order_lot) == (300, sj.StockOrderLot.IntradayOdd)


def test_mixed_lot_quantity_is_refused_with_split_advice(broker):
    with pytest.raises(InvalidOrder, match="send 1000 and 500 as two orders"):
        broker.build_order(request(qty="1500"))


def test_market_stock_order_is_ioc_market(broker):
    order = broker.build_order(request(side=Side.SELL))
    assert (order.price_type, order.time_in_force, order.action) == (
        sj.StockPriceType.MKT, sj.TimeInForce.IOC, sj.Action.Sell
    )


def test_margin_and_short_conditions_pass_through(broker):
    order = broker.build_order(request(side=Side.SELL, extra={"order_cond": "ShortSelling"}))
    assert order.order_cond == sj.StockOrderCond.ShortSelling


def test_reduce_only_futures_order_covers(broker):
    order = broker.build_order(request(symbol=TXF, qty="2", side=Side.SELL, reduce_only=True))
    assert isinstance(order, sj.FuturesOrder)
    assert (order.quantity, order.octype, order.price_type) == (2, sj.FuturesOCType.Cover, sj.FuturesPriceType.MKT)


def test_futures_limit_day_order_is_rod(broker):
    order = broker.build_order(request(symbol=TXF, qty="1", order_type=OrderType.LIMIT, price=D(21950), time_in_force=TimeInForce.DAY))
    assert (order.time_in_force, order.octype, order.price) == (sj.TimeInForce.ROD, sj.FuturesOCType.Auto, 21950.0)


def test_stop_orders_are_refused(broker):
    with pytest.raises(InvalidOrder, match="no native stop"):
        broker.build_order(request(order_type=OrderType.STOP, stop_price=D(570)))


def test_futures_order_fills_and_reports_contracts(broker, api):
    result = broker.place_order(request(symbol=TXF, qty="1"))
    assert (result.status, result.filled_quantity, result.average_price) == (OrderStatus.FILLED, D(1), D(22000))
    assert api.venue.positions["TXFR1"][0] == D(1)


def test_deal_callback_updates_order_and_subscribers(broker, api):
    seen = []
    broker.subscribe(seen.append)
    api.venue.fill_ratio = D("0.5")
    placed = broker.place_order(request(order_type=OrderType.LIMIT, price=D(580)))
    assert placed.filled_quantity == D(1000)
    api.trade_through(placed.broker_order_id)
    api.deliver_events()
    assert seen[-1].status is OrderStatus.FILLED
    assert seen[-1].fill.quantity == D(1000)
    assert seen[-1].fill.price == D(580)


def test_cancel_event_marks_order_cancelled(broker, api):
    placed = broker.place_order(request(order_type=OrderType.LIMIT, price=D(500)))
    broker.cancel_order(client_order_id="c-1")
    api.deliver_events()
    assert broker.get_order(broker_order_id=placed.broker_order_id).status is OrderStatus.CANCELLED


def test_bad_credentials_fail_login():
    api = FakeShioajiApi(Venue([], {}))
    broker = ShioajiBroker(ShioajiGateway("sj-key", "wrong", api=api))
    with pytest.raises(AuthenticationFailed):
        broker.validate_credentials()


def test_positions_are_in_shares_and_contracts(broker):
    broker.place_order(request(symbol=TXF, qty="2", side=Side.SELL))
    positions = {p.symbol: p.quantity for p in broker.positions()}
    assert positions[TSMC] == D(3000)
    assert positions[TXF] == D(-2)
