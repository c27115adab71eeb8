"""Pages and API of webhooks and execution, as a logged-in user sees them."""

import html
import json

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Plan
from execution import services as execution_services
from execution.models import AccountExecution
from tests.webhooks.factories import make_binding
from webhooks import services
from webhooks.models import Alert, WebhookBinding

pytestmark = pytest.mark.django_db
BUY = {"action": "buy", "ticker": "BINANCE:BTCUSDT", "contracts": "0.01"}


@pytest.fixture
def owner(retail_tenant, member_of):
    return member_of(retail_tenant, plan=Plan.objects.get(code=Plan.Code.PRO))


@pytest.fixture
def browser(client_on, retail_tenant, owner):
    return client_on(retail_tenant, owner)


def executed_alert(retail_tenant, owner, make_account, in_schema):
    with in_schema(retail_tenant.schema_name):
        binding, token = make_binding(owner, [make_account(retail_tenant, owner)])
    alert_id = Client().post(f"/hook/{token}", data=json.dumps(BUY), content_type="application/json").json()["alert_id"]
    with in_schema(retail_tenant.schema_name):
        services.process_alert(alert_id)
        for execution in AccountExecution.objects.all():
            execution_services.execute_account(execution.pk)
    return binding, alert_id


def test_creating_a_webhook_shows_its_url_and_message_once(browser, retail_tenant, owner, make_account, in_schema):
    account = make_account(retail_tenant, owner)
    response = browser.post("/webhooks/new/", {
        "name": "My strategy", "passphrase": "pw-1", "tradingview_ips": "on", "enabled": "on",
        "approval_timeout_minutes": 15, "drift_policy": "warn", "allocation": "per_account",
        "dedupe_window_seconds": 60, "rate_limit_per_minute": 120,
        f"acc-{account}-linked": "on", f"acc-{account}-enabled": "on", f"acc-{account}-sizing_mode": "multiplier",
        f"acc-{account}-sizing_value": "2", f"acc-{account}-direction": "both",
        f"acc-{account}-session_start": "00:00", f"acc-{account}-session_end": "24:00",
        f"acc-{account}-default_exchange": "BINANCE", f"acc-{account}-symbol_overrides": "ETHUSDT=BYBIT:ETHUSDT.P",
    })
    assert response.status_code == 200, response.content.decode()[:2000]
    page = html.unescape(response.content.decode())
    assert "shown only once" in page
    url = next(line for line in page.splitlines() if "/hook/" in line and "hook-url" in line)
    token = url.split("/hook/")[1].split("<")[0]
    assert '"passphrase": "pw-1"' in page and "{{strategy.order.action}}" in page
    with in_schema(retail_tenant.schema_name):
        binding = WebhookBinding.objects.get()
        link = binding.accounts.get()
        assert (link.sizing_mode, link.symbol_overrides) == ("multiplier", {"ETHUSDT": "BYBIT:ETHUSDT.P"})
        assert "52.89.214.238" in binding.ip_allowlist
    detail = browser.get(f"/webhooks/{binding.pk}/").content.decode()
    assert token not in detail and binding.token_hint in detail
    assert Client(REMOTE_ADDR="52.89.214.238").post(
        f"/hook/{token}", data=json.dumps({**BUY, "passphrase": "pw-1"}), content_type="application/json"
    ).status_code == 200


def test_the_alert_log_drills_down_to_the_audit_and_exports_csv(browser, retail_tenant, owner, make_account, in_schema):
    _binding, alert_id = executed_alert(retail_tenant, owner, make_account, in_schema)
    assert f"/webhooks/alerts/{alert_id}/" in browser.get("/webhooks/alerts/").content.decode()
    detail = browser.get(f"/webhooks/alerts/{alert_id}/").content.decode()
    for stage in ("Received", "Validated", "Dispatched", "Sized", "Submitted", "Acknowledged", "Filled"):
        assert stage in detail
    csv_body = b"".join(browser.get("/webhooks/alerts.csv").streaming_content).decode()
    assert csv_body.splitlines()[0].startswith("alert_id,binding,received_at")
    assert sum(1 for line in csv_body.splitlines() if line.startswith(f"{alert_id},")) == 7


def test_orders_page_report_and_csv(browser, retail_tenant, owner, make_account, in_schema):
    executed_alert(retail_tenant, owner, make_account, in_schema)
    assert "BINANCE:BTCUSDT" in browser.get("/deployments/orders/").content.decode()
    assert "Per-account report" in browser.get("/deployments/activity/").content.decode()
    rows = b"".join(browser.get("/deployments/orders.csv").streaming_content).decode().splitlines()
    assert len(rows) == 2 and ",filled," in rows[1]
    report = browser.get("/deployments/report.csv").content.decode().splitlines()
    assert report[1].split(",")[1:4] == ["1", "1", "1"]


def test_another_users_webhook_is_not_found(client_on, retail_tenant, owner, member_of, make_account, in_schema):
    binding, alert_id = executed_alert(retail_tenant, owner, make_account, in_schema)
    other = client_on(retail_tenant, member_of(retail_tenant))
    assert other.get(f"/webhooks/{binding.pk}/").status_code == 404
    assert other.get(f"/webhooks/alerts/{alert_id}/").status_code == 404
    assert other.get("/webhooks/api/alerts/").json()["count"] == 0
    assert other.get("/deployments/api/orders/").json()["count"] == 0


def test_the_api_creates_a_binding_and_returns_the_token_once(browser, retail_tenant, owner, make_account, in_schema):
    account = make_account(retail_tenant, owner)
    created = browser.post("/webhooks/api/bindings/", data=json.dumps({
        "name": "API", "passphrase": "x", "accounts": [{"broker_account_id": account, "sizing_mode": "fixed",
                                                        "sizing_value": "0.5", "default_exchange": "BINANCE"}],
    }), content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["token"] and body["url"].endswith(body["token"])
    listed = browser.get("/webhooks/api/bindings/").json()["results"][0]
    assert listed["token"] is None and listed["accounts"][0]["sizing_mode"] == "fixed"
    connection.set_schema_to_public()
    status = Client().post(f"/hook/{body['token']}", data=json.dumps({**BUY, "passphrase": "x"}),
                           content_type="application/json").status_code
    assert status == 200
    alerts = browser.get("/webhooks/api/alerts/").json()
    assert alerts["results"][0]["audit"][0]["stage"] == "received"


def test_the_api_refuses_an_account_the_user_does_not_own(browser, retail_tenant, member_of, make_account):
    foreign = make_account(retail_tenant, member_of(retail_tenant))
    response = browser.post("/webhooks/api/bindings/", data=json.dumps({
        "name": "API", "accounts": [{"broker_account_id": foreign}]}), content_type="application/json")
    assert response.status_code == 400
    assert "does not exist" in response.content.decode()


def test_approving_from_the_deployments_page_executes(browser, retail_tenant, owner, make_account, in_schema):
    with in_schema(retail_tenant.schema_name):
        _binding, token = make_binding(owner, [make_account(retail_tenant, owner)], requires_approval=True)
    alert_id = Client().post(f"/hook/{token}", data=json.dumps(BUY), content_type="application/json").json()["alert_id"]
    with in_schema(retail_tenant.schema_name):
        services.process_alert(alert_id)
        assert Alert.objects.get(pk=alert_id).status == "processed"
        from execution.models import SignalRecord

        signal = SignalRecord.objects.get()
    page = browser.get("/deployments/activity/").content.decode()
    assert f"/deployments/signals/{signal.pk}/approve/" in page
    assert browser.post(f"/deployments/signals/{signal.pk}/approve/").status_code == 302
    with in_schema(retail_tenant.schema_name):
        assert AccountExecution.objects.get().status == "pending"
