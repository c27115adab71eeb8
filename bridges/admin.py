"""Staff admin of the bridge pool (public schema). Secrets and credentials are never shown."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .crypto import encrypt_text
from .models import BridgeInstance, BridgeInstanceEvent, BridgeNode, BridgeOrderIntent


class BridgeNodeForm(forms.ModelForm):
    address = forms.URLField(max_length=255, assume_scheme="https", help_text="Agent base URL, e.g. https://win-eu-1:8740")
    new_secret = forms.CharField(
        required=False,
        min_length=32,
        widget=forms.PasswordInput(render_value=False),
        help_text="Set or rotate the node's HMAC secret (the same value goes into the agent's --secret-file). "
        "Leave empty to keep the current one.",
    )

    class Meta:
        model = BridgeNode
        fields = ("node_id", "address", "region", "capacity")

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("new_secret"):
            self.add_error("new_secret", "A new node needs a secret.")
        return cleaned

    def save(self, commit: bool = True):
        node = super().save(commit=False)
        if self.cleaned_data.get("new_secret"):
            node.secret_encrypted = encrypt_text(self.cleaned_data["new_secret"])
        if commit:
            node.save()
        return node


@admin.register(BridgeNode)
class BridgeNodeAdmin(admin.ModelAdmin):
    form = BridgeNodeForm
    list_display = ("node_id", "region", "status", "capacity", "reported_running", "agent_version", "last_heartbeat_at", "missed_heartbeats")
    list_filter = ("status", "region")
    search_fields = ("node_id", "address")
    readonly_fields = ("status", "agent_version", "backends", "reported_running", "last_heartbeat_at", "missed_heartbeats", "last_error")
    actions = ("drain", "undrain", "check_now")

    @admin.action(description="Drain: move instances off and stop scheduling here")
    def drain(self, request: HttpRequest, queryset: QuerySet[BridgeNode]) -> None:
        for node in queryset:
            moved = services.drain_node(node)
            self.message_user(request, f"{node.node_id}: moved {len(moved)} instance(s).")

    @admin.action(description="Return drained nodes to scheduling")
    def undrain(self, request: HttpRequest, queryset: QuerySet[BridgeNode]) -> None:
        for node in queryset.filter(status=BridgeNode.Status.DRAINING):
            services.undrain_node(node)
        self.message_user(request, "Nodes return to scheduling after their next heartbeat.")

    @admin.action(description="Run a heartbeat round now")
    def check_now(self, request: HttpRequest, queryset: QuerySet[BridgeNode]) -> None:
        report = services.check_all_nodes()
        self.message_user(
            request,
            f"healthy: {', '.join(report.healthy) or '-'}; missed: {', '.join(report.missed) or '-'}; "
            f"down: {', '.join(report.went_down) or '-'}; moved: {len(report.moved)}",
            level=messages.WARNING if report.went_down else messages.INFO,
        )


class BridgeInstanceEventInline(admin.TabularInline):
    model = BridgeInstanceEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "from_status", "to_status", "node", "message")
    readonly_fields = fields
    ordering = ("-created_at", "-id")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(BridgeInstance)
class BridgeInstanceAdmin(admin.ModelAdmin):
    list_display = ("instance_id", "tenant_schema", "account_id", "backend", "status", "node", "restart_count", "should_run", "updated_at")
    list_filter = ("status", "backend", "node__region")
    search_fields = ("instance_id", "tenant_schema", "account_id")
    exclude = ("credentials_encrypted",)
    readonly_fields = (
        "instance_id", "tenant_schema", "account_id", "backend", "node", "status", "restart_count",
        "next_restart_at", "last_error", "stream_id", "events_cursor", "started_at",
    )
    inlines = (BridgeInstanceEventInline,)
    actions = ("restart", "stop", "reconcile")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # instances are created from broker accounts, with their credentials

    @admin.action(description="(Re)start now")
    def restart(self, request: HttpRequest, queryset: QuerySet[BridgeInstance]) -> None:
        for instance in queryset:
            services.restart_instance(instance, reason=f"restarted by staff {request.user}")
            self.message_user(request, f"{instance.instance_id}: {instance.status}")

    @admin.action(description="Stop")
    def stop(self, request: HttpRequest, queryset: QuerySet[BridgeInstance]) -> None:
        for instance in queryset:
            services.stop_instance(instance, reason=f"stopped by staff {request.user}")

    @admin.action(description="Reconcile in-flight orders")
    def reconcile(self, request: HttpRequest, queryset: QuerySet[BridgeInstance]) -> None:
        for instance in queryset:
            summary = services.reconcile_in_flight_orders(instance)
            self.message_user(request, f"{instance.instance_id}: {summary}")


@admin.register(BridgeOrderIntent)
class BridgeOrderIntentAdmin(admin.ModelAdmin):
    list_display = ("client_order_id", "instance", "state", "order_status", "node", "attempts", "updated_at")
    list_filter = ("state",)
    search_fields = ("client_order_id", "broker_order_id", "instance__account_id")
    readonly_fields = ("instance", "client_order_id", "request", "state", "node", "broker_order_id", "order_status", "attempts", "last_error")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
