from django.contrib import admin

from fourpass.admin_sites import TenantModelAdmin, tenant_admin_site

from .models import Strategy, StrategyVersion


class StrategyVersionInline(admin.TabularInline):
    model = StrategyVersion
    extra = 0
    fields = ("number", "created_at")
    readonly_fields = ("number", "created_at")
    can_delete = False


class StrategyAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "updated_at")
    search_fields = ("name",)
    inlines = [StrategyVersionInline]


class TenantStrategyAdmin(TenantModelAdmin, StrategyAdmin):
    pass


admin.site.register(Strategy, StrategyAdmin)
tenant_admin_site.register(Strategy, TenantStrategyAdmin)
