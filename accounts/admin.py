from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from fourpass.admin_sites import TenantModelAdmin, tenant_admin_site

from .models import Domain, Membership, Organization, Plan, User


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "max_accounts_per_binding", "max_native_deployments", "max_backtest_bars")


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "schema_name", "plan", "kill_switch_engaged")
    search_fields = ("name", "slug", "schema_name")
    inlines = [DomainInline, MembershipInline]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("email", "username", "plan", "is_staff", "is_active", "kill_switch_engaged")
    search_fields = ("email", "username")
    fieldsets = (*BaseUserAdmin.fieldsets, ("4pass", {"fields": ("plan", "kill_switch_engaged")}))


class TenantMembershipAdmin(TenantModelAdmin):
    """Owners see and manage the memberships of their own organisation only."""

    list_display = ("user", "role", "created_at")
    fields = ("user", "role")
    raw_id_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(organization=request.tenant)

    def save_model(self, request, obj, form, change):
        obj.organization = request.tenant
        super().save_model(request, obj, form, change)


tenant_admin_site.register(Membership, TenantMembershipAdmin)
