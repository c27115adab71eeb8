"""HMAC-SHA256 request/response signing for the 4pass <-> bridge agent protocol.

Pure standard library so the Windows agent can import it without Django.

A request signature covers the method, the full request target (path + query), the node id, the
timestamp, the nonce and the SHA-256 of the body, so no part of a request can be altered or moved to
another node. A response signature covers the status code, the request's nonce (binding the response to
the request it answers, so a captured response cannot be replayed for another request), its own timestamp
and nonce, and its body hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

HEADER_NODE = "X-4P-Node"
HEADER_TIMESTAMP = "X-4P-Timestamp"
HEADER_NONCE = "X-4P-Nonce"
HEADER_SIGNATURE = "X-4P-Signature"
SIGNED_HEADERS = (HEADER_NODE, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)

REPLAY_WINDOW_SECONDS = 30.0
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
NODE_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SIGNATURE_PATTERN = re.compile(r"^[0-9a-f]{64}$")

_REQUEST_DOMAIN = "4P-REQ-V1"
_RESPONSE_DOMAIN = "4P-RESP-V1"


class SignatureError(Exception):
    """A message failed authentication. `code` is stable and machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def format_timestamp(now: float) -> str:
    return str(int(now * 1000))


def canonical_request(method: str, target: str, node_id: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    parts = (_REQUEST_DOMAIN, method.upper(), target, node_id, timestamp, nonce, body_digest(body))
    return "\n".join(parts).encode()


def canonical_response(
    status: int, request_nonce: str, node_id: str, timestamp: str, nonce: str, body: bytes
) -> bytes:
    parts = (_RESPONSE_DOMAIN, str(status), request_nonce, node_id, timestamp, nonce, body_digest(body))
    return "\n".join(parts).encode()


def compute_signature(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign_request(
    secret: bytes,
    node_id: str,
    method: str,
    target: str,
    body: bytes,
    *,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    timestamp = format_timestamp(time.time() if now is None else now)
    nonce = nonce or new_nonce()
    signature = compute_signature(secret, canonical_request(method, target, node_id, timestamp, nonce, body))
    return {
        HEADER_NODE: node_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature,
    }


def sign_response(
    secret: bytes, node_id: str, status: int, request_nonce: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    timestamp = format_timestamp(time.time() if now is None else now)
    nonce = new_nonce()
    message = canonical_response(status, request_nonce, node_id, timestamp, nonce, body)
    return {
        HEADER_NODE: node_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: compute_signature(secret, message),
    }


class NonceCache:
    """Remembers nonces seen inside the replay window; thread-safe and bounded.

    Entries older than the window are dropped: a replay of them is refused by the timestamp check anyway.
    When the bound is reached the oldest entry goes first, and we refuse nothing we have not seen.
    """

    def __init__(self, window_seconds: float = REPLAY_WINDOW_SECONDS, max_entries: int = 200_000) -> None:
        self._window = window_seconds
        self._max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def check_and_remember(self, nonce: str, now: float) -> bool:
        """Return True if `nonce` is fresh (and remember it), False if it was already used."""
        with self._lock:
            horizon = now - 2 * self._window
            while self._seen:
                oldest_nonce, seen_at = next(iter(self._seen.items()))
                if seen_at >= horizon and len(self._seen) < self._max_entries:
                    break
                del self._seen[oldest_nonce]
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(frozen=True)
class VerifiedRequest:
    node_id: str
    nonce: str
    timestamp: float


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value


def _parse_timestamp(raw: str) -> float:
    if not raw.isdigit() or len(raw) > 16:
        raise SignatureError("malformed_headers", f"{HEADER_TIMESTAMP} must be integer milliseconds")
    return int(raw) / 1000


class RequestVerifier:
    """Agent-side verification of incoming requests for one node id and secret."""

    def __init__(
        self,
        node_id: str,
        secret: bytes,
        *,
        window_seconds: float = REPLAY_WINDOW_SECONDS,
        nonce_cache: NonceCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("node secret must not be empty")
        self.node_id = node_id
        self._secret = secret
        self._window = window_seconds
        self._nonces = nonce_cache or NonceCache(window_seconds)
        self._clock = clock

    def verify(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> VerifiedRequest:
        values = {name: _header(headers, name) for name in SIGNED_HEADERS}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise SignatureError("missing_headers", f"missing authentication headers: {', '.join(missing)}")
        node_id = values[HEADER_NODE] or ""
        timestamp_raw = values[HEADER_TIMESTAMP] or ""
        nonce = values[HEADER_NONCE] or ""
        signature = (values[HEADER_SIGNATURE] or "").lower()
        if node_id != self.node_id:
            raise SignatureError("unknown_node", f"this agent is node {self.node_id!r}, not {node_id!r}")
        if not NONCE_PATTERN.match(nonce):
            raise SignatureError("malformed_headers", f"{HEADER_NONCE} must match {NONCE_PATTERN.pattern}")
        if not SIGNATURE_PATTERN.match(signature):
            raise SignatureError("malformed_headers", f"{HEADER_SIGNATURE} must be 64 lowercase hex digits")
        timestamp = _parse_timestamp(timestamp_raw)
        now = self._clock()
        skew = now - timestamp
        if abs(skew) > self._window:
            raise SignatureError(
                "stale_timestamp",
                f"request timestamp is {skew:+.1f}s from agent clock; allowed window is ±{self._window:.0f}s",
            )
        expected = compute_signature(
            self._secret, canonical_request(method, target, node_id, timestamp_raw, nonce, body)
        )
        if not hmac.compare_digest(expected, signature):
            raise SignatureError(
                "bad_signature", "signature does not match request (wrong secret or altered request)"
            )
        # Only a correctly signed request may consume a nonce, so forged traffic cannot poison the cache.
        if not self._nonces.check_and_remember(nonce, now):
            raise SignatureError("replayed_nonce", "nonce was already used inside the replay window")
        return VerifiedRequest(node_id=node_id, nonce=nonce, timestamp=timestamp)


def verify_response(
    secret: bytes,
    node_id: str,
    status: int,
    request_nonce: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    window_seconds: float = REPLAY_WINDOW_SECONDS,
    now: float | None = None,
) -> None:
    """4pass-side check that a response really comes from `node_id` and answers our request."""
    values = {name: _header(headers, name) for name in SIGNED_HEADERS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise SignatureError("missing_headers", f"response lacks authentication headers: {', '.join(missing)}")
    if values[HEADER_NODE] != node_id:
        raise SignatureError("unknown_node", f"response signed as {values[HEADER_NODE]!r}, expected {node_id!r}")
    timestamp_raw = values[HEADER_TIMESTAMP] or ""
    timestamp = _parse_timestamp(timestamp_raw)
    current = time.time() if now is None else now
    if abs(current - timestamp) > window_seconds:
        raise SignatureError("stale_timestamp", f"response timestamp is {current - timestamp:+.1f}s off")
    message = canonical_response(status, request_nonce, node_id, timestamp_raw, values[HEADER_NONCE] or "", body)
    expected = compute_signature(secret, message)
    if not hmac.compare_digest(expected, (values[HEADER_SIGNATURE] or "").lower()):
        raise SignatureError("bad_signature", "response signature does not match (tampered or wrong secret)")
