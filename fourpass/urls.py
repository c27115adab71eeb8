"""URLs of tenant hosts (the retail site and each organisation's host)."""

from django.contrib import admin
from django.urls import include, path

from . import pwa, views
from .admin_sites import tenant_admin_site

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("health/", views.health, name="health"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service-worker"),
    path("offline/", pwa.offline, name="offline"),
    path("accounts/", include("accounts.urls")),
    path("strategies/", include("strategies.urls")),
    path("backtests/", include("backtests.urls")),
    path("deployments/", include("execution.native.urls")),
    path("deployments/", include("execution.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("brokers/", include("brokers.urls")),
    path("bridges/", include("bridges.urls")),
    path("trade/", include("execution.trading.urls")),
    path("api/", include("fourpass.api_urls")),
    path("manage/", tenant_admin_site.urls),
    path("admin/", admin.site.urls),
]
