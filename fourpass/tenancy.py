"""Resolve the tenant of a request from its host name; webhooks resolve theirs from the URL token."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_tenant_domain_model, schema_context

# Webhook paths are public on every host; the webhooks app maps their token to a tenant itself.
TENANT_INDEPENDENT_PREFIXES = ("/hook/", "/health/", "/static/")


class TenantHostMiddleware(TenantMainMiddleware):
    def process_request(self, request: HttpRequest):
        if request.path.startswith(TENANT_INDEPENDENT_PREFIXES):
            connection.set_schema_to_public()
            request.tenant = None
            request.urlconf = "fourpass.urls_public"
            return None
        return super().process_request(request)

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        body = render_to_string("core/unknown_tenant.html", {"hostname": hostname}, request=None)
        return HttpResponse(body, status=404)


def tenant_for_host(hostname: str):
    """The tenant that serves `hostname`, or None."""
    domain_model = get_tenant_domain_model()
    with schema_context("public"):
        domain = domain_model.objects.select_related("tenant").filter(domain=hostname).first()
    return domain.tenant if domain else None
