"""POST /hook/<token>: the public TradingView endpoint (tenant-independent, resolved by token).

Under the ASGI server the path is answered by ``HookIntake``, a plain ASGI app in front of Django: an alert needs
no session, CSRF, auth or tenant-host middleware, and skipping them (and Django's per-request sync/async hops)
keeps the acknowledgement short when many alerts arrive at once (bar close). The Django view below serves the
same path for the test client and any WSGI deployment.

``HookIntake`` hands alerts to the process's ``IntakeQueue``: a few threads that keep their database connection
and store together whatever arrived while they were storing the previous alerts (``services.ingest_alerts``).
When a bar closes for many strategies at once, one transaction then stores dozens of alerts, which is what lets
two cores acknowledge 50 simultaneous senders inside TradingView's patience; a lone alert is stored at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import services

logger = logging.getLogger(__name__)
HOOK_PREFIX = "/hook/"
MAX_BATCH = 100


def source_ip(remote: str | None, forwarded_for: str) -> str | None:
    """The sender's address; X-Forwarded-For counts only when our own proxy (WEBHOOK_TRUSTED_PROXIES) set it."""
    if remote in settings.WEBHOOK_TRUSTED_PROXIES and forwarded_for:
        return forwarded_for.split(",")[-1].strip()
    return remote


def _usable_connection() -> None:
    """A thread's connection that failed earlier is reset (or dropped, to reconnect) before it is used again."""
    if connection.connection is not None and connection.errors_occurred:
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()


def _ingest_batch(deliveries: list[services.Delivery]) -> list[services.HookReply]:
    _usable_connection()
    try:
        return services.ingest_alerts(deliveries)
    except Exception:  # nothing of this batch is stored: the senders may send again
        logger.exception("storing %d alert(s) failed", len(deliveries))
        return [services.UNAVAILABLE] * len(deliveries)


class IntakeQueue:
    """Alerts waiting to be stored, and the threads storing them. Replies go back to each request's event loop;
    queueing the stored alerts for the workers happens on another thread, after the replies are on their way."""

    def __init__(self, threads: int) -> None:
        self._pending: queue.SimpleQueue = queue.SimpleQueue()
        self._followups: queue.SimpleQueue = queue.SimpleQueue()
        self._warm = [threading.Event() for _ in range(threads)]
        for number in range(threads):
            threading.Thread(target=self._store_forever, args=(self._warm[number],), name=f"hook-intake-{number}",
                             daemon=True).start()
        threading.Thread(target=self._follow_forever, name="hook-followup", daemon=True).start()

    def wait_until_warm(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(event.wait(max(0.0, deadline - time.monotonic())) for event in self._warm)

    def submit(self, delivery: services.Delivery) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.put((delivery, future, loop))
        return future

    def _store_forever(self, warm: threading.Event) -> None:
        try:
            services.warm_up_intake()
        except Exception:  # the first alerts pay for what is missing; nothing else depends on it
            logger.warning("warming up the alert intake failed", exc_info=True)
        finally:
            warm.set()
        while True:
            batch = [self._pending.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._pending.get_nowait())
                except queue.Empty:
                    break
            replies = _ingest_batch([delivery for delivery, _future, _loop in batch])
            settled: dict[asyncio.AbstractEventLoop, list] = {}
            for (_delivery, future, loop), reply in zip(batch, replies, strict=True):
                settled.setdefault(loop, []).append((future, reply))
            for loop, results in settled.items():
                loop.call_soon_threadsafe(_settle, results)
            accepted = [(reply.schema_name, reply.alert_id) for reply in replies if reply.followup is not None]
            if accepted:
                self._followups.put(accepted)

    def _follow_forever(self) -> None:
        try:
            services.warm_up_queueing()
        except Exception:
            logger.warning("warming up the queueing of stored alerts failed", exc_info=True)
        while True:
            stored = self._followups.get()
            while True:  # whatever else is waiting goes in the same messages
                try:
                    stored.extend(self._followups.get_nowait())
                except queue.Empty:
                    break
            try:
                services.enqueue_alerts(stored)
            except Exception:  # the alerts are stored; the sweeper queues them
                logger.exception("queueing %d stored alert(s) failed", len(stored))


def _settle(results: list[tuple[asyncio.Future, services.HookReply]]) -> None:
    for future, reply in results:
        if not future.done():  # the sender may have hung up
            future.set_result(reply)


_queues: dict[int, IntakeQueue] = {}
_queues_lock = threading.Lock()


def _intake_queue(threads: int) -> IntakeQueue:
    # made on first use, in the serving process (never inherited across a fork)
    with _queues_lock:
        if threads not in _queues:
            _queues[threads] = IntakeQueue(threads)
        return _queues[threads]


def start_intake(timeout: float = 10.0) -> None:
    """Start this process's intake threads and wait (up to `timeout`) until each has its connections open and
    its statements prepared; the ASGI server calls it before taking requests (lifespan start-up)."""
    threads = settings.WEBHOOK_INTAKE_THREADS
    if threads and not _intake_queue(threads).wait_until_warm(timeout):
        logger.warning("the alert intake was not warm after %.0f s; serving anyway", timeout)


def _ingest_one(delivery: services.Delivery) -> services.HookReply:
    """On Django's sync thread (in-process tests share its transaction): the followup runs on commit."""
    _usable_connection()
    return services.ingest_alert(delivery.token, delivery.body, content_type=delivery.content_type,
                                 source_ip=delivery.source_ip)


async def ingest(delivery: services.Delivery) -> services.HookReply:
    """Store one alert through the intake queue (settings.WEBHOOK_INTAKE_THREADS), or with 0 threads on
    Django's sync thread."""
    threads = settings.WEBHOOK_INTAKE_THREADS
    if not threads:
        return await sync_to_async(_ingest_one, thread_sensitive=True)(delivery)
    return await _intake_queue(threads).submit(delivery)


@csrf_exempt
async def receive_alert(request: HttpRequest, token: str) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "use POST"}, status=405)
    body = request.read(services.MAX_BODY_BYTES + 1)
    sender = source_ip(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", ""))
    reply = await ingest(services.Delivery(token, body, request.content_type or "", sender))
    return JsonResponse(reply.body, status=reply.status)


class HookIntake:
    """ASGI: answers HTTP requests under /hook/ itself and hands everything else to `inner` (Django)."""

    def __init__(self, inner: Callable[..., Awaitable[None]]) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(HOOK_PREFIX):
            return await self.inner(scope, receive, send)
        token = path[len(HOOK_PREFIX):]
        if not token or "/" in token:
            return await _reply(send, 404, {"error": "not found"})
        if scope["method"] != "POST":
            return await _reply(send, 405, {"error": "use POST"}, [(b"allow", b"POST")])
        body = await _read_body(receive, services.MAX_BODY_BYTES + 1)
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        client = scope.get("client") or (None, None)
        sender = source_ip(client[0], headers.get(b"x-forwarded-for", b"").decode("latin-1"))
        reply = await ingest(services.Delivery(token, body, content_type, sender))
        await _reply(send, reply.status, reply.body)


async def _read_body(receive: Callable, limit: int) -> bytes:
    """Up to `limit` bytes (the service rejects anything longer with 413); the rest is not kept in memory."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        if size < limit:
            chunk = message.get("body", b"")[: limit - size]
            chunks.append(chunk)
            size += len(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _reply(send: Callable, status: int, payload: dict[str, Any], extra: list | None = None) -> None:
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
