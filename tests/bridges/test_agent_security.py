"""A real agent process refuses every request that is not correctly signed, fresh and addressed to it,
answers with a clear error code, and never acts on a refused request."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from bridges.protocol import AgentError, TransportError
from bridges.protocol.signing import HEADER_NONCE, HEADER_SIGNATURE, sign_request, verify_response

from .conftest import start_request

ORDER = {"client_order_id": "sec-1", "symbol": "EURUSD", "side": "buy", "order_type": "market", "quantity": "0.01"}


def raw_request(agent, method: str, target: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=5)
    try:
        connection.request(method, target, body=body, headers={**headers, "Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        return response.status, json.loads(payload), dict(response.headers)
    finally:
        connection.close()


def order_target(instance_id: str) -> str:
    return f"/v1/instances/{instance_id}/orders"


def assert_no_order(agent, instance_id: str, client_order_id: str) -> None:
    with pytest.raises(AgentError) as raised:
        agent.client().get_order(instance_id, client_order_id)
    assert raised.value.code == "order_not_found"


def test_request_signed_with_wrong_secret_is_refused_and_not_executed(sim_agent, started_instance):
    body = json.dumps(ORDER).encode()
    headers = sign_request(b"z" * 64, sim_agent.node_id, "POST", order_target(started_instance), body)
    status, answer, _ = raw_request(sim_agent, "POST", order_target(started_instance), body, headers)
    assert (status, answer["error"]["code"]) == (401, "bad_signature")
    assert_no_order(sim_agent, started_instance, "sec-1")


def test_tampered_body_is_refused_and_not_executed(sim_agent, started_instance):
    signed_body = json.dumps(ORDER).encode()
    headers = sign_request(sim_agent.secret, sim_agent.node_id, "POST", order_target(started_instance), signed_body)
    tampered = json.dumps({**ORDER, "quantity": "5.00"}).encode()
    status, answer, _ = raw_request(sim_agent, "POST", order_target(started_instance), tampered, headers)
    assert (status, answer["error"]["code"]) == (401, "bad_signature")
    assert_no_order(sim_agent, started_instance, "sec-1")


def test_request_moved_to_another_instance_path_is_refused(sim_agent, started_instance):
    body = json.dumps(ORDER).encode()
    headers = sign_request(sim_agent.secret, sim_agent.node_id, "POST", order_target("other"), body)
    status, answer, _ = raw_request(sim_agent, "POST", order_target(started_instance), body, headers)
    assert (status, answer["error"]["code"]) == (401, "bad_signature")
    assert_no_order(sim_agent, started_instance, "sec-1")


def test_stale_timestamp_is_refused_and_not_executed(sim_agent, started_instance):
    body = json.dumps(ORDER).encode()
    headers = sign_request(
        sim_agent.secret, sim_agent.node_id, "POST", order_target(started_instance), body, now=time.time() - 120
    )
    status, answer, _ = raw_request(sim_agent, "POST", order_target(started_instance), body, headers)
    assert (status, answer["error"]["code"]) == (401, "stale_timestamp")
    assert "window" in answer["error"]["message"]
    assert_no_order(sim_agent, started_instance, "sec-1")


def test_replayed_request_is_refused_and_executed_only_once(sim_agent, started_instance):
    body = json.dumps({**ORDER, "client_order_id": "replay-1"}).encode()
    headers = sign_request(sim_agent.secret, sim_agent.node_id, "POST", order_target(started_instance), body)
    first_status, first, _ = raw_request(sim_agent, "POST", order_target(started_instance), body, headers)
    second_status, second, _ = raw_request(sim_agent, "POST", order_target(started_instance), body, headers)
    assert first_status == 200 and first["created"] is True
    assert (second_status, second["error"]["code"]) == (401, "replayed_nonce")
    assert len(sim_agent.client().list_orders(started_instance)) == 1


def test_request_for_unknown_node_is_refused(sim_agent, started_instance):
    body = json.dumps(ORDER).encode()
    headers = sign_request(sim_agent.secret, "node-zz", "POST", order_target(started_instance), body)
    status, answer, _ = raw_request(sim_agent, "POST", order_target(started_instance), body, headers)
    assert (status, answer["error"]["code"]) == (401, "unknown_node")
    assert_no_order(sim_agent, started_instance, "sec-1")


def test_unsigned_request_is_refused_naming_missing_headers(sim_agent):
    status, answer, _ = raw_request(sim_agent, "GET", "/v1/health", b"", {})
    assert (status, answer["error"]["code"]) == (401, "missing_headers")
    assert "X-4P-Signature" in answer["error"]["message"]


def test_unsigned_start_request_starts_nothing(sim_agent):
    body = json.dumps(start_request("sneaky", account_id="sneaky", login="1")).encode()
    headers = sign_request(b"q" * 64, sim_agent.node_id, "POST", "/v1/instances", body)
    status, _, _ = raw_request(sim_agent, "POST", "/v1/instances", body, headers)
    assert status == 401
    with pytest.raises(AgentError) as raised:
        sim_agent.client().get_instance("sneaky")
    assert raised.value.code == "instance_not_found"


def test_every_response_is_signed_and_bound_to_the_request_nonce(sim_agent):
    headers = sign_request(sim_agent.secret, sim_agent.node_id, "GET", "/v1/health", b"")
    connection = http.client.HTTPConnection("127.0.0.1", sim_agent.port, timeout=5)
    connection.request("GET", "/v1/health", headers=headers)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    verify_response(sim_agent.secret, sim_agent.node_id, response.status, headers[HEADER_NONCE], response.headers, payload)
    assert response.headers[HEADER_SIGNATURE]


def test_client_with_wrong_secret_gets_a_clear_authentication_error(sim_agent):
    client = sim_agent.client()
    client._secret = b"w" * 64
    with pytest.raises(AgentError) as raised:
        client.health()
    assert raised.value.code == "bad_signature"


def test_client_refuses_a_response_from_an_impostor(sim_agent):
    impostor_view = sim_agent.client()
    impostor_view.node_id = "node-b"  # we believe we talk to node-b, but node-a answers
    with pytest.raises(AgentError) as raised:
        impostor_view.health()
    assert raised.value.code == "unknown_node"


def test_schema_invalid_body_is_refused_with_field_errors_and_not_executed(sim_agent, started_instance):
    body = json.dumps({**ORDER, "quantity": 0.01}).encode()
    headers = sign_request(sim_agent.secret, sim_agent.node_id, "POST", order_target(started_instance), body)
    status, answer, _ = raw_request(sim_agent, "POST", order_target(started_instance), body, headers)
    assert (status, answer["error"]["code"]) == (400, "invalid_request")
    assert any(error.startswith("quantity:") for error in answer["error"]["details"]["errors"])
    assert_no_order(sim_agent, started_instance, "sec-1")


def test_oversized_body_is_refused(sim_agent, started_instance):
    body = b"{" + b" " * (300 * 1024) + b"}"
    headers = sign_request(sim_agent.secret, sim_agent.node_id, "POST", order_target(started_instance), body)
    status, answer, _ = raw_request(sim_agent, "POST", order_target(started_instance), body, headers)
    assert (status, answer["error"]["code"]) == (413, "body_too_large")


def test_unreachable_agent_is_a_transport_error(sim_agent):
    client = sim_agent.client()
    client._port = 1  # nothing listens there
    with pytest.raises(TransportError):
        client.health()
