"""Execution records in the tenant admin (/manage/): read-only, the audit trail is never edited."""

from django.contrib import admin

from fourpass.admin_sites import TenantModelAdmin, tenant_admin_site

from .models import AccountExecution, AuditEvent, Order, OrderEvent, RiskLimits, SignalRecord


class ReadOnlyAdmin(TenantModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ("at", "from_state", "to_state", "message", "broker_response")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class OrderAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "owner", "broker_account_id", "symbol", "side", "quantity", "state", "filled_quantity")
    list_filter = ("state", "side")
    search_fields = ("client_order_id", "broker_order_id", "symbol")
    inlines = [OrderEventInline]


class SignalRecordAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "owner", "source", "status", "alert_id", "deployment_id")
    list_filter = ("source", "status")
    search_fields = ("idempotency_key",)


class AccountExecutionAdmin(ReadOnlyAdmin):
    list_display = ("signal", "broker_account_id", "status", "attempts", "reason")
    list_filter = ("status",)


class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "alert_id", "broker_account_id", "stage", "message")
    list_filter = ("stage",)
    search_fields = ("message",)


class RiskLimitsAdmin(TenantModelAdmin):
    list_display = ("owner", "daily_loss_cap", "max_open_positions", "updated_at")


tenant_admin_site.register(Order, OrderAdmin)
tenant_admin_site.register(SignalRecord, SignalRecordAdmin)
tenant_admin_site.register(AccountExecution, AccountExecutionAdmin)
tenant_admin_site.register(AuditEvent, AuditEventAdmin)
tenant_admin_site.register(RiskLimits, RiskLimitsAdmin)
