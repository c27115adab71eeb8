"""4pass-side client of the bridge agent protocol (pure standard library + jsonschema).

Every request is signed and schema-checked before it leaves; every response must carry a valid signature
bound to our request nonce and match its schema, otherwise the outcome is treated as unknown
(TransportError) — the caller then reconciles by client order id instead of guessing.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from .errors import AgentError, TransportError
from .messages import ROUTES, MessageValidationError, encode, validate_message
from .signing import HEADER_NONCE, SignatureError, sign_request, verify_response

HEADER_AGENT_TIME = "X-4P-Agent-Time-Us"
_RETRYABLE_CONNECTION_ERRORS = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
)


def _route_schemas(method: str, path: str) -> tuple[str | None, str]:
    for route in ROUTES:
        if route.method == method and route.pattern.match(path):
            return route.request_schema, route.response_schema
    raise ValueError(f"{method} {path} is not a protocol route")


class AgentClient:
    """Talks to one agent node. Thread-safe: one keep-alive connection per calling thread."""

    def __init__(
        self,
        base_url: str,
        node_id: str,
        secret: bytes,
        *,
        timeout: float = 10.0,
        validate: bool = True,
        ca_file: str | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"agent address must be http(s)://host:port, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.node_id = node_id
        self._secret = secret
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self.timeout = timeout
        self.validate = validate
        self._ssl_context = ssl.create_default_context(cafile=ca_file) if parts.scheme == "https" else None
        self._local = threading.local()
        self.last_server_time_ms: float | None = None

    # -- transport -------------------------------------------------------------------------------------
    def _connection(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, connected; the flag says whether it was already open (reused)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self._ssl_context is not None:
                connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=timeout, context=self._ssl_context
                )
            else:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
            self._local.connection = connection
        connection.timeout = timeout
        if connection.sock is None:
            connection.connect()
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return connection, False
        connection.sock.settimeout(timeout)
        return connection, True

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def close(self) -> None:
        self._drop_connection()

    @property
    def last_agent_time_us(self) -> int:
        """The agent's own processing time of this thread's last request (diagnostic, unsigned header)."""
        return getattr(self._local, "agent_time_us", 0)

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        query: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        request_schema, response_schema = _route_schemas(method, path)
        if self.validate and request_schema is not None:
            validate_message(request_schema, body if body is not None else {})
        payload = encode(body) if body is not None else b""
        target = path + ("?" + urlencode(query) if query else "")
        timeout = self.timeout if timeout is None else timeout
        # Every protocol operation is idempotent (instance id / client order id), so one retry on a
        # keep-alive connection the server already closed is safe; it is re-signed with a fresh nonce.
        for attempt in (1, 2):
            headers = sign_request(self._secret, self.node_id, method, target, payload)
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(payload))
            reused = False
            try:
                connection, reused = self._connection(timeout)
                connection.request(method, target, body=payload, headers=headers)
                response = connection.getresponse()
                response_body = response.read()
                self._local.agent_time_us = int(response.getheader(HEADER_AGENT_TIME) or 0)
            except _RETRYABLE_CONNECTION_ERRORS as error:
                self._drop_connection()
                if attempt == 1 and reused:
                    continue
                raise TransportError(f"{self.node_id}: connection lost during {method} {path}: {error}") from error
            except (OSError, http.client.HTTPException) as error:
                self._drop_connection()
                raise TransportError(f"{self.node_id}: {method} {path} failed: {error}") from error
            if response.getheader("Connection", "").lower() == "close":
                self._drop_connection()
            return self._decode(method, path, response, response_body, headers[HEADER_NONCE], response_schema)
        raise AssertionError("unreachable")

    def _decode(
        self,
        method: str,
        path: str,
        response: http.client.HTTPResponse,
        body: bytes,
        request_nonce: str,
        response_schema: str,
    ) -> dict[str, Any]:
        try:
            verify_response(self._secret, self.node_id, response.status, request_nonce, response.headers, body)
        except SignatureError as error:
            # An unsigned 401 is the agent refusing *our* signature: report its reason, do not hide it.
            if response.status == 401 and body:
                try:
                    raise AgentError.from_message(json.loads(body), response.status) from error
                except (ValueError, KeyError, TypeError):
                    pass
            raise TransportError(
                f"{self.node_id}: untrusted response to {method} {path} ({error.code}: {error.message})"
            ) from error
        try:
            message = json.loads(body)
        except ValueError as error:
            raise TransportError(f"{self.node_id}: response to {method} {path} is not JSON") from error
        schema = response_schema if 200 <= response.status < 300 else "error"
        if self.validate:
            try:
                validate_message(schema, message)
            except MessageValidationError as error:
                raise TransportError(f"{self.node_id}: malformed response to {method} {path}: {error}") from error
        if schema == "error":
            raise AgentError.from_message(message, response.status)
        return message

    # -- operations ------------------------------------------------------------------------------------
    def health(self, *, timeout: float | None = None) -> dict[str, Any]:
        return self.request("GET", "/v1/health", timeout=timeout)

    def start_instance(self, start_request: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        return self.request("POST", "/v1/instances", start_request, timeout=timeout)["instance"]

    def get_instance(self, instance_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/instances/{instance_id}")["instance"]

    def stop_instance(self, instance_id: str, reason: str = "") -> dict[str, Any]:
        return self.request("POST", f"/v1/instances/{instance_id}/stop", {"reason": reason})["instance"]

    def restart_instance(self, instance_id: str, reason: str = "") -> dict[str, Any]:
        return self.request("POST", f"/v1/instances/{instance_id}/restart", {"reason": reason})["instance"]

    def place_order(self, instance_id: str, order_request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        answer = self.request("POST", f"/v1/instances/{instance_id}/orders", order_request)
        return answer["order"], answer["created"]

    def get_order(self, instance_id: str, client_order_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/instances/{instance_id}/orders/{client_order_id}")["order"]

    def find_order(self, instance_id: str, client_order_id: str) -> dict[str, Any] | None:
        try:
            return self.get_order(instance_id, client_order_id)
        except AgentError as error:
            if error.code == "order_not_found":
                return None
            raise

    def list_orders(self, instance_id: str, *, open_only: bool = False) -> list[dict[str, Any]]:
        query = {"status": "open"} if open_only else None
        return self.request("GET", f"/v1/instances/{instance_id}/orders", query=query)["orders"]

    def cancel_order(self, instance_id: str, client_order_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/instances/{instance_id}/orders/{client_order_id}/cancel", {})["order"]

    def positions(self, instance_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/v1/instances/{instance_id}/positions")["positions"]

    def account(self, instance_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/instances/{instance_id}/account")["account"]

    def symbols(self, instance_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/v1/instances/{instance_id}/symbols")["symbols"]

    def symbol(self, instance_id: str, symbol: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/instances/{instance_id}/symbols/{symbol}")["symbol"]

    def events(self, instance_id: str, *, after: int = 0, wait: float = 0.0) -> dict[str, Any]:
        query = {"after": after, "wait": f"{wait:g}"}
        return self.request(
            "GET", f"/v1/instances/{instance_id}/events", query=query, timeout=self.timeout + wait
        )

    def sim_command(self, instance_id: str, command: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", f"/v1/instances/{instance_id}/sim", command)


def wait_until_healthy(client: AgentClient, *, timeout: float = 10.0) -> dict[str, Any]:
    """Poll /v1/health until the agent answers (used after spawning an agent)."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return client.health(timeout=1.0)
        except (TransportError, AgentError) as error:
            last_error = error
            time.sleep(0.05)
    raise TransportError(f"agent {client.node_id} at {client.base_url} not healthy after {timeout}s: {last_error}")
