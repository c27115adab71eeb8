"""US day-trading guard, configurable per broker account.

FINRA Rule 4210's pattern-day-trader (PDT) provisions: a margin account that makes 4 or more day trades
within 5 business days is a pattern day trader and must keep $25,000 minimum equity. FINRA's
replacement by intraday margin standards was approved on 2026-04-14 and is effective 2026-06-04;
brokers phase it in until 2027-10-20, so for a while both regimes exist side by side.

Policies:
- ``BROKER_REPORTED`` (default): trust what the broker reports. Alpaca returns ``pattern_day_trader``,
  ``daytrade_count`` and ``daytrading_buying_power``; when a broker has moved to intraday margin and
  stops flagging PDT, only the day-trading buying power check remains.
- ``CLASSIC_PDT``: always apply the 4-in-5 / $25,000 rule (counts from the broker when reported).
- ``OFF``: no check (cash accounts, non-US markets).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from brokers.core.errors import DayTradeRuleViolation
from brokers.core.models import AccountInfo, OrderRequest, OrderResult
from brokers.core.symbols import US_STOCK_VENUES

PDT_MIN_EQUITY = Decimal(25_000)
PDT_MAX_DAY_TRADES = 3  # the 4th day trade within 5 business days makes a pattern day trader
NEW_YORK = ZoneInfo("America/New_York")


class DayTradePolicy(StrEnum):
    BROKER_REPORTED = "broker_reported"
    CLASSIC_PDT = "classic_pdt"
    OFF = "off"


def would_be_day_trade(request: OrderRequest, orders: list[OrderResult], today: dt.date) -> bool:
    """True when ``request`` closes (part of) a position opened by a fill earlier the same US trading day."""
    for order in orders:
        if order.symbol != request.symbol or order.side is request.side or order.filled_quantity == 0:
            continue
        for fill in order.fills:
            if fill.timestamp is not None and fill.timestamp.astimezone(NEW_YORK).date() == today:
                return True
    return False


def check_day_trade(
    request: OrderRequest,
    account: AccountInfo,
    *,
    is_day_trade: bool,
    policy: DayTradePolicy = DayTradePolicy.BROKER_REPORTED,
    order_value: Decimal | None = None,
) -> None:
    """Raise DayTradeRuleViolation with the reason, or return when the order may go."""
    if policy is DayTradePolicy.OFF or not is_day_trade or request.symbol.venue not in US_STOCK_VENUES:
        return
    equity = account.equity
    below_minimum = equity is not None and equity < PDT_MIN_EQUITY
    count = account.daytrade_count
    if policy is DayTradePolicy.CLASSIC_PDT or account.pattern_day_trader is not None:
        if account.is_margin_account is False and policy is DayTradePolicy.BROKER_REPORTED:
            pass  # cash accounts are limited by settled cash, not by the PDT rule
        elif account.pattern_day_trader and below_minimum:
            raise DayTradeRuleViolation(
                f"refused: the account is flagged as a pattern day trader and its equity {equity:,.2f} is below "
                f"the {PDT_MIN_EQUITY:,.0f} minimum (FINRA Rule 4210)"
            )
        elif count is not None and count >= PDT_MAX_DAY_TRADES and below_minimum:
            raise DayTradeRuleViolation(
                f"refused: this would be day trade number {count + 1} within 5 business days with equity "
                f"{equity:,.2f} below {PDT_MIN_EQUITY:,.0f}; the account would be flagged as a pattern day trader"
            )
    dtbp = account.daytrading_buying_power
    if dtbp is not None and order_value is not None and order_value > dtbp:
        raise DayTradeRuleViolation(
                f"refused: order value {order_value:,.2f} exceeds the day-trading buying power {dtbp:,.2f} "
                "reported by the broker"
            )


class DayTradeGuard:
    """``OrderGuard`` applying ``check_day_trade`` with the broker's account facts."""

    def __init__(
        self,
        policy: DayTradePolicy = DayTradePolicy.BROKER_REPORTED,
        *,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.policy = policy
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def __call__(self, request: OrderRequest, service) -> OrderResult | None:
        if self.policy is DayTradePolicy.OFF or request.symbol.venue not in US_STOCK_VENUES:
            return None
        today = self.clock().astimezone(NEW_YORK).date()
        is_day_trade = would_be_day_trade(request, list(service._tracked.values()), today)
        if not is_day_trade:
            return None
        price = request.price or service.reference_price(request.symbol)
        value = request.quantity * price if price is not None else None
        check_day_trade(request, service.account_info(), is_day_trade=True, policy=self.policy, order_value=value)
        return None
