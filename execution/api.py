"""REST API: /deployments/api/orders/ and /deployments/api/signals/ (tenant-scoped; retail users see their own)."""

from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import selectors, services
from .models import Fill, Order, OrderEvent, SignalRecord


class OrderEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["at", "from_state", "to_state", "message", "broker_response"]


class FillSerializer(serializers.ModelSerializer):
    class Meta:
        model = Fill
        fields = ["fill_id", "price", "quantity", "fee", "fee_currency", "filled_at"]


class OrderSerializer(serializers.ModelSerializer):
    events = OrderEventSerializer(many=True, read_only=True)
    fills = FillSerializer(many=True, read_only=True)
    signal = serializers.IntegerField(source="execution.signal_id", read_only=True, default=None)

    class Meta:
        model = Order
        fields = ["id", "created_at", "updated_at", "broker_account_id", "client_order_id", "broker_order_id",
                  "symbol", "side", "order_type", "quantity", "limit_price", "stop_price", "reduce_only", "state",
                  "filled_quantity", "average_price", "last_error", "signal", "events", "fills"]


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrderSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no tenant
            return Order.objects.none()
        return selectors.orders_for(self.request.user).select_related("execution").prefetch_related("events", "fills")


class SignalSerializer(serializers.ModelSerializer):
    class Meta:
        model = SignalRecord
        fields = ["id", "source", "idempotency_key", "binding_id", "deployment_id", "alert_id", "status",
                  "status_reason", "approval_expires_at", "created_at", "payload"]


class SignalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SignalSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no tenant
            return SignalRecord.objects.none()
        signals = SignalRecord.objects.all()
        if selectors._is_retail():
            signals = signals.filter(owner=self.request.user)
        return signals

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return Response(SignalSerializer(services.approve_signal(self.get_object(), request.user)).data)

    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        record = services.decline_signal(self.get_object(), request.user, request.data.get("reason", "declined"))
        return Response(SignalSerializer(record).data)
