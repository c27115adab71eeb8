"""REST API: start backtests, follow them, read results (documented at /api/schema/)."""

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.services import PlanLimitExceeded
from backtests.marketdata import selectors as market
from backtests.marketdata.models import MarketSeries

from . import selectors, services
from .models import BacktestRun, BacktestTrade, RunStatus


class BacktestRunSerializer(serializers.ModelSerializer):
    strategy_version = serializers.PrimaryKeyRelatedField(read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = BacktestRun
        fields = [
            "id", "strategy_version", "sweep", "symbol", "timeframe", "date_from", "date_to", "inputs", "initial_capital",
            "status", "bars_done", "bars_total", "progress_percent", "cancel_requested", "error", "error_line",
            "error_column", "created_at", "started_at", "finished_at", "data_hash", "engine_version",
        ]
        read_only_fields = fields


class StartBacktestSerializer(serializers.Serializer):
    strategy_version = serializers.IntegerField(help_text="id of one of your strategy versions")
    symbol = serializers.CharField(max_length=64)
    timeframe = serializers.CharField(max_length=8, help_text="Pine timeframe: 1, 5, 60, 240, 1D ...")
    date_from = serializers.DateTimeField(required=False, allow_null=True)
    date_to = serializers.DateTimeField(required=False, allow_null=True)
    inputs = serializers.DictField(required=False, default=dict, help_text="input overrides by input name")
    initial_capital = serializers.DecimalField(max_digits=20, decimal_places=2, required=False, allow_null=True)


class TradeSerializer(serializers.ModelSerializer):
    class Meta:
        model = BacktestTrade
        exclude = ["id", "run"]


class BacktestResultSerializer(serializers.Serializer):
    summary = serializers.DictField()
    times = serializers.ListField(child=serializers.IntegerField(), help_text="bar open times, epoch ms")
    equity = serializers.ListField(child=serializers.FloatField(allow_null=True))
    drawdown = serializers.ListField(child=serializers.FloatField(allow_null=True))
    buy_and_hold = serializers.ListField(child=serializers.FloatField(allow_null=True))
    plots = serializers.DictField(child=serializers.ListField(child=serializers.FloatField(allow_null=True)))
    trade_count = serializers.IntegerField()


class BacktestRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your backtests. POST starts one (it runs in the background; poll `status`/`progress_percent`)."""

    serializer_class = BacktestRunSerializer

    def get_queryset(self):
        return selectors.runs_for(self.request.user)

    @extend_schema(request=StartBacktestSerializer, responses={202: BacktestRunSerializer})
    def create(self, request):
        payload = StartBacktestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        version = selectors.versions_for(request.user).filter(pk=data["strategy_version"]).first()
        if version is None:
            raise serializers.ValidationError({"strategy_version": "No such strategy version of yours."})
        try:
            run = services.start_backtest(
                request.user, version, symbol=data["symbol"], timeframe=data["timeframe"],
                date_from=data.get("date_from"), date_to=data.get("date_to"), inputs=data.get("inputs") or {},
                initial_capital=data.get("initial_capital"),
            )
        except services.BacktestRequestError as error:
            raise serializers.ValidationError({"detail": str(error)}) from error
        except PlanLimitExceeded as error:
            return Response({"detail": str(error)}, status=status.HTTP_403_FORBIDDEN)
        return Response(BacktestRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=BacktestRunSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = services.request_cancel(self.get_object())
        return Response(BacktestRunSerializer(run).data)

    @extend_schema(responses=BacktestResultSerializer)
    @action(detail=True, methods=["get"])
    def result(self, request, pk=None):
        run = self.get_object()
        if run.status != RunStatus.SUCCEEDED:
            return Response({"detail": f"The backtest is {run.status}; no results."}, status=status.HTTP_409_CONFLICT)
        try:
            result = run.result
        except ObjectDoesNotExist:
            return Response({"detail": "No results stored."}, status=status.HTTP_404_NOT_FOUND)
        return Response(BacktestResultSerializer(result).data)

    @extend_schema(
        parameters=[OpenApiParameter("sort", str, description=f"one of {', '.join(selectors.TRADE_SORTS)}; '-' for descending")],
        responses=TradeSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def trades(self, request, pk=None):
        run = self.get_object()
        sort = request.query_params.get("sort", "number")
        key = sort.lstrip("-")
        field = selectors.TRADE_SORTS.get(key, "number")
        queryset = BacktestTrade.objects.filter(run=run).order_by(f"-{field}" if sort.startswith("-") else field, "number")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(TradeSerializer(page, many=True).data)


class MarketSeriesSerializer(serializers.ModelSerializer):
    class Meta:
        model = MarketSeries
        fields = ["id", "symbol", "timeframe", "timezone", "mintick", "pointvalue", "asset_type", "session_start", "source"]


class MarketSeriesViewSet(viewsets.ReadOnlyModelViewSet):
    """Stored OHLCV series (shared by all tenants); `coverage` adds bar counts and ranges."""

    serializer_class = MarketSeriesSerializer
    queryset = MarketSeries.objects.order_by("symbol", "timeframe")
    pagination_class = None

    @action(detail=False, methods=["get"])
    def coverage(self, request):
        return Response(market.coverage())
