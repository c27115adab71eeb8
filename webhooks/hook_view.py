"""POST /hook/<token>: the public TradingView endpoint (tenant-independent, resolved by token)."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import services


def _source_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    trusted = getattr(settings, "WEBHOOK_TRUSTED_PROXIES", ())
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if remote in trusted and forwarded:
        return forwarded.split(",")[-1].strip()
    return remote


@csrf_exempt
def receive_alert(request: HttpRequest, token: str) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "use POST"}, status=405)
    body = request.read(services.MAX_BODY_BYTES + 1)
    reply = services.ingest_alert(
        token, body, content_type=request.content_type or "", source_ip=_source_ip(request)
    )
    return JsonResponse(reply.body, status=reply.status)
