"""Alert intake behaviours beyond security: formats, stale signals, drift, approval, several commands."""

import datetime as dt
import json
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import Plan
from accounts.services import PlanLimitExceeded
from execution import services as execution_services
from execution.models import AccountExecution, AuditEvent, Order, SignalRecord
from tests.execution import fake_broker
from tests.factories import UserFactory
from tests.webhooks.factories import link, make_binding
from webhooks import services
from webhooks.models import Alert, WebhookBinding

pytestmark = pytest.mark.django_db
BTC = "BINANCE:BTCUSDT"


@pytest.fixture
def owner(retail_tenant, member_of):
    return member_of(retail_tenant, plan=Plan.objects.get(code=Plan.Code.PRO))


@pytest.fixture
def schema(retail_tenant, in_schema):
    with in_schema(retail_tenant.schema_name):
        yield retail_tenant.schema_name


def post(token, body, content_type="application/json"):
    """POST to the public endpoint, then come back to the tenant schema the test works in."""
    data = body if isinstance(body, str) else json.dumps(body)
    schema = connection.schema_name
    try:
        return Client().post(f"/hook/{token}", data=data, content_type=content_type)
    finally:
        connection.set_schema(schema)


def drain():
    for alert in Alert.objects.filter(status=Alert.Status.ACCEPTED):
        services.process_alert(alert.pk)
    for execution in AccountExecution.objects.filter(status=AccountExecution.Status.PENDING):
        execution_services.execute_account(execution.pk)


def test_a_plain_text_alert_is_executed(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    _binding, token = make_binding(owner, [account])
    assert post(token, "buy BINANCE:BTCUSDT 0.01", content_type="text/plain").status_code == 200
    drain()
    assert Order.objects.get().quantity == D("0.01")


def test_a_stale_entry_is_recorded_and_not_executed(schema, owner, make_account, retail_tenant):
    _binding, token = make_binding(owner, [make_account(retail_tenant, owner)], max_signal_age_seconds=30)
    sent = (timezone.now() - dt.timedelta(seconds=90)).isoformat()
    response = post(token, {"action": "buy", "ticker": BTC, "contracts": "0.01", "timenow": sent})
    assert response.status_code == 202 and response.json()["status"] == "stale"
    drain()
    assert not Order.objects.exists()
    assert "old (limit 30 s)" in AuditEvent.objects.get(stage="stale").message


def test_an_exit_may_be_older_than_an_entry(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    fake_broker.set_position(schema, account, BTC, D("0.5"))
    _binding, token = make_binding(owner, [account], max_signal_age_seconds=30, max_exit_signal_age_seconds=300)
    sent = (timezone.now() - dt.timedelta(seconds=90)).isoformat()
    assert post(token, {"action": "exit", "ticker": BTC, "timenow": sent}).json()["status"] == "accepted"
    drain()
    assert Order.objects.get().reduce_only


def test_drift_is_recorded_on_the_binding_and_the_skip_policy_does_not_trade(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    binding, token = make_binding(owner, [account], drift_policy=WebhookBinding.DriftPolicy.SKIP)
    post(token, {"action": "buy", "ticker": BTC, "contracts": "0.01", "market_position": "long",
                 "prev_market_position": "long", "market_position_size": "0.02"})
    drain()
    assert not Order.objects.exists()
    binding.refresh_from_db()
    assert "strategy was long before this signal but the account is flat" in binding.last_drift[str(account)]["message"]


def test_the_sync_policy_trades_to_the_strategys_position(schema, owner, make_account, retail_tenant):
    account = make_account(retail_tenant, owner)
    fake_broker.set_position(schema, account, BTC, D("0.005"))
    _binding, token = make_binding(owner, [account], drift_policy=WebhookBinding.DriftPolicy.SYNC)
    post(token, {"action": "buy", "ticker": BTC, "contracts": "0.01", "market_position": "long",
                 "prev_market_position": "flat", "market_position_size": "0.01"})
    drain()
    order = Order.objects.get()
    assert (order.side, order.quantity) == ("buy", D("0.005"))
    assert AuditEvent.objects.filter(stage="drift").exists()


def test_a_binding_in_manual_approval_parks_the_signal(schema, owner, make_account, retail_tenant):
    _binding, token = make_binding(owner, [make_account(retail_tenant, owner)], requires_approval=True)
    post(token, {"action": "buy", "ticker": BTC, "contracts": "0.01"})
    drain()
    record = SignalRecord.objects.get()
    assert record.status == SignalRecord.Status.AWAITING_APPROVAL
    assert not Order.objects.exists()
    execution_services.approve_signal(record, owner)
    drain()
    assert Order.objects.get().state == Order.State.FILLED


def test_close_short_then_open_long_in_one_alert_runs_in_order_on_every_account(schema, owner, make_account, retail_tenant):
    accounts = [make_account(retail_tenant, owner) for _ in range(3)]
    for account in accounts:
        fake_broker.set_position(schema, account, BTC, D("-0.02"))
    _binding, token = make_binding(owner, accounts)
    post(token, {"commands": [{"action": "exit", "symbol": BTC}, {"action": "buy", "symbol": BTC, "quantity": "0.01"}]})
    drain()
    for account in accounts:
        close, buy = Order.objects.filter(broker_account_id=account).order_by("command_index")
        assert (close.quantity, close.reduce_only, buy.quantity) == (D("0.02"), True, D("0.01"))
        held = fake_broker.client().hget(f"{fake_broker.prefix()}:{schema}:{account}:positions", BTC)
        assert D(held) == D("0.01")


def test_weights_split_the_alert_quantity_between_clients(schema, owner, make_account, retail_tenant):
    big, small = make_account(retail_tenant, owner), make_account(retail_tenant, owner)
    _binding, token = make_binding(owner, links=[link(big, weight="3"), link(small, weight="1")],
                                   allocation=WebhookBinding.Allocation.WEIGHTS)
    post(token, {"action": "buy", "ticker": BTC, "contracts": "0.04"})
    drain()
    assert Order.objects.get(broker_account_id=big).quantity == D("0.03")
    assert Order.objects.get(broker_account_id=small).quantity == D("0.01")


def test_equity_allocation_is_pro_rata(schema, owner, retail_tenant):
    rich = 9101
    poor = 9102
    fake_broker.register_account(schema, rich, owner.pk, equity=D(300_000))
    fake_broker.register_account(schema, poor, owner.pk, equity=D(100_000))
    _binding, token = make_binding(owner, [rich, poor], allocation=WebhookBinding.Allocation.EQUITY)
    post(token, {"action": "buy", "ticker": BTC, "contracts": "0.04"})
    drain()
    assert Order.objects.get(broker_account_id=rich).quantity == D("0.03")
    assert Order.objects.get(broker_account_id=poor).quantity == D("0.01")


def test_the_plan_limits_linked_accounts(schema, retail_tenant, make_account):
    free_user = UserFactory()  # free plan: one account per binding
    accounts = [make_account(retail_tenant, free_user) for _ in range(2)]
    with pytest.raises(PlanLimitExceeded):
        make_binding(free_user, accounts)


def test_an_alert_with_no_linked_account_is_recorded_as_skipped(schema, owner):
    _binding, token = make_binding(owner, [])
    post(token, {"action": "buy", "ticker": BTC, "contracts": "0.01"})
    drain()
    assert AuditEvent.objects.get(stage="skipped").message == "no enabled account is linked"


def test_stored_alerts_are_swept_back_into_the_queue(schema, owner, make_account, retail_tenant):
    _binding, token = make_binding(owner, [make_account(retail_tenant, owner)])
    alert_id = post(token, {"action": "buy", "ticker": BTC, "contracts": "0.01"}).json()["alert_id"]
    Alert.objects.filter(pk=alert_id).update(received_at=timezone.now() - dt.timedelta(minutes=5))
    assert services.sweep_alerts() == 1


def test_the_demo_seed_links_a_webhook_to_the_demo_users_paper_account(schema, owner, retail_tenant, settings):
    from webhooks.demo import seed_demo_tenant

    settings.EXECUTION_ACCOUNT_PROVIDER = ""  # the brokers app's accounts
    seed_demo_tenant(retail_tenant, owner)
    seed_demo_tenant(retail_tenant, owner)  # idempotent
    binding = WebhookBinding.objects.get(owner=owner)
    assert binding.accounts.count() == 1
