"""In-memory registry of the terminal instances running on this node (the agent keeps no other state)."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridges.protocol.errors import AgentError

from .backends import BACKENDS
from .backends.base import TerminalBackend, utc_now_iso

ACTIVE_STATUSES = {"starting", "running", "disconnected"}


class EventLog:
    """Sequenced, bounded event buffer with long-poll reads.

    `stream_id` changes whenever the instance is (re)created on a node, so a reader holding a cursor from
    an older stream knows sequence numbers restarted and must reconcile orders instead of trusting `after`.
    """

    def __init__(self, max_events: int = 10_000) -> None:
        self.stream_id = secrets.token_hex(8)
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._last_seq = 0
        self._condition = threading.Condition()

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def append(self, event: dict[str, Any]) -> int:
        with self._condition:
            self._last_seq += 1
            self._events.append({"seq": self._last_seq, "time": utc_now_iso(), **event})
            self._condition.notify_all()
            return self._last_seq

    def read(self, after: int, wait: float, limit: int = 500) -> dict[str, Any]:
        deadline = time.monotonic() + wait
        with self._condition:
            while self._last_seq <= after:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            first_available = self._events[0]["seq"] if self._events else self._last_seq + 1
            events = [event for event in self._events if event["seq"] > after][:limit]
            return {
                "stream_id": self.stream_id,
                "events": events,
                "last_seq": self._last_seq,
                "first_available_seq": max(first_available, 1),
                "gap": after + 1 < first_available and self._last_seq > after,
            }

    def wake_all(self) -> None:
        with self._condition:
            self._condition.notify_all()


@dataclass
class Instance:
    instance_id: str
    tenant: str
    account_id: str
    backend_name: str
    options: dict[str, Any]
    status: str = "starting"
    started_at: str | None = None
    last_error: str | None = None
    backend: TerminalBackend | None = None
    events: EventLog = field(default_factory=EventLog)
    # Order sends are serialized per terminal: terminal APIs (MT5 in particular) are not re-entrant.
    lock: threading.RLock = field(default_factory=threading.RLock)

    def describe(self) -> dict[str, Any]:
        status = self.status
        if status == "running" and self.backend is not None and not self.backend.connected:
            status = "disconnected"
        return {
            "instance_id": self.instance_id,
            "tenant": self.tenant,
            "account_id": self.account_id,
            "backend": self.backend_name,
            "status": status,
            "started_at": self.started_at,
            "last_error": self.last_error,
            "stream_id": self.events.stream_id,
            "last_event_seq": self.events.last_seq,
        }


class InstanceManager:
    def __init__(self, *, capacity: int, enabled_backends: list[str]) -> None:
        self.capacity = capacity
        self.enabled_backends = enabled_backends
        self._instances: dict[str, Instance] = {}
        self._lock = threading.Lock()

    def all(self) -> list[Instance]:
        with self._lock:
            return list(self._instances.values())

    def running_count(self) -> int:
        return sum(1 for instance in self.all() if instance.status in ACTIVE_STATUSES)

    def get(self, instance_id: str) -> Instance:
        with self._lock:
            instance = self._instances.get(instance_id)
        if instance is None:
            raise AgentError("instance_not_found", f"no instance {instance_id!r} on this node")
        return instance

    def backend_of(self, instance_id: str) -> tuple[Instance, TerminalBackend]:
        instance = self.get(instance_id)
        if instance.status != "running" or instance.backend is None:
            raise AgentError("instance_not_running", f"instance {instance_id!r} is {instance.status}")
        return instance, instance.backend

    def _backend_class(self, name: str) -> type[TerminalBackend]:
        if name not in self.enabled_backends or name not in BACKENDS:
            raise AgentError(
                "backend_unavailable",
                f"backend {name!r} is not enabled on this node (enabled: {', '.join(self.enabled_backends)})",
            )
        backend_class = BACKENDS[name]
        usable, why = backend_class.available()
        if not usable:
            raise AgentError("backend_unavailable", f"backend {name!r} cannot run here: {why}")
        return backend_class

    def start(self, request: dict[str, Any]) -> Instance:
        backend_class = self._backend_class(request["backend"])
        instance_id = request["instance_id"]
        with self._lock:
            current = self._instances.get(instance_id)
            if current is not None:
                identity = (current.tenant, current.account_id, current.backend_name)
                if identity != (request["tenant"], request["account_id"], request["backend"]):
                    raise AgentError(
                        "instance_conflict", f"instance {instance_id!r} already serves another account"
                    )
                if current.status in ACTIVE_STATUSES:
                    return current
            for other in self._instances.values():
                if (
                    other.instance_id != instance_id
                    and other.status in ACTIVE_STATUSES
                    and (other.tenant, other.account_id) == (request["tenant"], request["account_id"])
                ):
                    raise AgentError(
                        "instance_conflict",
                        f"account already has instance {other.instance_id!r} on this node",
                    )
            active = sum(1 for other in self._instances.values() if other.status in ACTIVE_STATUSES)
            if active >= self.capacity:
                raise AgentError("capacity_exhausted", f"all {self.capacity} terminal slots are in use")
            instance = Instance(
                instance_id=instance_id,
                tenant=request["tenant"],
                account_id=request["account_id"],
                backend_name=request["backend"],
                options=dict(request.get("options") or {}),
            )
            self._instances[instance_id] = instance
        self._launch(instance, backend_class, request["credentials"])
        return instance

    def _launch(
        self, instance: Instance, backend_class: type[TerminalBackend], credentials: dict[str, str]
    ) -> None:
        emit: Callable[[dict[str, Any]], None] = instance.events.append
        backend = backend_class(
            instance_id=instance.instance_id,
            account_id=instance.account_id,
            credentials=credentials,
            options=instance.options,
            emit=emit,
        )
        with instance.lock:
            try:
                backend.connect()
            except AgentError as error:
                instance.status, instance.last_error = "failed", error.message
                backend.close()
                raise
            except Exception as error:
                instance.status, instance.last_error = "failed", f"{type(error).__name__}: {error}"
                backend.close()
                raise AgentError("terminal_start_failed", instance.last_error) from error
            instance.backend = backend
            instance.status = "running"
            instance.started_at = utc_now_iso()
            instance.last_error = None
        instance.events.append({"type": "terminal_status", "status": "running", "detail": "terminal started"})

    def stop(self, instance_id: str, reason: str) -> Instance:
        instance = self.get(instance_id)
        with instance.lock:
            if instance.status in ("stopped", "failed") and instance.backend is None:
                return instance
            instance.status = "stopping"
            backend, instance.backend = instance.backend, None
            if backend is not None:
                backend.close()
                backend.forget_credentials()
            instance.status = "stopped"
        instance.events.append({"type": "terminal_status", "status": "stopped", "detail": reason or None})
        instance.events.wake_all()
        return instance

    def restart(self, instance_id: str, reason: str) -> Instance:
        """Reconnect the terminal without new credentials: only possible while the session object lives."""
        instance = self.get(instance_id)
        with instance.lock:
            backend = instance.backend
            if backend is None:
                raise AgentError(
                    "instance_not_running",
                    f"instance {instance_id!r} is {instance.status}; send a start request with credentials",
                )
            backend.close()
            try:
                backend.connect()
            except AgentError as error:
                instance.status, instance.last_error = "failed", error.message
                instance.backend = None
                raise
            instance.status = "running"
        instance.events.append({"type": "terminal_status", "status": "running", "detail": reason or "restarted"})
        return instance

    def shutdown(self) -> None:
        for instance in self.all():
            self.stop(instance.instance_id, "agent shutting down")
