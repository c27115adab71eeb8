"""The ASGI intake that answers /hook/ in front of Django (what the ASGI server runs in production)."""

import json

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from accounts.models import Plan
from tests.webhooks.factories import make_binding
from webhooks.hook_view import HookIntake
from webhooks.models import Alert

pytestmark = pytest.mark.django_db
BUY = {"action": "buy", "ticker": "BINANCE:BTCUSDT", "contracts": "0.01"}


@pytest.fixture(autouse=True)
def intake_on_the_test_thread(settings):
    settings.WEBHOOK_INTAKE_THREADS = 0  # shares the test's transaction


@pytest.fixture
def token(retail_tenant, member_of, make_account, in_schema):
    owner = member_of(retail_tenant, plan=Plan.objects.get(code=Plan.Code.PRO))
    with in_schema(retail_tenant.schema_name):
        _binding, token = make_binding(owner, [make_account(retail_tenant, owner)])
    return token


async def _django_stand_in(scope, receive, send):
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": b"django"})


def request(path: str, *, method: str = "POST", body: bytes = b"", chunks: int = 1, client=("203.0.113.5", 4000),
            headers: list | None = None) -> tuple[int, dict, bytes]:
    scope = {"type": "http", "method": method, "path": path, "headers": headers or
             [(b"content-type", b"application/json; charset=utf-8")], "client": client, "query_string": b""}

    async def exchange():
        communicator = ApplicationCommunicator(HookIntake(_django_stand_in), scope)
        size = max(1, len(body) // chunks + 1)
        parts = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
        for number, part in enumerate(parts, start=1):
            await communicator.send_input({"type": "http.request", "body": part, "more_body": number < len(parts)})
        start = await communicator.receive_output(10)
        content = await communicator.receive_output(10)
        await communicator.wait(10)
        return start["status"], dict(start["headers"]), content["body"]

    return async_to_sync(exchange)()


def test_a_valid_alert_is_stored_and_acknowledged_as_json(token, retail_tenant, in_schema):
    status, headers, body = request(f"/hook/{token}", body=json.dumps({**BUY, "id": "asgi-1"}).encode())
    assert status == 200
    assert headers[b"content-type"] == b"application/json" and headers[b"cache-control"] == b"no-store"
    reply = json.loads(body)
    assert reply["status"] == "accepted"
    with in_schema(retail_tenant.schema_name):
        alert = Alert.objects.get(pk=reply["alert_id"])
    assert (alert.content_type, alert.source_ip) == ("application/json", "203.0.113.5")


def test_a_body_sent_in_chunks_is_read_whole(token):
    status, _headers, body = request(f"/hook/{token}", body=json.dumps({**BUY, "id": "chunked"}).encode(), chunks=4)
    assert status == 200 and json.loads(body)["status"] == "accepted"


def test_an_oversized_body_is_refused_with_413(token):
    status, _headers, body = request(f"/hook/{token}", body=b'{"pad": "' + b"x" * 40_000 + b'"}', chunks=5)
    assert status == 413 and "larger than" in json.loads(body)["error"]


def test_get_is_refused_with_405(token):
    status, headers, _body = request(f"/hook/{token}", method="GET")
    assert status == 405 and headers[b"allow"] == b"POST"


def test_a_path_below_the_token_is_not_found(token):
    status, _headers, body = request(f"/hook/{token}/extra", body=b"{}")
    assert status == 404 and json.loads(body) == {"error": "not found"}


def test_other_paths_go_to_django():
    status, _headers, body = request("/webhooks/", method="GET")
    assert (status, body) == (299, b"django")


def test_forwarded_for_is_ignored_unless_our_proxy_set_it(token, retail_tenant, in_schema, settings):
    spoofed = [(b"content-type", b"application/json"), (b"x-forwarded-for", b"52.89.214.238")]
    _status, _headers, body = request(f"/hook/{token}", body=json.dumps({**BUY, "id": "spoof"}).encode(),
                                      headers=spoofed)
    settings.WEBHOOK_TRUSTED_PROXIES = ("10.0.0.2",)
    _status, _headers, proxied = request(f"/hook/{token}", body=json.dumps({**BUY, "id": "proxied"}).encode(),
                                         headers=spoofed, client=("10.0.0.2", 5000))
    with in_schema(retail_tenant.schema_name):
        assert Alert.objects.get(pk=json.loads(body)["alert_id"]).source_ip == "203.0.113.5"
        assert Alert.objects.get(pk=json.loads(proxied)["alert_id"]).source_ip == "52.89.214.238"


def test_the_asgi_app_completes_the_server_start_up():
    from fourpass.asgi import application

    async def start_and_stop() -> list[dict]:
        communicator = ApplicationCommunicator(application, {"type": "lifespan", "asgi": {"version": "3.0"}})
        await communicator.send_input({"type": "lifespan.startup"})
        started = await communicator.receive_output(timeout=10)
        await communicator.send_input({"type": "lifespan.shutdown"})
        return [started, await communicator.receive_output(timeout=10)]

    assert async_to_sync(start_and_stop)() == [{"type": "lifespan.startup.complete"},
                                               {"type": "lifespan.shutdown.complete"}]
