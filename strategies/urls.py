from django.urls import path

from . import views

app_name = "strategies"
urlpatterns = [
    path("", views.strategy_list, name="list"),
    path("<int:pk>/", views.strategy_detail, name="detail"),
]
