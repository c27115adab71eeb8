"""Shared set-up of the execution and webhook tests: the Redis-backed fake broker accounts."""

import itertools
from decimal import Decimal

import pytest

from tests.execution import fake_broker

FAKE_PROVIDER = "tests.execution.fake_broker:FakeAccounts"
_account_ids = itertools.count(1001)


@pytest.fixture(autouse=True)
def _clean_fake_broker(settings):
    settings.EXECUTION_ACCOUNT_PROVIDER = FAKE_PROVIDER
    settings.WEBHOOK_INTAKE_THREADS = 0  # the view runs on the test's thread, inside its transaction
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
