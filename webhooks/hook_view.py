"""POST /hook/<token>: the public TradingView endpoint (tenant-independent, resolved by token).

Under daphne the path is answered by ``HookIntake``, a plain ASGI app in front of Django: an alert needs no
session, CSRF, auth or tenant-host middleware, and skipping them (and Django's per-request sync/async hops)
keeps the acknowledgement short when many alerts arrive at once (bar close). The Django view below serves the
same path for the test client and any WSGI deployment. Both run ``services.ingest_alert`` on a small pool of
threads that keep their database connection between alerts (TradingView gives up after 3 s; a fresh
connection per alert costs more than the work itself).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import services

logger = logging.getLogger(__name__)
HOOK_PREFIX = "/hook/"
_pools: dict[int, ThreadPoolExecutor] = {}


def _runner(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`function` on the intake pool (settings.WEBHOOK_INTAKE_THREADS). 0 runs it on Django's sync
    thread, which in-process tests use so the intake shares their database transaction."""
    size = settings.WEBHOOK_INTAKE_THREADS
    if not size:
        return sync_to_async(function, thread_sensitive=True)
    if size not in _pools:
        _pools[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="hook-intake")
    pool = _pools[size]

    async def on_pool(*args: Any, **kwargs: Any) -> Any:
        # the plain executor hop: the intake needs none of asgiref's context and thread-affinity bookkeeping
        return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(function, *args, **kwargs))

    return on_pool


def source_ip(remote: str | None, forwarded_for: str) -> str | None:
    """The sender's address; X-Forwarded-For counts only when our own proxy (WEBHOOK_TRUSTED_PROXIES) set it."""
    if remote in settings.WEBHOOK_TRUSTED_PROXIES and forwarded_for:
        return forwarded_for.split(",")[-1].strip()
    return remote


def _ingest(token: str, body: bytes, content_type: str, sender: str | None,
            defer_followup: bool = False) -> services.HookReply:
    if connection.connection is not None and connection.errors_occurred:
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()
    return services.ingest_alert(token, body, content_type=content_type, source_ip=sender,
                                 defer_followup=defer_followup)


def _followup(reply: services.HookReply) -> None:
    try:
        reply.followup()
    except Exception:  # the alert is stored; the sweeper queues it
        logger.exception("follow-up of alert %s failed", reply.alert_id)


@csrf_exempt
async def receive_alert(request: HttpRequest, token: str) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "use POST"}, status=405)
    body = request.read(services.MAX_BODY_BYTES + 1)
    sender = source_ip(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", ""))
    reply = await _runner(_ingest)(token, body, request.content_type or "", sender)
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
        reply = await _runner(_ingest)(token, body, content_type, sender, defer_followup=True)
        await _reply(send, reply.status, reply.body)
        if reply.followup is not None:  # queueing the alert need not delay the acknowledgement
            await _runner(_followup)(reply)


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
