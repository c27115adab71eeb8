import datetime as dt
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from brokers.core.daytrade import DayTradeGuard, DayTradePolicy, check_day_trade
from brokers.core.errors import DayTradeRuleViolation, MarketClosed
from brokers.core.guards import MarketHoursGuard
from brokers.core.models import AccountInfo, OrderRequest, OrderStatus, Side
from brokers.core.paper import PaperBroker, PaperState, Quote
from brokers.core.symbols import parse_tradingview

NY = ZoneInfo("America/New_York")
AAPL = parse_tradingview("NASDAQ:AAPL")


class Clock:
    def __init__(self, moment):
        self.moment = moment

    def __call__(self):
        return self.moment


def paper(guards):
    return PaperBroker(
        state=PaperState(cash={"USD": D(100_000)}),
        price_source={AAPL: Quote(bid=D(100), ask=D(100), last=D(100))}.get,
        guards=guards,
        clock=None,
    )


def buy(cid="o1", side=Side.BUY):
    return OrderRequest(AAPL, side, D(10), cid)


def test_order_outside_hours_is_refused_with_next_open():
    clock = Clock(dt.datetime(2026, 11, 26, 11, 0, tzinfo=NY))  # Thanksgiving
    broker = paper([MarketHoursGuard(clock=clock)])
    with pytest.raises(MarketClosed, match=r"next open 2026-11-27T09:30:00-05:00") as raised:
        broker.place_order(buy())
    assert raised.value.next_open == dt.datetime(2026, 11, 27, 9, 30, tzinfo=NY)


def test_order_outside_hours_is_queued_and_released_at_open():
    clock = Clock(dt.datetime(2026, 11, 26, 11, 0, tzinfo=NY))
    guard = MarketHoursGuard(clock=clock, queue_outside_hours=True)
    broker = paper([guard])
    queued = broker.place_order(buy())
    assert queued.status is OrderStatus.QUEUED
    assert queued.queued_until == dt.datetime(2026, 11, 27, 9, 30, tzinfo=NY)
    assert guard.release_due(broker) == []
    clock.moment = dt.datetime(2026, 11, 27, 9, 31, tzinfo=NY)
    [released] = guard.release_due(broker)
    assert released.status is OrderStatus.FILLED
    assert guard.queued == []


def test_extended_session_accepts_premarket_orders():
    clock = Clock(dt.datetime(2026, 11, 24, 7, 0, tzinfo=NY))
    broker = paper([MarketHoursGuard(clock=clock, session="extended")])
    assert broker.place_order(buy()).status is OrderStatus.FILLED


def test_pdt_flagged_account_below_minimum_cannot_day_trade():
    account = AccountInfo(equity=D(20_000), is_margin_account=True, pattern_day_trader=True, daytrade_count=4)
    with pytest.raises(DayTradeRuleViolation, match=r"pattern day trader.*20,000.00 is below the 25,000"):
        check_day_trade(buy(side=Side.SELL), account, is_day_trade=True)


def test_fourth_day_trade_is_refused_below_minimum_equity():
    account = AccountInfo(equity=D(10_000), is_margin_account=True, pattern_day_trader=False, daytrade_count=3)
    with pytest.raises(DayTradeRuleViolation, match="day trade number 4 within 5 business days"):
        check_day_trade(buy(side=Side.SELL), account, is_day_trade=True)


def test_account_above_minimum_may_day_trade():
    account = AccountInfo(equity=D(30_000), is_margin_account=True, pattern_day_trader=True, daytrade_count=7)
    check_day_trade(buy(side=Side.SELL), account, is_day_trade=True)


def test_broker_without_pdt_flags_only_checks_day_trading_buying_power():
    # a broker on FINRA's intraday margin standard no longer reports PDT status
    account = AccountInfo(equity=D(5_000), daytrading_buying_power=D(500))
    with pytest.raises(DayTradeRuleViolation, match=r"exceeds the day-trading buying power 500\.00"):
        check_day_trade(buy(side=Side.SELL), account, is_day_trade=True, order_value=D(1000))
    check_day_trade(buy(side=Side.SELL), account, is_day_trade=True, order_value=D(400))


def test_classic_policy_applies_even_without_broker_flags():
    account = AccountInfo(equity=D(10_000), daytrade_count=3)
    check_day_trade(buy(side=Side.SELL), account, is_day_trade=True)
    with pytest.raises(DayTradeRuleViolation):
        check_day_trade(buy(side=Side.SELL), account, is_day_trade=True, policy=DayTradePolicy.CLASSIC_PDT)


def test_guard_detects_same_day_round_trip():
    class Flagged(PaperBroker):
        def account_info(self):
            return AccountInfo(equity=D(10_000), is_margin_account=True, pattern_day_trader=False, daytrade_count=3)

    broker = Flagged(
        state=PaperState(cash={"USD": D(100_000)}),
        price_source={AAPL: Quote(bid=D(100), ask=D(100), last=D(100))}.get,
        guards=[DayTradeGuard()],
    )
    broker.place_order(buy("open"))
    with pytest.raises(DayTradeRuleViolation):
        broker.place_order(buy("close", side=Side.SELL))
