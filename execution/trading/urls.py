from django.urls import path

from . import views

app_name = "trading"
urlpatterns = [
    path("", views.home, name="home"),
    path("positions/", views.trade, {"tab": "positions"}, name="positions"),
    path("orders/", views.trade, {"tab": "orders"}, name="orders"),
    path("alerts/", views.trade, {"tab": "alerts"}, name="alerts"),
    path("deployments/", views.trade, {"tab": "deployments"}, name="deployments"),
    path("ticket/symbols/", views.symbols, name="symbols"),
    path("ticket/instrument/", views.instrument, name="instrument"),
    path("ticket/review/", views.review, name="review"),
    path("ticket/place/", views.place, name="place"),
    path("ticket/outcome/<int:signal_id>/", views.outcome, name="outcome"),
]
