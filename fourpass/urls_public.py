"""URLs of the public schema: platform host pages, staff admin, health, and tenant-independent webhooks."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("health/", views.health, name="health"),
    path("hook/", include("webhooks.hook_urls")),
    path("admin/", admin.site.urls),
]
