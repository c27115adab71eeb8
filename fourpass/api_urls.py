from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from backtests.api import BacktestRunViewSet, MarketSeriesViewSet
from strategies.api import StrategyViewSet

router = DefaultRouter()
router.register("strategies", StrategyViewSet, basename="strategy")
router.register("backtests", BacktestRunViewSet, basename="backtest")
router.register("market-series", MarketSeriesViewSet, basename="market-series")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    *router.urls,
]
