"""The per-tenant admin: an organisation's owners manage their tenant's data at /manage/."""

from django.contrib.admin import AdminSite, ModelAdmin
from django.http import HttpRequest

from accounts.models import Membership


class TenantAdminSite(AdminSite):
    site_header = "4pass organisation admin"
    site_title = "4pass organisation admin"
    index_title = "Your organisation"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_authenticated):
            return False
        if user.is_superuser:
            return True
        membership = getattr(request, "membership", None)
        return membership is not None and membership.role == Membership.Role.OWNER


tenant_admin_site = TenantAdminSite(name="tenant_admin")


class TenantModelAdmin(ModelAdmin):
    """ModelAdmin for the tenant admin: rights come from the membership role, not Django permissions.

    The schema already isolates tenants; owners manage everything in theirs, traders and viewers nothing.
    """

    def _is_owner(self, request: HttpRequest) -> bool:
        return tenant_admin_site.has_permission(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_owner(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._is_owner(request)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._is_owner(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._is_owner(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._is_owner(request)
