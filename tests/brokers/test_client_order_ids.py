import re

import ccxt
import pytest

from brokers.core.ccxt_adapter import exchange_client_order_id, translate_ccxt_error
from brokers.core.errors import (
    AuthenticationFailed,
    BrokerUnavailable,
    DuplicateOrder,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimited,
)
from brokers.core.shioaji_adapter import custom_field_for

VALID = {
    "binance": re.compile(r"^[.A-Za-z0-9:/_-]{1,36}$"),
    "gate": re.compile(r"^t-[A-Za-z0-9_.-]{1,26}$"),
    "bybit": re.compile(r"^[A-Za-z0-9_-]{1,36}$"),
    "okx": re.compile(r"^[A-Za-z0-9]{1,32}$"),
}
OUR_IDS = ["ord-1", "deploy:42/signal:7/entry", "x" * 80, "策略-1", "a b c"]


@pytest.mark.parametrize("exchange", sorted(VALID))
@pytest.mark.parametrize("ours", OUR_IDS)
def test_derived_client_id_is_valid_and_deterministic(exchange, ours):
    derived = exchange_client_order_id(exchange, ours)
    assert VALID[exchange].match(derived), derived
    assert exchange_client_order_id(exchange, ours) == derived


def test_valid_ids_are_kept_readable():
    assert exchange_client_order_id("binance", "ord-1") == "ord-1"
    assert exchange_client_order_id("gate", "ord-1") == "t-ord-1"
    assert exchange_client_order_id("okx", "ord1") == "ord1"


def test_different_ids_do_not_collide():
    ids = {exchange_client_order_id("okx", f"order-{n}") for n in range(2000)}
    assert len(ids) == 2000


def test_shioaji_custom_field_is_six_alphanumerics():
    assert re.fullmatch(r"[A-Za-z0-9]{6}", custom_field_for("deploy:42/signal:7"))
    assert custom_field_for("a") == custom_field_for("a") != custom_field_for("b")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ccxt.AuthenticationError("bad key"), AuthenticationFailed),
        (ccxt.PermissionDenied("ip not whitelisted"), AuthenticationFailed),
        (ccxt.InsufficientFunds("no money"), InsufficientFunds),
        (ccxt.InvalidOrder("bad qty"), InvalidOrder),
        (ccxt.OrderNotFound("gone"), OrderNotFound),
        (ccxt.RateLimitExceeded("slow down"), RateLimited),
        (ccxt.DDoSProtection("418"), RateLimited),
        (ccxt.RequestTimeout("timeout"), BrokerUnavailable),
        (ccxt.ExchangeNotAvailable("503"), BrokerUnavailable),
        (ccxt.NetworkError("reset"), BrokerUnavailable),
        (ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}'), DuplicateOrder),
    ],
)
def test_ccxt_errors_map_to_our_hierarchy(error, expected):
    translated = translate_ccxt_error(error, "binance")
    assert type(translated) is expected
    assert translated.broker_message == str(error)
    assert translated.retryable is expected.retryable
