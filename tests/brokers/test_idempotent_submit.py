"""The retry rules of BrokerService.place_order, on a scripted in-memory broker."""

from decimal import Decimal as D

import pytest

from brokers.core.base import BrokerService
from brokers.core.errors import BrokerUnavailable, InvalidOrder, OrderNotFound, RateLimited
from brokers.core.instruments import default_instrument
from brokers.core.models import OrderRequest, OrderResult, OrderStatus, OrderType, Side
from brokers.core.symbols import parse_tradingview

AAPL = parse_tradingview("NASDAQ:AAPL")


class Scripted(BrokerService):
    """Each send/lookup pops the next scripted outcome: an exception to raise or 'ok'/'found'/'missing'."""

    def __init__(self, sends, lookups=()):
        super().__init__()
        self.retry_backoff = 0
        self.sends, self.lookups = list(sends), list(lookups)
        self.sent = 0

    def _result(self, request):
        return OrderResult(request.client_order_id, "B1", request.symbol, request.side, OrderType.MARKET,
                           OrderStatus.FILLED, request.quantity, request.quantity)

    def _send_order(self, request):
        self.sent += 1
        outcome = self.sends.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return self._result(request)

    def get_order(self, *, client_order_id=None, broker_order_id=None, symbol=None):
        outcome = self.lookups.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        if outcome == "missing":
            raise OrderNotFound("no such order")
        return self._result(OrderRequest(AAPL, Side.BUY, D(1), client_order_id))

    def instrument(self, symbol):
        return default_instrument(symbol)

    def _cancel(self, **kw): ...
    def open_orders(self, symbol=None): return []
    def positions(self): return []
    def balances(self): return []


def request():
    return OrderRequest(AAPL, Side.BUY, D(1), "c1")


def test_timeout_then_found_is_not_resent():
    broker = Scripted([BrokerUnavailable("timeout")], ["found"])
    assert broker.place_order(request()).status is OrderStatus.FILLED
    assert broker.sent == 1


def test_timeout_then_confirmed_missing_is_resent_once():
    broker = Scripted([BrokerUnavailable("timeout"), "ok"], ["missing"])
    assert broker.place_order(request()).status is OrderStatus.FILLED
    assert broker.sent == 2


def test_unknown_outcome_that_cannot_be_looked_up_is_never_sent_blind():
    broker = Scripted([BrokerUnavailable("timeout")], [BrokerUnavailable("down"), BrokerUnavailable("down")])
    with pytest.raises(BrokerUnavailable, match="may exist - reconcile"):
        broker.place_order(request())
    assert broker.sent == 1


def test_rate_limit_is_a_refusal_so_it_is_resent_without_lookup():
    broker = Scripted([RateLimited("slow"), "ok"])
    assert broker.place_order(request()).status is OrderStatus.FILLED
    assert broker.sent == 2


def test_non_retryable_error_is_raised_at_once():
    broker = Scripted([InvalidOrder("bad")])
    with pytest.raises(InvalidOrder):
        broker.place_order(request())
    assert broker.sent == 1
