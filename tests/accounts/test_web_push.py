"""Web Push through pywebpush to a local push service on loopback, decrypting what arrives."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPushException

from accounts import push
from accounts.models import NotificationEvent, PushSubscription

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_push_service_over_http(settings):
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = True


def test_plain_http_endpoints_are_refused_in_production(member_of, retail_tenant, settings):
    from django.core.exceptions import ValidationError

    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = False
    with pytest.raises(ValidationError, match="https"):
        push.save_subscription(member_of(retail_tenant), {"endpoint": "http://x/1", "keys": {"p256dh": "a", "auth": "b"}})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class PushService:
    """A push service endpoint: records each request; answers with the next queued status (default 201)."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        self.statuses: list[int] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                service.received.append((dict(self.headers), body))
                self.send_response(service.statuses.pop(0) if service.statuses else 201)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/push/device-1"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()


@pytest.fixture
def device_keys():
    private_key = ec.generate_private_key(ec.SECP256R1())
    public = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    auth_secret = b"0123456789abcdef"
    return private_key, {"p256dh": b64url(public), "auth": b64url(auth_secret)}, auth_secret


def test_a_push_arrives_encrypted_and_decrypts_to_the_message(member_of, retail_tenant, push_service, device_keys):
    private_key, keys, auth_secret = device_keys
    user = member_of(retail_tenant)
    subscription = push.save_subscription(user, {"endpoint": push_service.url, "keys": keys})
    message = push.PushMessage("Order filled", "Bought 0.5 BTCUSDT at 43,000", url="/deployments/")

    assert push.deliver(subscription.pk, message.payload()) == "sent"

    headers, body = push_service.received[0]
    headers = {k.lower(): v for k, v in headers.items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["authorization"].startswith("vapid t=")
    assert body and b"Order filled" not in body  # the push service only ever sees ciphertext
    plaintext = http_ece.decrypt(body, private_key=private_key, auth_secret=auth_secret, version="aes128gcm")
    assert json.loads(plaintext) == {"title": "Order filled", "body": "Bought 0.5 BTCUSDT at 43,000", "url": "/deployments/", "tag": ""}


def test_a_410_from_the_push_service_removes_the_subscription(member_of, retail_tenant, push_service, device_keys):
    _, keys, _ = device_keys
    subscription = push.save_subscription(member_of(retail_tenant), {"endpoint": push_service.url, "keys": keys})
    push_service.statuses.append(410)
    assert push.deliver(subscription.pk, push.PushMessage("x", "y").payload()) == "removed"
    assert not PushSubscription.objects.filter(pk=subscription.pk).exists()


def test_a_500_from_the_push_service_keeps_the_subscription_and_raises_for_a_retry(
    member_of, retail_tenant, push_service, device_keys
):
    _, keys, _ = device_keys
    subscription = push.save_subscription(member_of(retail_tenant), {"endpoint": push_service.url, "keys": keys})
    push_service.statuses.append(500)
    with pytest.raises(WebPushException):
        push.deliver(subscription.pk, push.PushMessage("x", "y").payload())
    subscription.refresh_from_db()
    assert subscription.failure_count == 1


def test_users_who_opted_out_of_an_event_get_no_push(member_of, retail_tenant, push_service, device_keys):
    _, keys, _ = device_keys
    user = member_of(retail_tenant)
    push.save_subscription(user, {"endpoint": push_service.url, "keys": keys})
    push.set_preference(user, NotificationEvent.ORDER_FILLED, False)
    assert push.notify(user.pk, NotificationEvent.ORDER_FILLED, push.PushMessage("x", "y")) == 0


def test_subscribing_through_the_api_stores_the_device(client_on, member_of, retail_tenant, device_keys):
    _, keys, _ = device_keys
    user = member_of(retail_tenant)
    response = client_on(retail_tenant, user).post(
        "/accounts/notifications/subscriptions/",
        json.dumps({"endpoint": "https://push.example/abc", "keys": keys}),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert PushSubscription.objects.get(endpoint="https://push.example/abc").user == user


def test_a_malformed_subscription_is_refused_with_the_missing_field(client_on, member_of, retail_tenant):
    response = client_on(retail_tenant, member_of(retail_tenant)).post(
        "/accounts/notifications/subscriptions/", json.dumps({"endpoint": "https://push.example/abc"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "missing 'keys'" in response.json()["error"]
