from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api, views

router = DefaultRouter()
router.register("orders", api.OrderViewSet, basename="order")
router.register("signals", api.SignalViewSet, basename="signal")

app_name = "execution"
urlpatterns = [
    # The root of /deployments/ is the native deployments list; this is the signals/approvals/report page.
    path("activity/", views.deployments, name="deployments"),
    path("orders/", views.orders, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders.csv", views.orders_csv, name="orders_csv"),
    path("report.csv", views.report_csv, name="report_csv"),
    path("signals/<int:pk>/approve/", views.approve, name="approve"),
    path("signals/<int:pk>/decline/", views.decline, name="decline"),
    path("api/", include(router.urls)),
]
