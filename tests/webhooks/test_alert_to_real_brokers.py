"""A TradingView alert posted to /hook/<token>, followed through the execution core to orders on three
brokers-app accounts: two paper accounts (the persisted paper broker) and a ccxt Binance account whose
real ccxt client talks to a fake Binance server on 127.0.0.1. Each account sizes and filters differently."""

import datetime as dt
import json
from decimal import Decimal as D

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Plan
from backtests.marketdata.services import Bar, get_or_create_series, upsert_bars
from brokers import services as broker_services
from brokers.models import PaperOrder
from execution import services as execution_services
from execution.models import AccountExecution, AuditEvent, Fill, Order, OrderEvent
from tests.brokers.fake_exchanges.binance import FakeBinance
from tests.brokers.fake_exchanges.server import FakeMarket, FakeServer, Venue
from tests.webhooks.factories import link, make_binding
from webhooks import services
from webhooks.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def real_brokers_app(settings):
    settings.EXECUTION_ACCOUNT_PROVIDER = ""  # brokers.BrokerAccount, not the Redis fake


@pytest.fixture
def binance():
    venue = Venue([FakeMarket("BTCUSDT", "spot", "BTC", "USDT", D("0.01"), D("0.001"), D("0.001"), D(5),
                              price=D(50_000))], {"USDT": D(10_000)})
    server = FakeServer(FakeBinance(venue, api_key="key-0001", secret="secret-0001")).start()
    yield server
    server.stop()


@pytest.fixture
def btc_price(db):
    with schema_context("public"):
        series = get_or_create_series("BINANCE:BTCUSDT", "1")
        upsert_bars(series, [Bar(dt.datetime(2026, 11, 27, 7, 0, tzinfo=dt.UTC), 50_000, 50_100, 49_900, 50_000, 3)])


def post(token, body):
    return Client(REMOTE_ADDR="52.89.214.238").post(f"/hook/{token}", data=json.dumps(body),
                                                    content_type="application/json")


def drain():
    for alert in Alert.objects.filter(status=Alert.Status.ACCEPTED):
        services.process_alert(alert.pk)
    for execution in AccountExecution.objects.filter(status=AccountExecution.Status.PENDING):
        execution_services.execute_account(execution.pk)


def test_an_alert_reaches_paper_and_exchange_accounts_with_their_sizing_filters_and_full_audit(
    retail_tenant, member_of, binance, btc_price
):
    owner = member_of(retail_tenant, plan=Plan.objects.get(code=Plan.Code.PRO))
    with schema_context(retail_tenant.schema_name):
        paper_a = broker_services.create_broker_account(owner, name="Paper A", kind="paper")
        paper_b = broker_services.create_broker_account(owner, name="Paper B", kind="paper")
        exchange = broker_services.create_broker_account(
            owner, name="Binance", kind="ccxt", exchange="binance", market_type="spot",
            credentials={"api_key": "key-0001", "secret": "secret-0001"},
            settings={"api_base_url": binance.url, "sandbox": False},
        )
        _binding, token = make_binding(owner, links=[
            link(paper_a.pk),  # quantity from the alert
            link(paper_b.pk, sizing_mode="percent_equity", sizing_value="1", max_position="0.015"),
            link(exchange.pk, sizing_mode="fixed", sizing_value="0.002", direction="long_only"),
        ], ip_allowlist=["52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7"])

    buy = post(token, {"id": "b1", "ticker": "BINANCE:BTCUSDT", "action": "buy", "contracts": "0.01", "close": "50000"})
    assert buy.status_code == 200

    with schema_context(retail_tenant.schema_name):
        drain()
        orders = {o.broker_account_id: o for o in Order.objects.all()}
        assert orders[paper_a.pk].quantity == D("0.01")
        assert orders[paper_b.pk].quantity == D("0.015")  # 1% of ~100k USDT is 0.02 BTC, capped by max position
        assert orders[exchange.pk].quantity == D("0.002")
        assert all(o.state == Order.State.FILLED for o in orders.values())
        assert Fill.objects.count() == 3
        assert PaperOrder.objects.filter(account=paper_a).count() == 1
        exchange_order = orders[exchange.pk]
        assert binance.exchange.venue.find(client_id=exchange_order.client_order_id).filled == D("0.002")

        alert_id = buy.json()["alert_id"]
        assert list(AuditEvent.objects.filter(alert_id=alert_id, broker_account_id__isnull=True)
                    .values_list("stage", flat=True)) == ["received", "validated", "dispatched"]
        for order in orders.values():
            steps = list(AuditEvent.objects.filter(alert_id=alert_id, broker_account_id=order.broker_account_id)
                         .values_list("stage", flat=True))
            assert steps == ["sized", "submitted", "acknowledged", "filled"]
            assert list(OrderEvent.objects.filter(order=order).values_list("to_state", flat=True)) == [
                "new", "submitted", "acknowledged", "filled"]
            filled_event = OrderEvent.objects.get(order=order, to_state="filled")
            assert filled_event.broker_response["status"] == "filled"
        capped = AuditEvent.objects.get(alert_id=alert_id, broker_account_id=paper_b.pk, stage="sized")
        assert "capped by max position" in capped.message

    sell = post(token, {"id": "s1", "ticker": "BINANCE:BTCUSDT", "action": "sell", "contracts": "0.01", "close": "50000"})
    with schema_context(retail_tenant.schema_name):
        drain()
        sells = {o.broker_account_id: o for o in Order.objects.filter(side="sell")}
        assert sells[paper_a.pk].state == Order.State.FILLED
        assert sells[exchange.pk].quantity == D("0.002")  # long-only: capped to what it holds
        rejected = sells[paper_b.pk]  # percent sizing asks for 0.02 but only 0.015 is held on spot
        assert rejected.state == Order.State.REJECTED
        assert AuditEvent.objects.filter(alert_id=sell.json()["alert_id"], broker_account_id=paper_b.pk,
                                         stage="rejected").exists()
