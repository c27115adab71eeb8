from django.urls import path

from . import views

app_name = "bridges"
urlpatterns = [
    path("", views.instance_list, name="list"),
]
