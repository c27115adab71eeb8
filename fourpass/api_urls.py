from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from strategies.api import StrategyViewSet

router = DefaultRouter()
router.register("strategies", StrategyViewSet, basename="strategy")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    *router.urls,
]
