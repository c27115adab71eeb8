from django.contrib import admin

from fourpass.admin_sites import TenantModelAdmin, tenant_admin_site

from .models import Strategy, StrategyVersion


class StrategyVersionInline(admin.TabularInline):
    model = StrategyVersion
    extra = 0
    fields = ("number", "created_at", "edited_in")
    readonly_fields = ("number", "created_at", "edited_in")
    can_delete = False

    @admin.display(description="Edited in")
    def edited_in(self, version: StrategyVersion) -> str:
        return "visual builder" if version.builder_state is not None else "code"


class StrategyAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "updated_at")
    search_fields = ("name",)
    inlines = [StrategyVersionInline]


class TenantStrategyAdmin(TenantModelAdmin, StrategyAdmin):
    pass


admin.site.register(Strategy, StrategyAdmin)
tenant_admin_site.register(Strategy, TenantStrategyAdmin)
