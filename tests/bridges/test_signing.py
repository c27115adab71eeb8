"""HMAC request/response signing, replay window and nonce cache (pure, no agent process)."""

from __future__ import annotations

import pytest

from bridges.protocol.signing import (
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    NonceCache,
    RequestVerifier,
    SignatureError,
    sign_request,
    sign_response,
    verify_response,
)

SECRET = b"k" * 48
NOW = 1_800_000_000.0


def verifier(**kwargs) -> RequestVerifier:
    return RequestVerifier("node-1", SECRET, clock=lambda: NOW, **kwargs)


def signed(body: bytes = b'{"a":1}', *, target: str = "/v1/instances/i/orders", now: float = NOW, **kwargs):
    return sign_request(SECRET, "node-1", "POST", target, body, now=now, **kwargs)


def rejection_code(check) -> str:
    with pytest.raises(SignatureError) as raised:
        check()
    return raised.value.code


def test_correctly_signed_request_is_accepted():
    headers = signed()
    verified = verifier().verify("POST", "/v1/instances/i/orders", headers, b'{"a":1}')
    assert verified.node_id == "node-1"
    assert verified.nonce == headers[HEADER_NONCE]


def test_headers_are_matched_case_insensitively():
    headers = {name.lower(): value for name, value in signed().items()}
    verifier().verify("POST", "/v1/instances/i/orders", headers, b'{"a":1}')


def test_wrong_secret_is_bad_signature():
    headers = sign_request(b"x" * 48, "node-1", "POST", "/v1/x", b"", now=NOW)
    assert rejection_code(lambda: verifier().verify("POST", "/v1/x", headers, b"")) == "bad_signature"


def test_tampered_body_is_bad_signature():
    headers = signed(b'{"quantity":"1"}')
    check = lambda: verifier().verify("POST", "/v1/instances/i/orders", headers, b'{"quantity":"9"}')  # noqa: E731
    assert rejection_code(check) == "bad_signature"


def test_changed_path_or_query_is_bad_signature():
    headers = signed(b"", target="/v1/instances/i/events?after=5")
    check = lambda: verifier().verify("POST", "/v1/instances/i/events?after=0", headers, b"")  # noqa: E731
    assert rejection_code(check) == "bad_signature"


def test_changed_method_is_bad_signature():
    headers = signed(b"")
    check = lambda: verifier().verify("GET", "/v1/instances/i/orders", headers, b"")  # noqa: E731
    assert rejection_code(check) == "bad_signature"


def test_request_for_another_node_is_unknown_node():
    headers = sign_request(SECRET, "node-2", "GET", "/v1/health", b"", now=NOW)
    assert rejection_code(lambda: verifier().verify("GET", "/v1/health", headers, b"")) == "unknown_node"


@pytest.mark.parametrize("offset", [-31.0, 31.0])
def test_timestamp_outside_window_is_stale(offset):
    headers = sign_request(SECRET, "node-1", "GET", "/v1/health", b"", now=NOW + offset)
    assert rejection_code(lambda: verifier().verify("GET", "/v1/health", headers, b"")) == "stale_timestamp"


def test_timestamp_inside_window_is_accepted():
    headers = sign_request(SECRET, "node-1", "GET", "/v1/health", b"", now=NOW - 29)
    verifier().verify("GET", "/v1/health", headers, b"")


def test_reused_nonce_is_replay():
    checker = verifier()
    headers = signed(b"")
    checker.verify("POST", "/v1/instances/i/orders", headers, b"")
    check = lambda: checker.verify("POST", "/v1/instances/i/orders", headers, b"")  # noqa: E731
    assert rejection_code(check) == "replayed_nonce"


def test_forged_request_does_not_consume_the_nonce():
    checker = verifier()
    genuine = signed(b"")
    forged = {**genuine, HEADER_SIGNATURE: "0" * 64}
    assert rejection_code(lambda: checker.verify("POST", "/v1/instances/i/orders", forged, b"")) == "bad_signature"
    checker.verify("POST", "/v1/instances/i/orders", genuine, b"")


def test_missing_header_is_reported_by_name():
    headers = signed(b"")
    del headers[HEADER_TIMESTAMP]
    with pytest.raises(SignatureError, match=HEADER_TIMESTAMP) as raised:
        verifier().verify("POST", "/v1/instances/i/orders", headers, b"")
    assert raised.value.code == "missing_headers"


def test_non_numeric_timestamp_is_malformed():
    headers = {**signed(b""), HEADER_TIMESTAMP: "yesterday"}
    assert rejection_code(lambda: verifier().verify("POST", "/v1/instances/i/orders", headers, b"")) == "malformed_headers"


def test_nonce_cache_forgets_entries_older_than_twice_the_window():
    cache = NonceCache(window_seconds=30)
    assert cache.check_and_remember("n" * 32, now=NOW)
    assert not cache.check_and_remember("n" * 32, now=NOW + 10)
    assert cache.check_and_remember("m" * 32, now=NOW + 61)
    assert len(cache) == 1


def test_nonce_cache_is_bounded():
    cache = NonceCache(window_seconds=30, max_entries=3)
    for index in range(10):
        cache.check_and_remember(f"{index:032d}", now=NOW)
    assert len(cache) <= 3


def test_signed_response_verifies_against_its_request_nonce():
    headers = sign_response(SECRET, "node-1", 200, "r" * 32, b"{}", now=NOW)
    verify_response(SECRET, "node-1", 200, "r" * 32, headers, b"{}", now=NOW)


def test_response_replayed_for_another_request_is_rejected():
    headers = sign_response(SECRET, "node-1", 200, "r" * 32, b"{}", now=NOW)
    with pytest.raises(SignatureError) as raised:
        verify_response(SECRET, "node-1", 200, "q" * 32, headers, b"{}", now=NOW)
    assert raised.value.code == "bad_signature"


def test_response_with_altered_status_is_rejected():
    headers = sign_response(SECRET, "node-1", 409, "r" * 32, b"{}", now=NOW)
    with pytest.raises(SignatureError):
        verify_response(SECRET, "node-1", 200, "r" * 32, headers, b"{}", now=NOW)


def test_response_from_another_node_is_rejected():
    headers = sign_response(SECRET, "node-2", 200, "r" * 32, b"{}", now=NOW)
    with pytest.raises(SignatureError) as raised:
        verify_response(SECRET, "node-1", 200, "r" * 32, headers, b"{}", now=NOW)
    assert raised.value.code == "unknown_node"
