"""Webhooks in the tenant admin (/manage/). Tokens are never shown (only their last characters)."""

from django.contrib import admin

from fourpass.admin_sites import TenantModelAdmin, tenant_admin_site

from .models import Alert, BindingAccount, WebhookBinding


class BindingAccountInline(admin.TabularInline):
    model = BindingAccount
    extra = 0


class WebhookBindingAdmin(TenantModelAdmin):
    list_display = ("name", "owner", "enabled", "token_hint", "requires_approval", "drift_policy", "created_at")
    list_filter = ("enabled", "requires_approval")
    exclude = ("token_hash", "passphrase_hash")
    readonly_fields = ("token_hint", "last_drift", "rotated_at")
    inlines = [BindingAccountInline]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # created in the app, where the token is shown once


class AlertAdmin(TenantModelAdmin):
    list_display = ("received_at", "binding", "status", "http_status", "reason")
    list_filter = ("status", "http_status")
    search_fields = ("body", "reason", "idempotency_key")
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


tenant_admin_site.register(WebhookBinding, WebhookBindingAdmin)
tenant_admin_site.register(Alert, AlertAdmin)
