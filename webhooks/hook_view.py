"""POST /hook/<token>: the public TradingView endpoint (tenant-independent, resolved by token).

The view is async so that daphne does not funnel every alert through Django's single thread for sync
views: the intake runs on a small pool of threads that keep their database connection between alerts
(TradingView gives up after 3 s; a fresh connection per alert costs more than the work itself).
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import services

_pools: dict[int, ThreadPoolExecutor] = {}


def _runner():
    """The intake pool (settings.WEBHOOK_INTAKE_THREADS, default 8). 0 runs the intake on Django's sync thread,
    which in-process tests use so the view shares their database transaction."""
    size = getattr(settings, "WEBHOOK_INTAKE_THREADS", 8)
    if not size:
        return sync_to_async(_ingest, thread_sensitive=True)
    if size not in _pools:
        _pools[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="hook-intake")
    return sync_to_async(_ingest, thread_sensitive=False, executor=_pools[size])


def _source_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    trusted = getattr(settings, "WEBHOOK_TRUSTED_PROXIES", ())
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if remote in trusted and forwarded:
        return forwarded.split(",")[-1].strip()
    return remote


def _ingest(token: str, body: bytes, content_type: str, source_ip: str | None) -> services.HookReply:
    if connection.connection is not None and connection.errors_occurred:
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()
    return services.ingest_alert(token, body, content_type=content_type, source_ip=source_ip)


@csrf_exempt
async def receive_alert(request: HttpRequest, token: str) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "use POST"}, status=405)
    body = request.read(services.MAX_BODY_BYTES + 1)
    reply = await _runner()(token, body, request.content_type or "", _source_ip(request))
    return JsonResponse(reply.body, status=reply.status)
