from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api, views

router = DefaultRouter()
router.register("bindings", api.BindingViewSet, basename="binding")
router.register("alerts", api.AlertViewSet, basename="alert")

app_name = "webhooks"
urlpatterns = [
    path("", views.binding_list, name="list"),
    path("new/", views.binding_create, name="create"),
    path("<int:pk>/", views.binding_detail, name="detail"),
    path("<int:pk>/rotate/", views.binding_rotate, name="rotate"),
    path("<int:pk>/delete/", views.binding_delete, name="delete"),
    path("alerts/", views.alert_log, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts.csv", views.alerts_csv, name="alerts_csv"),
    path("api/", include(router.urls)),
]
