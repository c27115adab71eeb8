"""Alerts that arrive together are stored together (``services.ingest_alerts``), each judged as if it came alone."""

import json

import pytest

from execution.models import AuditEvent
from tests.webhooks.factories import BUY, make_binding, pro_member
from webhooks import services
from webhooks.models import Alert
from webhooks.services import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_bindings(retail_tenant, member_of, make_account, in_schema):
    owner = pro_member(retail_tenant, member_of)
    with in_schema(retail_tenant.schema_name):
        account = make_account(retail_tenant, owner)
        first = make_binding(owner, [account], rate_limit_per_minute=2)
        second = make_binding(owner, [account], passphrase="pass-123")
    return first, second


def delivery(token: str, payload: dict | str, ip: str = "203.0.113.9") -> Delivery:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return Delivery(token, body.encode(), "application/json", ip)


def stored(tenant, in_schema, **filters) -> list[Alert]:
    with in_schema(tenant.schema_name):
        return list(Alert.objects.filter(**filters).order_by("id"))


def test_a_batch_for_two_bindings_is_stored_with_replies_in_arrival_order(two_bindings, retail_tenant, in_schema):
    (first, first_token), (second, second_token) = two_bindings
    replies = services.ingest_alerts([
        delivery(first_token, {**BUY, "id": "a"}),
        delivery(second_token, {**BUY, "id": "b", "passphrase": "pass-123"}),
        delivery(first_token, {**BUY, "id": "c"}),
    ])
    assert [r.status for r in replies] == [200, 200, 200]
    assert [r.body["status"] for r in replies] == ["accepted"] * 3
    with in_schema(retail_tenant.schema_name):
        alerts = [Alert.objects.get(pk=r.alert_id) for r in replies]
        steps = {a.pk: list(AuditEvent.objects.filter(alert_id=a.pk).order_by("id").values_list("stage", flat=True))
                 for a in alerts}
    assert [a.binding_id for a in alerts] == [first.pk, second.pk, first.pk]
    assert [a.idempotency_key for a in alerts] == ["id:a", "id:b", "id:c"]
    assert all(stages == ["received", "validated"] for stages in steps.values())
    assert all(r.schema_name == retail_tenant.schema_name and r.followup is not None for r in replies)


def test_a_resent_alert_in_the_same_batch_is_a_duplicate_of_the_first(two_bindings, retail_tenant, in_schema):
    (_first, token), _second = two_bindings
    original, resent = services.ingest_alerts([delivery(token, {**BUY, "id": "twice"}),
                                               delivery(token, {**BUY, "id": "twice"})])
    assert original.body["status"] == "accepted"
    assert resent.body == {"status": "duplicate", "alert_id": resent.alert_id, "duplicate_of": original.alert_id}
    assert resent.followup is None


def test_the_rate_limit_counts_every_alert_of_a_batch(two_bindings, retail_tenant, in_schema):
    (_first, token), _second = two_bindings
    replies = services.ingest_alerts([delivery(token, {**BUY, "id": f"r{n}"}) for n in range(3)])
    assert [r.status for r in replies] == [200, 200, 429]
    status_of = {a.pk: a.status for a in stored(retail_tenant, in_schema)}
    assert [status_of[r.alert_id] for r in replies] == ["accepted", "accepted", "rejected"]


def test_bad_alerts_in_a_batch_are_refused_without_holding_back_the_good_ones(two_bindings, retail_tenant,
                                                                              in_schema):
    (_first, first_token), (_second, second_token) = two_bindings
    replies = services.ingest_alerts([
        delivery(second_token, {**BUY, "id": "no-pass"}),
        delivery("x" * 43, {**BUY, "id": "unknown"}),
        delivery(second_token, {**BUY, "id": "ok", "passphrase": "pass-123"}),
        delivery(first_token, "{not json"),
    ])
    assert [r.status for r in replies] == [401, 404, 200, 400]
    assert replies[1].alert_id is None
    statuses = sorted(a.status for a in stored(retail_tenant, in_schema))
    assert statuses == ["accepted", "rejected", "rejected"]


def test_an_alert_that_cannot_be_stored_fails_alone_with_503(two_bindings, retail_tenant, in_schema):
    (_first, token), _second = two_bindings
    # an address PostgreSQL refuses: the batch fails, then each alert is stored on its own
    replies = services.ingest_alerts([delivery(token, {**BUY, "id": "fine"}),
                                      delivery(token, {**BUY, "id": "broken"}, ip="not-an-address")])
    assert [r.status for r in replies] == [200, 503]
    assert [a.idempotency_key for a in stored(retail_tenant, in_schema)] == ["id:fine"]
