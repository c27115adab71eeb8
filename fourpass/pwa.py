"""Installable app: web app manifest, service worker (served from the site root for scope "/"), offline page."""

import hashlib
import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control

# The app shell: cached at install, served cache-first. Pages and API responses are never cached,
# because they carry private account data.
SHELL_ASSETS = [
    "css/app.css",
    "js/pwa.js",
    "vendor/htmx/htmx.min.js",
    "vendor/htmx/ext/ws.js",
    "icons/icon-192.png",
    "icons/icon-512.png",
]
ICONS = [
    {"src": "icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
    {"src": "icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
    {"src": "icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
]


@cache
def shell_version() -> str:
    """Changes whenever a shell asset changes, so clients drop the old cache."""
    digest = hashlib.sha256()
    for asset in SHELL_ASSETS:
        path = Path(settings.BASE_DIR) / "static" / asset
        digest.update(path.read_bytes() if path.exists() else asset.encode())
    return digest.hexdigest()[:12]


@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": "4pass — trading automation",
        "short_name": "4pass",
        "description": "Backtest Pine strategies and run them on your broker accounts.",
        "id": "/",
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#f8fafc",
        "theme_color": "#0f172a",
        "icons": [dict(icon, src=static(icon["src"])) for icon in ICONS],
        "shortcuts": [
            {"name": "Orders", "url": "/deployments/"},
            {"name": "Webhooks", "url": "/webhooks/"},
        ],
    }
    return JsonResponse(data, content_type="application/manifest+json")


@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    context = {
        "version": shell_version(),
        "shell_json": json.dumps([static(asset) for asset in SHELL_ASSETS]),
        "offline_url": "/offline/",
        "static_prefix": settings.STATIC_URL,
    }
    response = render(request, "core/sw.js", context, content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/"
    return response


def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "core/offline.html")
