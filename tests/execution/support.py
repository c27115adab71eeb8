"""Shared set-up of the execution and webhook tests: the Redis-backed fake broker accounts."""

import itertools
import os
from decimal import Decimal

import pytest

os.environ["FOURPASS_ACCOUNT_PROVIDER"] = "tests.execution.fake_broker:FakeAccounts"

from tests.execution import fake_broker

_account_ids = itertools.count(1001)


@pytest.fixture(autouse=True)
def _clean_fake_broker():
    fake_broker.reset()
    fake_broker.set_price("BINANCE:BTCUSDT", Decimal(50_000))
    fake_broker.set_price("BINANCE:ETHUSDT", Decimal(2_500))
    fake_broker.set_price("BYBIT:BTCUSDT.P", Decimal(50_000))
    yield
    fake_broker.reset()


@pytest.fixture
def make_account():
    """make_account(tenant, owner, **options) -> account id of a new fake broker account in that tenant."""

    def make(tenant, owner, **options) -> int:
        account_id = next(_account_ids)
        fake_broker.register_account(tenant.schema_name, account_id, owner.pk, **options)
        return account_id

    return make
