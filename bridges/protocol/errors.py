"""Error codes of the bridge protocol: one table, used by the agent to answer and by 4pass to map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorSpec:
    http_status: int
    retryable: bool
    description: str


ERRORS: dict[str, ErrorSpec] = {
    # Authentication of the 4pass <-> agent channel (never a broker problem).
    "missing_headers": ErrorSpec(401, False, "authentication headers absent"),
    "malformed_headers": ErrorSpec(401, False, "authentication headers badly formed"),
    "unknown_node": ErrorSpec(401, False, "request addressed to another node id"),
    "stale_timestamp": ErrorSpec(401, False, "timestamp outside the replay window (check clocks/NTP)"),
    "bad_signature": ErrorSpec(401, False, "HMAC does not match: wrong secret or altered request"),
    "replayed_nonce": ErrorSpec(401, False, "nonce already used inside the replay window"),
    # Request shape.
    "invalid_request": ErrorSpec(400, False, "body or query does not match the schema"),
    "body_too_large": ErrorSpec(413, False, "body exceeds the protocol limit"),
    "route_not_found": ErrorSpec(404, False, "no such endpoint"),
    "method_not_allowed": ErrorSpec(405, False, "endpoint exists with another method"),
    # Instances.
    "instance_not_found": ErrorSpec(404, False, "no terminal instance with that id on this node"),
    "instance_conflict": ErrorSpec(409, False, "instance id used for another account, or the account already has another instance here"),
    "instance_not_running": ErrorSpec(409, True, "instance is starting, stopping or stopped"),
    "capacity_exhausted": ErrorSpec(503, True, "all terminal slots of this node are used"),
    "backend_unavailable": ErrorSpec(501, False, "backend not installed or not supported on this node"),
    "terminal_start_failed": ErrorSpec(502, True, "terminal process could not start or log in"),
    # Broker side, mapped to the brokers error hierarchy by BridgeBroker.
    "broker_authentication_failed": ErrorSpec(422, False, "broker refused the account credentials"),
    "terminal_disconnected": ErrorSpec(503, True, "terminal lost its broker connection"),
    "order_not_found": ErrorSpec(404, False, "no order with that client order id"),
    "order_not_cancellable": ErrorSpec(409, False, "order is already final"),
    "order_conflict": ErrorSpec(409, False, "client order id reused with different order fields"),
    "rate_limited": ErrorSpec(429, True, "too many requests to the terminal"),
    "internal_error": ErrorSpec(500, True, "unexpected agent failure"),
}


class AgentError(Exception):
    """An error the agent answers with (agent side) or received from an agent (4pass side)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        broker_code: str | None = None,
        details: dict[str, Any] | None = None,
        http_status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        spec = ERRORS.get(code, ERRORS["internal_error"])
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.broker_code = broker_code
        self.details = details or {}
        self.http_status = http_status if http_status is not None else spec.http_status
        self.retryable = spec.retryable if retryable is None else retryable

    def to_message(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "retryable": self.retryable,
                "broker_code": self.broker_code,
                "details": self.details,
            }
        }

    @classmethod
    def from_message(cls, message: dict[str, Any], http_status: int) -> AgentError:
        error = message["error"]
        return cls(
            error["code"],
            error["message"],
            broker_code=error.get("broker_code"),
            details=error.get("details") or {},
            http_status=http_status,
            retryable=error["retryable"],
        )


class TransportError(Exception):
    """The agent could not be reached or its answer could not be trusted; the outcome is unknown."""
