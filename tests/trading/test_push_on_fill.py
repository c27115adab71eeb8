"""Web Push when the execution core records a fill or a rejection: queued on the real Redis broker after
commit, delivered encrypted to a local push service and decrypted here."""

import json
import re

import http_ece
import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from accounts import push
from accounts.actors import deliver_push
from accounts.models import NotificationEvent
from execution.models import Order, OrderEvent
from fourpass.tasks import broker
from tests.accounts.test_web_push import PushService, b64url

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _local_push_service_over_http(settings):
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = True


@pytest.fixture
def device(trader):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    service = PushService()
    private_key = ec.generate_private_key(ec.SECP256R1())
    public = private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
    auth = b"fedcba9876543210"
    push.save_subscription(trader, {"endpoint": service.url, "keys": {"p256dh": b64url(public), "auth": b64url(auth)}})
    broker.flush(deliver_push.queue_name)
    yield service, private_key, auth
    broker.flush(deliver_push.queue_name)
    service.close()


def queued_pushes() -> list[tuple]:
    """The deliver_push messages waiting on the Redis queue (taken off it)."""
    consumer = broker.consume(deliver_push.queue_name, prefetch=20, timeout=300)
    found = []
    try:
        for message in consumer:
            if message is None:
                break
            consumer.ack(message)
            if message.actor_name == deliver_push.actor_name:
                found.append(tuple(message.args))
    finally:
        consumer.close()
    return found


def deliver_and_read(device) -> list[dict]:
    """Run the actor body for each queued message; return what the device decrypts."""
    service, private_key, auth = device
    for args in queued_pushes():
        assert push.deliver(*args) == "sent"
    return [json.loads(http_ece.decrypt(body, private_key=private_key, auth_secret=auth, version="aes128gcm"))
            for _headers, body in service.received]


def place(web, account, run_jobs, capture, **fields):
    data = {"account": account.pk, "symbol": "BINANCE:BTCUSDT", "side": "buy", "quantity": "0.01",
            "order_type": "market"} | fields
    sheet = web.post("/trade/ticket/review/", data, **HX).content.decode()
    web.post("/trade/ticket/place/", dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', sheet)), **HX)
    with capture(execute=True):  # the worker's transactions commit; so do these
        run_jobs()


def test_a_fill_recorded_by_the_core_reaches_the_owners_device(
    web, paper, btc_price, run_jobs, device, retail_tenant, django_capture_on_commit_callbacks
):
    place(web, paper, run_jobs, django_capture_on_commit_callbacks)
    with schema_context(retail_tenant.schema_name):
        order = Order.objects.get(broker_account_id=paper.pk)
    assert order.state == Order.State.FILLED
    assert deliver_and_read(device) == [{
        "title": "Order filled", "body": "Bought 0.01 BINANCE:BTCUSDT at 50000", "url": "/trade/orders/",
        "tag": f"order-{order.pk}",
    }]


def test_a_rejection_is_pushed_with_the_brokers_reason(
    web, paper, btc_price, run_jobs, device, django_capture_on_commit_callbacks
):
    place(web, paper, run_jobs, django_capture_on_commit_callbacks, quantity="10")  # more than the paper cash
    [message] = deliver_and_read(device)
    assert message["title"] == "Order rejected"
    assert message["body"].startswith("Buy 10 BINANCE:BTCUSDT: ")
    assert re.search(r"insufficient|not enough|cash", message["body"], re.IGNORECASE)


def test_users_who_opted_out_of_fill_pushes_get_none(
    web, paper, btc_price, run_jobs, device, trader, django_capture_on_commit_callbacks
):
    push.set_preference(trader, NotificationEvent.ORDER_FILLED, False)
    place(web, paper, run_jobs, django_capture_on_commit_callbacks)
    assert queued_pushes() == []


def test_a_state_change_that_is_rolled_back_pushes_nothing(
    retail_tenant, trader, paper, device, django_capture_on_commit_callbacks
):
    with schema_context(retail_tenant.schema_name), django_capture_on_commit_callbacks(execute=True) as callbacks:
        order = Order.objects.create(owner=trader, broker_account_id=paper.pk, client_order_id="fp-rollback",
                                     symbol="BINANCE:BTCUSDT", side="buy", order_type="market", quantity=1)
        with pytest.raises(RuntimeError), transaction.atomic():
            OrderEvent.objects.create(order=order, from_state="submitted", to_state="filled")
            raise RuntimeError("the core's transaction failed")
    assert callbacks == []
    assert queued_pushes() == []


def test_intermediate_states_push_nothing(retail_tenant, trader, paper, device, django_capture_on_commit_callbacks):
    with schema_context(retail_tenant.schema_name), django_capture_on_commit_callbacks(execute=True):
        order = Order.objects.create(owner=trader, broker_account_id=paper.pk, client_order_id="fp-quiet",
                                     symbol="BINANCE:BTCUSDT", side="buy", order_type="market", quantity=1)
        for state in ("new", "submitted", "acknowledged", "cancelled"):
            OrderEvent.objects.create(order=order, to_state=state)
    assert queued_pushes() == []
