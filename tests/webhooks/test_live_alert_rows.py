"""A duplicate alert's row reaches the owner's open alert log at once (real Redis channel layer)."""

import json

import pytest

from tests.live import Listener
from tests.webhooks.factories import BUY, make_binding, pro_member
from webhooks import services

pytestmark = pytest.mark.django_db


def test_a_duplicate_alert_is_pushed_to_the_owners_open_alert_log(retail_tenant, member_of, make_account, in_schema):
    owner = pro_member(retail_tenant, member_of)
    with in_schema(retail_tenant.schema_name):
        _binding, token = make_binding(owner, [make_account(retail_tenant, owner)])
    listener = Listener(owner.pk, retail_tenant.schema_name, count=1)
    listener.start()
    assert listener.ready.wait(10)
    body = json.dumps({**BUY, "id": "live-dup-1"}).encode()

    first = services.ingest_alert(token, body, content_type="application/json")
    second = services.ingest_alert(token, body, content_type="application/json")

    listener.join(40)
    assert (first.body["status"], second.body["status"]) == ("accepted", "duplicate")
    (html,) = listener.messages
    assert 'hx-swap-oob="afterbegin:#alert-rows"' in html and f'id="alert-{second.alert_id}" class="alert-duplicate"' in html
