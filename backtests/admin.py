from django.contrib import admin

from fourpass.admin_sites import TenantModelAdmin, tenant_admin_site

from .models import BacktestRun


class BacktestRunAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "strategy_version", "symbol", "timeframe", "status", "bars_total", "created_at")
    list_filter = ("status",)
    search_fields = ("symbol",)
    readonly_fields = [f.name for f in BacktestRun._meta.fields]


class TenantBacktestRunAdmin(TenantModelAdmin, BacktestRunAdmin):
    pass


tenant_admin_site.register(BacktestRun, TenantBacktestRunAdmin)
