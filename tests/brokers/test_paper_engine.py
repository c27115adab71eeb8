from decimal import Decimal as D

import pytest

from brokers.core.errors import InsufficientFunds, InvalidOrder
from brokers.core.models import OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from brokers.core.paper import Bar, PaperBroker, PaperState, Quote
from brokers.core.symbols import parse_tradingview

AAPL = parse_tradingview("NASDAQ:AAPL")
BTCP = parse_tradingview("BINANCE:BTCUSDT.P")


def broker(quotes=None, **options):
    quotes = quotes if quotes is not None else {AAPL: Quote(bid=D("99.99"), ask=D("100.01"), last=D(100))}
    options.setdefault("state", PaperState(cash={"USD": D(100_000), "USDT": D(10_000)}))
    return PaperBroker(price_source=quotes.get, **options)


def order(cid="o1", symbol=AAPL, side=Side.BUY, qty="10", **kw):
    return OrderRequest(symbol=symbol, side=side, quantity=D(qty), client_order_id=cid, **kw)


def test_market_buy_fills_at_ask_plus_slippage_and_pays_fee():
    paper = broker(slippage_bps=D(10), fee_bps=D(5))
    result = paper.place_order(order())
    assert result.status is OrderStatus.FILLED
    assert result.average_price == D("100.11")  # 100.01 * 1.001 = 100.11001 -> nearest cent
    assert result.fee == D("1001.1") * D(5) / D(10_000)
    assert paper.engine.state.cash["USD"] == D(100_000) - D("1001.1") - result.fee
    [position] = paper.positions()
    assert position.quantity == D(10)


def test_same_client_order_id_returns_the_same_order_without_refilling():
    paper = broker()
    first = paper.place_order(order())
    second = paper.place_order(order())
    assert second.broker_order_id == first.broker_order_id
    assert paper.positions()[0].quantity == D(10)


def test_limit_buy_rests_until_bar_trades_through():
    paper = broker()
    resting = paper.place_order(order(order_type=OrderType.LIMIT, price=D(95)))
    assert resting.status is OrderStatus.OPEN
    paper.process_bar(AAPL, Bar(open=D(99), high=D(100), low=D(96), close=D(97)))
    assert paper.get_order(client_order_id="o1").status is OrderStatus.OPEN
    paper.process_bar(AAPL, Bar(open=D(96), high=D(97), low=D(94), close=D(95)))
    filled = paper.get_order(client_order_id="o1")
    assert filled.status is OrderStatus.FILLED
    assert filled.average_price == D(95)


def test_limit_fills_at_open_when_bar_gaps_through():
    paper = broker()
    paper.place_order(order(order_type=OrderType.LIMIT, price=D(95)))
    paper.process_bar(AAPL, Bar(open=D(90), high=D(91), low=D(89), close=D(90)))
    assert paper.get_order(client_order_id="o1").average_price == D(90)


def test_sell_stop_triggers_when_low_crosses():
    paper = broker()
    paper.place_order(order(cid="buy"))
    paper.place_order(order(cid="stop", side=Side.SELL, order_type=OrderType.STOP, stop_price=D(98)))
    assert paper.get_order(client_order_id="stop").status is OrderStatus.OPEN
    paper.process_bar(AAPL, Bar(open=D(99), high=D(99), low=D(97), close=D(97)))
    stop = paper.get_order(client_order_id="stop")
    assert stop.status is OrderStatus.FILLED
    assert stop.average_price == D(98)
    assert paper.positions() == []


def test_partial_fill_limited_by_quote_size():
    quotes = {AAPL: Quote(bid=D(99), ask=D(100), last=D(100), ask_size=D(4))}
    paper = broker(quotes)
    result = paper.place_order(order(order_type=OrderType.LIMIT, price=D(100)))
    assert result.status is OrderStatus.PARTIALLY_FILLED
    assert result.filled_quantity == D(4)
    paper.process_quote(AAPL, Quote(bid=D(99), ask=D(100), last=D(100), ask_size=D(100)))
    assert paper.get_order(client_order_id="o1").status is OrderStatus.FILLED


def test_ioc_cancels_unfilled_remainder():
    quotes = {AAPL: Quote(bid=D(99), ask=D(100), ask_size=D(4))}
    result = broker(quotes).place_order(order(time_in_force=TimeInForce.IOC))
    assert (result.status, result.filled_quantity) == (OrderStatus.CANCELLED, D(4))


def test_fok_without_enough_size_fills_nothing():
    quotes = {AAPL: Quote(bid=D(99), ask=D(100), ask_size=D(4))}
    result = broker(quotes).place_order(order(time_in_force=TimeInForce.FOK))
    assert (result.status, result.filled_quantity) == (OrderStatus.CANCELLED, D(0))


def test_buy_beyond_cash_is_rejected_with_amounts():
    paper = broker()
    with pytest.raises(InsufficientFunds, match=r"costs 1000100.* cash is 100000"):
        paper.place_order(order(qty="10000"))
    assert paper.get_order(client_order_id="o1").status is OrderStatus.REJECTED


def test_selling_more_than_held_is_refused_without_shorting():
    paper = broker()
    with pytest.raises(InsufficientFunds, match="cannot sell 5, holding 0"):
        paper.place_order(order(side=Side.SELL, qty="5"))


def test_market_order_without_price_is_invalid():
    with pytest.raises(InvalidOrder, match="no price available"):
        broker({}).place_order(order())


def test_perpetual_short_realizes_pnl_into_cash():
    quotes = {BTCP: Quote(last=D(20_000))}
    paper = broker(quotes, leverage=D(10))
    paper.place_order(order(cid="short", symbol=BTCP, side=Side.SELL, qty="0.1"))
    quotes[BTCP] = Quote(last=D(19_000))
    paper.place_order(order(cid="cover", symbol=BTCP, side=Side.BUY, qty="0.1", reduce_only=True))
    assert paper.engine.state.cash["USDT"] == D(10_100)
    assert paper.positions() == []


def test_perpetual_margin_check_uses_leverage():
    quotes = {BTCP: Quote(last=D(20_000))}
    with pytest.raises(InsufficientFunds, match="needs margin"):
        broker(quotes, leverage=D(2)).place_order(order(symbol=BTCP, qty="1.1"))


def test_cancel_resting_order():
    paper = broker()
    paper.place_order(order(order_type=OrderType.LIMIT, price=D(50)))
    assert paper.cancel_order(client_order_id="o1").status is OrderStatus.CANCELLED
    assert paper.open_orders() == []


def test_updates_are_published_to_subscribers_and_polling():
    paper = broker()
    seen = []
    paper.subscribe(seen.append)
    paper.place_order(order(order_type=OrderType.LIMIT, price=D(95)))
    paper.process_bar(AAPL, Bar(open=D(96), high=D(97), low=D(94), close=D(95)))
    assert [u.status for u in seen] == [OrderStatus.OPEN, OrderStatus.FILLED]
    assert seen[-1].fill.price == D(95)
    assert paper.poll_updates(since=seen[0].sequence) == seen[1:]


def test_state_round_trips_through_dict():
    paper = broker()
    paper.place_order(order())
    restored = PaperState.from_dict(paper.engine.state.to_dict())
    assert restored.cash == paper.engine.state.cash
    assert restored.positions[AAPL].quantity == D(10)
