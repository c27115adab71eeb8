from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from . import selectors, services
from .builder import BuilderStateError, generate_pine
from .models import Strategy, StrategyVersion


class StrategySerializer(serializers.ModelSerializer):
    class Meta:
        model = Strategy
        fields = ["id", "name", "description", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class StrategyVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = StrategyVersion
        fields = ["id", "number", "source", "inputs", "plots", "declaration", "builder_state", "created_at"]
        read_only_fields = fields


class NewVersionSerializer(serializers.Serializer):
    """Either Pine `source` or visual-builder blocks (`builder_state`), not both."""

    source = serializers.CharField(required=False, trim_whitespace=False, max_length=200_000)
    builder_state = serializers.JSONField(required=False)

    def validate(self, attrs):
        if ("source" in attrs) == ("builder_state" in attrs):
            raise serializers.ValidationError("Send either 'source' or 'builder_state'.")
        return attrs


class SourceSerializer(serializers.Serializer):
    source = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=200_000)


class BuilderStateSerializer(serializers.Serializer):
    builder_state = serializers.JSONField()


class StrategyViewSet(viewsets.ModelViewSet):
    serializer_class = StrategySerializer

    def get_queryset(self):
        return selectors.strategies_for(self.request.user)

    def perform_create(self, serializer):
        try:
            serializer.instance = services.create_strategy(
                self.request.user, serializer.validated_data["name"], serializer.validated_data.get("description", "")
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error

    @action(detail=True, methods=["get", "post"], serializer_class=NewVersionSerializer)
    def versions(self, request: Request, pk=None) -> Response:
        """GET: the versions, newest first. POST: save a new version (400 with diagnostics when it has errors)."""
        strategy = self.get_object()
        if request.method == "GET":
            return Response(StrategyVersionSerializer(strategy.versions.all(), many=True).data)
        payload = NewVersionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            if "builder_state" in payload.validated_data:
                version = services.save_builder_version(strategy, payload.validated_data["builder_state"])
            else:
                version = services.save_version(strategy, payload.validated_data["source"])
        except BuilderStateError as error:
            return Response({"builder_state": error.errors}, status=status.HTTP_400_BAD_REQUEST)
        except services.StrategyCompileError as error:
            return Response({"source": error.diagnostics, "diagnostics": error.details}, status=status.HTTP_400_BAD_REQUEST)
        return Response(StrategyVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["post"], serializer_class=SourceSerializer)
    def compile(self, request: Request) -> Response:
        """Compile Pine source without saving: ok, diagnostics, inputs, plots, declaration."""
        payload = SourceSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return Response(services.compile_preview(payload.validated_data["source"]))

    @action(detail=False, methods=["post"], url_path="builder/generate", serializer_class=BuilderStateSerializer)
    def builder_generate(self, request: Request) -> Response:
        """Visual-builder blocks -> Pine v6 source (400 with the validation errors)."""
        payload = BuilderStateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            source = generate_pine(payload.validated_data["builder_state"])
        except BuilderStateError as error:
            return Response({"builder_state": error.errors}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"source": source})
