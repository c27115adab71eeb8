import time

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .health import health_report


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    from strategies.selectors import strategies_for

    context = {"strategies": strategies_for(request.user)[:5]}
    return render(request, "core/dashboard.html", context)


def health(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    report = health_report()
    report["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    status = 200 if report["ok"] else 503
    if "application/json" in request.headers.get("Accept", "") or request.GET.get("format") == "json":
        return JsonResponse(report, status=status)
    return render(request, "core/health.html", {"report": report}, status=status)
