import datetime as dt

import pytest
from django_tenants.utils import schema_context

from backtests.marketdata.services import Bar, get_or_create_series, upsert_bars
from brokers.services import ensure_default_paper_account
from execution import services as execution_services
from execution.models import AccountExecution


@pytest.fixture(autouse=True)
def brokers_app_accounts(monkeypatch, settings):
    """Orders go to brokers.BrokerAccount (the persisted paper broker), not the execution tests' fake; the
    webhook intake runs on the test's thread, inside its transaction."""
    monkeypatch.delenv("FOURPASS_ACCOUNT_PROVIDER", raising=False)
    settings.EXECUTION_ACCOUNT_PROVIDER = ""
    settings.WEBHOOK_INTAKE_THREADS = 0


@pytest.fixture
def btc_price(db):
    with schema_context("public"):
        series = get_or_create_series("BINANCE:BTCUSDT", "1")
        upsert_bars(series, [Bar(dt.datetime(2026, 11, 27, 7, 0, tzinfo=dt.UTC), 50_000, 50_100, 49_900, 50_000, 3)])
    return series


@pytest.fixture
def trader(retail_tenant, member_of):
    return member_of(retail_tenant)


@pytest.fixture
def paper(retail_tenant, trader):
    with schema_context(retail_tenant.schema_name):
        return ensure_default_paper_account(trader)


@pytest.fixture
def web(client_on, retail_tenant, trader):
    return client_on(retail_tenant, trader)


@pytest.fixture
def run_jobs(retail_tenant):
    """Run the execution core's pending per-account jobs, as the Dramatiq worker would."""

    def run() -> None:
        with schema_context(retail_tenant.schema_name):
            for execution in AccountExecution.objects.filter(status=AccountExecution.Status.PENDING):
                execution_services.execute_account(execution.pk)

    return run
