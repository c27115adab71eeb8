"""Sizing and filters of one command for one account (pure planning, no broker)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from execution.signals import (
    AccountRoute,
    Action,
    Command,
    Direction,
    DriftPolicy,
    Filters,
    OrderKind,
    PositionHint,
    SessionWindow,
    SizingMode,
    SizingRule,
)
from execution.sizing import AccountFacts, OrderPlan, Skip, plan_order

BUY = Command(Action.BUY, "BINANCE:BTCUSDT", quantity=D("0.5"), reference_price=D(50_000))
SELL = Command(Action.SELL, "BINANCE:BTCUSDT", quantity=D("0.5"), reference_price=D(50_000))


def route(mode=SizingMode.AS_ALERT, value="1", **filters) -> AccountRoute:
    return AccountRoute(1, SizingRule(mode, D(value), filters.pop("stop_distance", None)), Filters(**filters))


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        (SizingMode.AS_ALERT, "1", D("0.5")),
        (SizingMode.FIXED, "0.2", D("0.2")),
        (SizingMode.MULTIPLIER, "3", D("1.5")),
        (SizingMode.PERCENT_EQUITY, "10", D("0.2")),  # 10% of 100k = 10k / 50k
        (SizingMode.FIXED_CASH, "5000", D("0.1")),
    ],
)
def test_each_sizing_rule_gives_its_quantity(mode, value, expected):
    plan = plan_order(BUY, route(mode, value), AccountFacts(equity=D(100_000)))
    assert isinstance(plan, OrderPlan)
    assert plan.quantity == expected


def test_risk_sizing_divides_the_risked_cash_by_the_stop_distance():
    command = Command(Action.BUY, "BINANCE:BTCUSDT", reference_price=D(50_000), stop_loss=D(49_000))
    plan = plan_order(command, route(SizingMode.RISK, "1"), AccountFacts(equity=D(100_000)))
    assert plan.quantity == D(1)  # 1% of 100k = 1000 at risk over a 1000 stop distance


def test_risk_sizing_without_any_stop_is_skipped_with_the_reason():
    plan = plan_order(BUY, route(SizingMode.RISK, "1"), AccountFacts(equity=D(100_000)))
    assert isinstance(plan, Skip) and "stop" in plan.reason


def test_a_long_only_account_may_sell_only_what_it_holds():
    assert isinstance(plan_order(SELL, route(direction=Direction.LONG_ONLY), AccountFacts()), Skip)
    capped = plan_order(SELL, route(direction=Direction.LONG_ONLY), AccountFacts(position=D("0.2")))
    assert capped.quantity == D("0.2")


def test_a_short_only_account_skips_buys_when_flat():
    plan = plan_order(BUY, route(direction=Direction.SHORT_ONLY), AccountFacts())
    assert isinstance(plan, Skip) and "short-only" in plan.reason


def test_symbols_outside_the_allowed_list_are_skipped():
    plan = plan_order(BUY, route(allowed_symbols=("ETHUSDT",)), AccountFacts())
    assert isinstance(plan, Skip) and "allowed" in plan.reason


def test_max_position_caps_the_order():
    plan = plan_order(BUY, route(max_position=D("0.6")), AccountFacts(position=D("0.4")))
    assert plan.quantity == D("0.2")


def test_max_position_reached_skips():
    assert isinstance(plan_order(BUY, route(max_position=D("0.4")), AccountFacts(position=D("0.4"))), Skip)


def test_entries_are_ignored_while_in_a_position_when_asked():
    plan = plan_order(BUY, route(ignore_if_in_position=True), AccountFacts(position=D("0.1")))
    assert isinstance(plan, Skip) and "already in a position" in plan.reason


def test_the_daily_order_limit_skips_further_entries():
    plan = plan_order(BUY, route(max_orders_per_day=3), AccountFacts(orders_today=3))
    assert isinstance(plan, Skip) and "per day" in plan.reason


def test_entries_outside_the_session_are_skipped_but_exits_go_through():
    saturday = dt.datetime(2026, 1, 3, 12, tzinfo=dt.UTC)
    weekdays = route(session=SessionWindow((0, 1, 2, 3, 4), "09:00", "17:00"))
    assert isinstance(plan_order(BUY, weekdays, AccountFacts(now=saturday)), Skip)
    exit_ = Command(Action.EXIT, "BINANCE:BTCUSDT")
    assert plan_order(exit_, weekdays, AccountFacts(position=D(1), now=saturday)).quantity == D(1)


def test_exit_closes_the_whole_position_reduce_only():
    plan = plan_order(Command(Action.EXIT, "BINANCE:BTCUSDT"), route(), AccountFacts(position=D("-0.7")))
    assert (plan.side, plan.quantity, plan.reduce_only, plan.order_type) == ("buy", D("0.7"), True, OrderKind.MARKET)


def test_exit_without_a_position_is_skipped():
    assert isinstance(plan_order(Command(Action.EXIT, "BINANCE:BTCUSDT"), route(), AccountFacts()), Skip)


def test_sync_drift_policy_trades_to_the_strategys_position():
    hint = PositionHint("long", "flat", D("0.5"))
    plan = plan_order(BUY, route(), AccountFacts(position=D("0.2")), hint=hint, drift_policy=DriftPolicy.SYNC)
    assert (plan.side, plan.quantity) == ("buy", D("0.3"))


def test_bare_tickers_use_the_default_exchange_or_the_mapping():
    bare = Command(Action.BUY, "BTCUSDT", quantity=D(1))
    mapped = AccountRoute(1, symbol_overrides={"BTCUSDT": "BYBIT:BTCUSDT.P"})
    assert plan_order(bare, mapped, AccountFacts()).symbol == "BYBIT:BTCUSDT.P"
    assert plan_order(bare, AccountRoute(1, default_exchange="BINANCE"), AccountFacts()).symbol == "BINANCE:BTCUSDT"
    assert isinstance(plan_order(bare, AccountRoute(1), AccountFacts()), Skip)


def test_allocation_share_splits_the_alert_quantity():
    plan = plan_order(BUY, route(), AccountFacts(allocation_share=D("0.25")))
    assert plan.quantity == D("0.125")


def partial_exit(quantity: str) -> Command:
    return Command(Action.EXIT, "BINANCE:BTCUSDT", quantity=D(quantity))


def test_a_partial_exit_is_scaled_by_the_multiplier_like_the_entry():
    plan = plan_order(partial_exit("1"), route(SizingMode.MULTIPLIER, "3"), AccountFacts(position=D(6)))
    assert (plan.side, plan.quantity, plan.reduce_only) == ("sell", D(3), True)


def test_a_partial_exit_is_scaled_by_the_clients_allocation_share():
    plan = plan_order(partial_exit("10"), route(), AccountFacts(position=D(8), allocation_share=D("0.25")))
    assert plan.quantity == D("2.5")


def test_a_partial_exit_with_fixed_sizing_closes_the_strategys_fraction_of_the_position():
    hint = PositionHint("long", "long", D(3))  # the strategy sold 1 of 4: a quarter
    plan = plan_order(partial_exit("1"), route(SizingMode.FIXED, "0.8"), AccountFacts(position=D("0.8")), hint=hint)
    assert plan.quantity == D("0.2")


def test_a_partial_exit_that_leaves_the_strategy_flat_closes_everything():
    hint = PositionHint("flat", "long", D(0))
    plan = plan_order(partial_exit("2"), route(SizingMode.PERCENT_EQUITY, "10"), AccountFacts(position=D("0.35")),
                      hint=hint)
    assert plan.quantity == D("0.35")


def test_a_partial_exit_never_closes_more_than_the_account_holds():
    plan = plan_order(partial_exit("5"), route(SizingMode.MULTIPLIER, "2"), AccountFacts(position=D(4)))
    assert plan.quantity == D(4)
