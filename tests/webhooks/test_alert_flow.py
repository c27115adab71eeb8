"""An alert posted to /hook/<token> followed through the execution core to orders on three accounts."""

import json
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Plan
from execution import services as execution_services
from execution.models import AccountExecution, AuditEvent, Order, OrderEvent
from tests.execution import fake_broker
from tests.webhooks.factories import link, make_binding
from webhooks import services
from webhooks.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def pro_user(retail_tenant, member_of):
    return member_of(retail_tenant, plan=Plan.objects.get(code=Plan.Code.PRO))


def post(token, body, content_type="application/json", **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return Client(REMOTE_ADDR="52.89.214.238").post(f"/hook/{token}", data=data, content_type=content_type, **extra)


def run_pending(schema):
    """Run what the Dramatiq actors would run, in this test's transaction."""
    for alert in Alert.objects.filter(status=Alert.Status.ACCEPTED):
        services.process_alert(alert.pk)
    for execution in AccountExecution.objects.filter(status=AccountExecution.Status.PENDING):
        execution_services.execute_account(execution.pk)


def test_an_alert_fans_out_to_three_accounts_with_their_own_sizing_and_filters(
    retail_tenant, pro_user, make_account, in_schema
):
    with in_schema(retail_tenant.schema_name):
        as_alert = make_account(retail_tenant, pro_user)
        doubled = make_account(retail_tenant, pro_user)
        short_only = make_account(retail_tenant, pro_user)
        _binding, token = make_binding(pro_user, links=[
            link(as_alert),
            link(doubled, sizing_mode="multiplier", sizing_value="2"),
            link(short_only, direction="short_only"),
        ], passphrase="s3cret")

    response = post(token, {"passphrase": "s3cret", "action": "buy", "ticker": "BTCUSDT", "contracts": "0.01",
                            "close": "50000", "id": "tv-1"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"

    with in_schema(retail_tenant.schema_name):
        run_pending(retail_tenant.schema_name)
        orders = {o.broker_account_id: o for o in Order.objects.all()}
        assert set(orders) == {as_alert, doubled}
        assert orders[as_alert].quantity == Decimal("0.01")
        assert orders[doubled].quantity == Decimal("0.02")
        assert all(o.state == Order.State.FILLED for o in orders.values())
        assert [e.to_state for e in OrderEvent.objects.filter(order=orders[as_alert])] == [
            "new", "submitted", "acknowledged", "filled"
        ]
        alert_id = response.json()["alert_id"]
        stages = list(AuditEvent.objects.filter(alert_id=alert_id, broker_account_id=as_alert)
                      .values_list("stage", flat=True))
        assert stages == ["sized", "submitted", "acknowledged", "filled"]
        alert_stages = list(AuditEvent.objects.filter(alert_id=alert_id, broker_account_id__isnull=True)
                            .values_list("stage", flat=True))
        assert alert_stages[:3] == ["received", "validated", "dispatched"]
        skipped = AuditEvent.objects.get(alert_id=alert_id, broker_account_id=short_only, stage="skipped")
        assert "short-only" in skipped.message
    assert Decimal(fake_broker.orders_of(retail_tenant.schema_name, doubled)[0]["quantity"]) == Decimal("0.02")
