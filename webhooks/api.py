"""REST API: /webhooks/api/bindings/ and /webhooks/api/alerts/ (tenant-scoped; retail users see their own)."""

from dataclasses import fields as dataclass_fields

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.services import PlanLimitExceeded

from . import selectors, services
from .models import Alert, BindingAccount, WebhookBinding

LINK_FIELDS = [f.name for f in dataclass_fields(services.AccountLink)]


class BindingAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = BindingAccount
        fields = LINK_FIELDS


class BindingSerializer(serializers.ModelSerializer):
    accounts = BindingAccountSerializer(many=True, required=False)
    passphrase = serializers.CharField(write_only=True, required=False, allow_blank=True)
    token = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = WebhookBinding
        fields = ["id", "name", "enabled", "token_hint", "ip_allowlist", "max_signal_age_seconds",
                  "max_exit_signal_age_seconds", "drift_policy", "allocation", "requires_approval",
                  "approval_timeout_minutes", "dedupe_window_seconds", "rate_limit_per_minute", "last_drift",
                  "created_at", "rotated_at", "accounts", "passphrase", "token", "url"]
        read_only_fields = ["id", "token_hint", "last_drift", "created_at", "rotated_at"]

    def get_token(self, binding) -> str | None:
        return self.context.get("token")  # only in the reply that created/rotated it

    def get_url(self, binding) -> str | None:
        token = self.context.get("token")
        return self.context["request"].build_absolute_uri(f"/hook/{token}") if token else None


def _links(data) -> list[services.AccountLink]:
    return [services.AccountLink(**{k: v for k, v in item.items() if k in LINK_FIELDS}) for item in data]


def _raise(error):
    if isinstance(error, PlanLimitExceeded):
        raise serializers.ValidationError({"detail": str(error)})
    raise serializers.ValidationError(error.message_dict if hasattr(error, "message_dict") else error.messages)


class BindingViewSet(viewsets.ModelViewSet):
    serializer_class = BindingSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no tenant
            return WebhookBinding.objects.none()
        return selectors.bindings_for(self.request.user).prefetch_related("accounts")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        accounts = data.pop("accounts", [])
        try:
            binding, token = services.create_binding(
                request.user, data.pop("name"), passphrase=data.pop("passphrase", ""),
                ip_allowlist=data.pop("ip_allowlist", []), accounts=_links(accounts), **data,
            )
        except (DjangoValidationError, PlanLimitExceeded) as error:
            _raise(error)
        reply = BindingSerializer(binding, context={"request": request, "token": token})
        return Response(reply.data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        accounts = data.pop("accounts", None)
        try:
            services.update_binding(serializer.instance, **data)
            if accounts is not None:
                services.set_binding_accounts(serializer.instance, _links(accounts))
        except (DjangoValidationError, PlanLimitExceeded) as error:
            _raise(error)

    def perform_destroy(self, instance):
        services.delete_binding(instance)

    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        binding = self.get_object()
        token = services.rotate_token(binding)
        return Response(BindingSerializer(binding, context={"request": request, "token": token}).data)


class AlertSerializer(serializers.ModelSerializer):
    audit = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = ["id", "binding", "received_at", "status", "http_status", "reason", "body", "content_type",
                  "source_ip", "idempotency_key", "duplicate_of", "parsed", "processed_at", "audit"]

    def get_audit(self, alert) -> list[dict]:
        return [{"at": e.at, "stage": e.stage, "account_id": e.broker_account_id, "order_id": e.order_id,
                 "message": e.message, "data": e.data} for e in selectors.audit_for_alert(alert)]


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AlertSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no tenant
            return Alert.objects.none()
        binding = self.request.query_params.get("binding")
        return selectors.alerts_for(self.request.user, binding_id=int(binding) if binding and binding.isdigit() else None,
                                    status=self.request.query_params.get("status"))
