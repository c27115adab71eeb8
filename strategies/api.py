from rest_framework import serializers, viewsets

from . import selectors, services
from .models import Strategy


class StrategySerializer(serializers.ModelSerializer):
    class Meta:
        model = Strategy
        fields = ["id", "name", "description", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class StrategyViewSet(viewsets.ModelViewSet):
    serializer_class = StrategySerializer

    def get_queryset(self):
        return selectors.strategies_for(self.request.user)

    def perform_create(self, serializer):
        from django.core.exceptions import ValidationError as DjangoValidationError

        try:
            serializer.instance = services.create_strategy(
                self.request.user, serializer.validated_data["name"], serializer.validated_data.get("description", "")
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
