"""The public endpoint under attack: tokens, passphrases, source addresses, replays, sizes, tenants."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Plan
from execution.models import AuditEvent, Order
from tests.execution import fake_broker
from tests.webhooks.factories import link, make_binding
from webhooks import services
from webhooks.models import Alert
from webhooks.routing.models import HookRoute

pytestmark = pytest.mark.django_db
BUY = {"action": "buy", "ticker": "BINANCE:BTCUSDT", "contracts": "0.01"}


@pytest.fixture
def owner(retail_tenant, member_of):
    return member_of(retail_tenant, plan=Plan.objects.get(code=Plan.Code.PRO))


@pytest.fixture
def hook(retail_tenant, owner, make_account, in_schema):
    """(binding, token, account) with a passphrase and TradingView's addresses as the allow-list."""
    with in_schema(retail_tenant.schema_name):
        account = make_account(retail_tenant, owner)
        binding, token = make_binding(owner, [account], passphrase="pass-123",
                                      ip_allowlist=["52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7"])
    return binding, token, account


def post(token, body, ip="52.89.214.238", content_type="application/json"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return Client(REMOTE_ADDR=ip).post(f"/hook/{token}", data=data, content_type=content_type)


def alerts(tenant, in_schema, **filters):
    with in_schema(tenant.schema_name):
        return list(Alert.objects.filter(**filters))


def test_an_unknown_token_gets_a_bare_404_and_nothing_is_stored(hook, retail_tenant, in_schema):
    _binding, token, _account = hook
    for guess in ("x", token[:-1] + ("A" if token[-1] != "A" else "B"), "a" * 43, token + "x"):
        response = post(guess, {**BUY, "passphrase": "pass-123"})
        assert response.status_code == 404
        assert response.json() == {"error": "not found"}
    assert alerts(retail_tenant, in_schema) == []


def test_a_wrong_passphrase_is_refused_with_401_and_logged_for_the_owner(hook, retail_tenant, in_schema):
    _binding, token, _account = hook
    response = post(token, {**BUY, "passphrase": "guess"})
    assert response.status_code == 401
    (alert,) = alerts(retail_tenant, in_schema)
    assert (alert.status, alert.http_status, alert.reason) == ("rejected", 401, "wrong or missing passphrase")
    assert '"passphrase": "***"' in alert.body  # what was typed is not kept


def test_a_missing_passphrase_is_refused(hook):
    assert post(hook[1], BUY).status_code == 401


def test_a_source_address_outside_the_allow_list_is_refused(hook, retail_tenant, in_schema):
    response = post(hook[1], {**BUY, "passphrase": "pass-123"}, ip="203.0.113.9")
    assert response.status_code == 403
    assert alerts(retail_tenant, in_schema)[0].reason == "source address 203.0.113.9 is not in the allow-list"


def test_each_tradingview_address_is_accepted(hook):
    for ip in ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7"):
        assert post(hook[1], {**BUY, "passphrase": "pass-123", "id": ip}, ip=ip).status_code == 200


def test_a_replayed_alert_is_recorded_as_a_duplicate_and_not_executed(hook, retail_tenant, in_schema):
    body = {**BUY, "passphrase": "pass-123", "id": "order-42"}
    first, replay = post(hook[1], body), post(hook[1], body)
    assert first.json()["status"] == "accepted"
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert replay.json()["duplicate_of"] == first.json()["alert_id"]
    with in_schema(retail_tenant.schema_name):
        for alert in Alert.objects.filter(status="accepted"):
            services.process_alert(alert.pk)
        from execution import services as execution_services
        from execution.models import AccountExecution

        for execution in AccountExecution.objects.all():
            execution_services.execute_account(execution.pk)
        assert Order.objects.count() == 1
        assert AuditEvent.objects.filter(stage="duplicate").count() == 1
    assert fake_broker.submissions(retail_tenant.schema_name, hook[2]) == 1


def test_an_identical_body_without_id_inside_the_window_is_a_duplicate(hook):
    body = {**BUY, "passphrase": "pass-123"}
    assert post(hook[1], body).json()["status"] == "accepted"
    assert post(hook[1], body).json()["status"] == "duplicate"


def test_an_oversized_body_gets_413(hook, retail_tenant, in_schema):
    response = post(hook[1], json.dumps({**BUY, "passphrase": "pass-123", "pad": "x" * 20_000}))
    assert response.status_code == 413
    assert alerts(retail_tenant, in_schema)[0].http_status == 413


def test_a_malformed_body_gets_400_naming_the_field(hook):
    response = post(hook[1], {"action": "buy", "ticker": "BINANCE:BTCUSDT", "contracts": "ten", "passphrase": "pass-123"})
    assert response.status_code == 400
    assert response.json()["field"] == "quantity"


def test_more_alerts_than_the_rate_limit_get_429(retail_tenant, owner, make_account, in_schema):
    with in_schema(retail_tenant.schema_name):
        _binding, token = make_binding(owner, [make_account(retail_tenant, owner)], rate_limit_per_minute=3)
    codes = [post(token, {**BUY, "id": str(n)}).status_code for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_a_rotated_token_stops_working_at_once(hook, retail_tenant, in_schema):
    binding, old, _account = hook
    with in_schema(retail_tenant.schema_name):
        new = services.rotate_token(binding)
    assert post(old, {**BUY, "passphrase": "pass-123"}).status_code == 404
    assert post(new, {**BUY, "passphrase": "pass-123"}).status_code == 200


def test_tokens_are_long_random_and_stored_only_as_hashes(hook, retail_tenant, in_schema):
    binding, token, _account = hook
    assert len(token) >= 43  # 256 bits, url-safe base64
    route = HookRoute.objects.get(schema_name=retail_tenant.schema_name, binding_id=binding.pk)
    assert route.token_hash == services.hash_secret(token) != token
    with in_schema(retail_tenant.schema_name):
        assert token not in json.dumps(list(type(binding).objects.filter(pk=binding.pk).values()), default=str)


def test_the_token_is_compared_in_constant_time(hook, monkeypatch):
    compared = []
    real = services.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(services.hmac, "compare_digest", spy)
    post(hook[1], {**BUY, "passphrase": "pass-123"})
    assert (services.hash_secret(hook[1]), services.hash_secret(hook[1])) in compared


def test_another_tenants_account_cannot_be_linked(retail_tenant, tenant_b, owner, member_of, make_account, in_schema):
    foreign_owner = member_of(tenant_b)
    foreign = make_account(tenant_b, foreign_owner)
    with in_schema(retail_tenant.schema_name), pytest.raises(services.ValidationError, match="does not exist"):
        make_binding(owner, links=[link(foreign)])


def test_an_account_id_in_the_payload_is_ignored(hook, retail_tenant, tenant_b, member_of, make_account, in_schema):
    foreign = make_account(tenant_b, member_of(tenant_b))
    response = post(hook[1], {**BUY, "passphrase": "pass-123", "account_id": foreign, "accounts": [foreign]})
    assert response.status_code == 200
    with in_schema(retail_tenant.schema_name):
        services.process_alert(response.json()["alert_id"])
        from execution.models import AccountExecution

        assert list(AccountExecution.objects.values_list("broker_account_id", flat=True)) == [hook[2]]


def test_get_requests_are_refused(hook):
    assert Client().get(f"/hook/{hook[1]}").status_code == 405


def test_a_disabled_webhook_refuses_alerts(hook, retail_tenant, in_schema):
    binding, token, _account = hook
    with in_schema(retail_tenant.schema_name):
        services.update_binding(binding, enabled=False)
    assert post(token, {**BUY, "passphrase": "pass-123"}).status_code == 403


def test_disabling_a_webhook_that_just_took_alerts_refuses_the_next_one(hook, retail_tenant, in_schema):
    binding, token, _account = hook
    assert post(token, {**BUY, "passphrase": "pass-123", "id": "before"}).status_code == 200
    with in_schema(retail_tenant.schema_name):
        services.update_binding(binding, enabled=False)
    assert post(token, {**BUY, "passphrase": "pass-123", "id": "after"}).status_code == 403


def test_a_changed_passphrase_applies_to_the_next_alert(hook, retail_tenant, in_schema):
    binding, token, _account = hook
    assert post(token, {**BUY, "passphrase": "pass-123", "id": "old"}).status_code == 200
    with in_schema(retail_tenant.schema_name):
        services.update_binding(binding, passphrase="new-pass-456")
    assert post(token, {**BUY, "passphrase": "pass-123", "id": "stale-pass"}).status_code == 401
    assert post(token, {**BUY, "passphrase": "new-pass-456", "id": "new"}).status_code == 200


def test_an_identical_body_after_the_window_is_accepted_again(hook, retail_tenant, in_schema):
    body = {**BUY, "passphrase": "pass-123"}
    first = post(hook[1], body).json()
    with in_schema(retail_tenant.schema_name):
        Alert.objects.filter(pk=first["alert_id"]).update(received_at=timezone.now() - dt.timedelta(seconds=61))
    again = post(hook[1], body).json()
    assert again["status"] == "accepted" and again["alert_id"] != first["alert_id"]


def test_an_explicit_id_is_a_duplicate_however_old_the_first_alert(hook, retail_tenant, in_schema):
    body = {**BUY, "passphrase": "pass-123", "id": "signal-7"}
    first = post(hook[1], body).json()
    with in_schema(retail_tenant.schema_name):
        Alert.objects.filter(pk=first["alert_id"]).update(received_at=timezone.now() - dt.timedelta(days=30))
    assert post(hook[1], body).json() == {"status": "duplicate", "alert_id": first["alert_id"] + 1,
                                          "duplicate_of": first["alert_id"]}


def test_a_rejected_alert_does_not_make_its_resend_a_duplicate(hook, retail_tenant, in_schema):
    body = {**BUY, "passphrase": "pass-123", "id": "retry-after-403"}
    assert post(hook[1], body, ip="203.0.113.9").status_code == 403
    assert post(hook[1], body).json()["status"] == "accepted"


def test_the_audit_trail_of_a_stored_alert_starts_with_received_then_validated(hook, retail_tenant, in_schema):
    alert_id = post(hook[1], {**BUY, "passphrase": "pass-123", "id": "audited"}).json()["alert_id"]
    with in_schema(retail_tenant.schema_name):
        steps = list(AuditEvent.objects.filter(alert_id=alert_id).order_by("id").values_list("stage", "message"))
    assert steps == [("received", "json alert from 52.89.214.238"), ("validated", "1 command(s)")]
