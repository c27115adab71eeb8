from django.contrib import admin

from fourpass.admin_sites import TenantModelAdmin, tenant_admin_site

from .models import BrokerAccount, PaperOrder


class BrokerAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "kind", "exchange", "market_type", "is_live", "enabled", "validated_at")
    list_filter = ("kind", "is_live", "enabled")
    exclude = ("credentials_encrypted",)  # never shown, not even to staff
    readonly_fields = ("credentials_last4", "validated_at", "last_error")


class PaperOrderAdmin(admin.ModelAdmin):
    list_display = ("client_order_id", "account", "symbol", "side", "quantity", "status", "created_at")
    list_filter = ("status",)


class TenantBrokerAccountAdmin(TenantModelAdmin, BrokerAccountAdmin):
    pass


admin.site.register(BrokerAccount, BrokerAccountAdmin)
admin.site.register(PaperOrder, PaperOrderAdmin)
tenant_admin_site.register(BrokerAccount, TenantBrokerAccountAdmin)
