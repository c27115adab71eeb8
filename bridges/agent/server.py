"""HTTP front of the agent: authenticate, validate, dispatch, sign the answer.

Nothing reaches a terminal before the request's signature, timestamp, nonce and schema have been checked.
"""

from __future__ import annotations

import json
import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bridges.protocol.client import HEADER_AGENT_TIME
from bridges.protocol.errors import AgentError
from bridges.protocol.messages import (
    MAX_BODY_BYTES,
    PROTOCOL_VERSION,
    MessageValidationError,
    Route,
    encode,
    match_route,
    validate_message,
)
from bridges.protocol.signing import RequestVerifier, SignatureError, sign_response

from .instances import InstanceManager, utc_now_iso

AGENT_VERSION = "1.0.0"
MAX_EVENT_WAIT_SECONDS = 30.0

log = logging.getLogger("bridges.agent")


class Agent:
    """Everything the request handler needs: identity, verifier and the instances."""

    def __init__(
        self,
        *,
        node_id: str,
        secret: bytes,
        manager: InstanceManager,
        verifier: RequestVerifier | None = None,
    ) -> None:
        self.node_id = node_id
        self.secret = secret
        self.manager = manager
        self.verifier = verifier or RequestVerifier(node_id, secret)
        self.started = time.monotonic()

    # -- operations ------------------------------------------------------------------------------------
    def dispatch(self, route: Route, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Any:
        handler = getattr(self, f"op_{route.name}")
        return handler(params=params, query=query, body=body)

    def op_health(self, **_: Any) -> dict[str, Any]:
        instances = self.manager.all()
        descriptions = [instance.describe() for instance in instances]
        troubled = any(item["status"] in ("failed", "disconnected") for item in descriptions)
        return {
            "node_id": self.node_id,
            "protocol": PROTOCOL_VERSION,
            "agent_version": AGENT_VERSION,
            "status": "degraded" if troubled else "healthy",
            "capacity": self.manager.capacity,
            "running": self.manager.running_count(),
            "backends": self.manager.enabled_backends,
            "instances": descriptions,
            "time": utc_now_iso(),
            "uptime_seconds": round(time.monotonic() - self.started, 3),
        }

    def op_start_instance(self, body: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"instance": self.manager.start(body).describe()}

    def op_get_instance(self, params: dict[str, str], **_: Any) -> dict[str, Any]:
        return {"instance": self.manager.get(params["instance_id"]).describe()}

    def op_stop_instance(self, params: dict[str, str], body: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"instance": self.manager.stop(params["instance_id"], body.get("reason", "")).describe()}

    def op_restart_instance(self, params: dict[str, str], body: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"instance": self.manager.restart(params["instance_id"], body.get("reason", "")).describe()}

    def op_place_order(self, params: dict[str, str], body: dict[str, Any], **_: Any) -> dict[str, Any]:
        instance, backend = self.manager.backend_of(params["instance_id"])
        with instance.lock:
            order, created = backend.place_order(body)
        return {"order": order, "created": created}

    def op_list_orders(self, params: dict[str, str], query: dict[str, list[str]], **_: Any) -> dict[str, Any]:
        status = query.get("status", [""])[0]
        if status not in ("", "open"):
            raise AgentError("invalid_request", "status filter must be 'open' or absent")
        _, backend = self.manager.backend_of(params["instance_id"])
        return {"orders": backend.list_orders(open_only=status == "open")}

    def op_get_order(self, params: dict[str, str], **_: Any) -> dict[str, Any]:
        _, backend = self.manager.backend_of(params["instance_id"])
        return {"order": backend.get_order(params["client_order_id"])}

    def op_cancel_order(self, params: dict[str, str], **_: Any) -> dict[str, Any]:
        instance, backend = self.manager.backend_of(params["instance_id"])
        with instance.lock:
            return {"order": backend.cancel_order(params["client_order_id"])}

    def op_positions(self, params: dict[str, str], **_: Any) -> dict[str, Any]:
        _, backend = self.manager.backend_of(params["instance_id"])
        return {"positions": backend.positions()}

    def op_account(self, params: dict[str, str], **_: Any) -> dict[str, Any]:
        _, backend = self.manager.backend_of(params["instance_id"])
        return {"account": backend.account()}

    def op_symbols(self, params: dict[str, str], **_: Any) -> dict[str, Any]:
        _, backend = self.manager.backend_of(params["instance_id"])
        return {"symbols": backend.symbols()}

    def op_symbol(self, params: dict[str, str], **_: Any) -> dict[str, Any]:
        _, backend = self.manager.backend_of(params["instance_id"])
        return {"symbol": backend.symbol(params["symbol"])}

    def op_events(self, params: dict[str, str], query: dict[str, list[str]], **_: Any) -> dict[str, Any]:
        instance = self.manager.get(params["instance_id"])
        try:
            after = int(query.get("after", ["0"])[0])
            wait = float(query.get("wait", ["0"])[0])
        except ValueError as error:
            raise AgentError("invalid_request", "after must be an integer and wait a number") from error
        if after < 0 or not 0 <= wait <= MAX_EVENT_WAIT_SECONDS:
            raise AgentError("invalid_request", f"after >= 0 and 0 <= wait <= {MAX_EVENT_WAIT_SECONDS:g} required")
        return instance.events.read(after, wait)

    def op_sim_command(self, params: dict[str, str], body: dict[str, Any], **_: Any) -> dict[str, Any]:
        instance = self.manager.get(params["instance_id"])
        if instance.backend is None:
            raise AgentError("instance_not_running", f"instance {instance.instance_id!r} is {instance.status}")
        with instance.lock:
            return instance.backend.sim_command(body)


class AgentRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms per response.
    disable_nagle_algorithm = True
    # Idle keep-alive connections are closed after this many seconds so they do not pin threads; the
    # client re-sends (re-signed) on a fresh connection.
    timeout = 120
    server_version = f"4pass-bridge-agent/{AGENT_VERSION}"
    server: AgentHTTPServer

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _handle(self, method: str) -> None:
        started = time.perf_counter()
        agent = self.server.agent
        request_nonce = self.headers.get("X-4P-Nonce", "") or ""
        try:
            status, message = self._process(agent, method)
        except AgentError as error:
            status, message = error.http_status, error.to_message()
        except Exception as error:
            log.exception("unexpected failure on %s %s", method, self.path)
            failure = AgentError("internal_error", f"{type(error).__name__}: {error}")
            status, message = failure.http_status, failure.to_message()
        payload = encode(message)
        headers = sign_response(agent.secret, agent.node_id, status, request_nonce, payload)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header(HEADER_AGENT_TIME, str(int((time.perf_counter() - started) * 1_000_000)))
        self.end_headers()
        self.wfile.write(payload)

    def _read_body(self) -> bytes:
        length_header = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise AgentError("invalid_request", "chunked bodies are not accepted; send Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else 0
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise AgentError("body_too_large", f"body of {length} bytes exceeds {MAX_BODY_BYTES}")
        return self.rfile.read(length) if length else b""

    def _process(self, agent: Agent, method: str) -> tuple[int, Any]:
        body = self._read_body()
        try:
            agent.verifier.verify(method, self.path, self.headers, body)
        except SignatureError as error:
            log.warning("rejected %s %s from %s: %s", method, self.path, self.client_address[0], error.code)
            raise AgentError(error.code, error.message) from error
        parts = urlsplit(self.path)
        try:
            found = match_route(method, parts.path)
        except LookupError as allowed:
            raise AgentError("method_not_allowed", f"{method} not allowed on {parts.path}; use {allowed}") from None
        if found is None:
            raise AgentError("route_not_found", f"no endpoint {parts.path}")
        route, params = found
        message: Any = None
        if route.request_schema is not None:
            try:
                message = json.loads(body or b"{}")
                validate_message(route.request_schema, message)
            except ValueError as error:
                details = {"errors": error.errors} if isinstance(error, MessageValidationError) else {}
                raise AgentError("invalid_request", str(error), details=details) from error
        elif body:
            raise AgentError("invalid_request", f"{method} {parts.path} takes no body")
        result = agent.dispatch(route, params, parse_qs(parts.query), message)
        validate_message(route.response_schema, result)
        return 200, result


class AgentHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], agent: Agent) -> None:
        self.agent = agent
        super().__init__(address, AgentRequestHandler)
