from django.urls import path

from . import views

app_name = "native"
urlpatterns = [
    path("", views.deployment_list, name="list"),
    path("new/", views.deployment_create, name="create"),
    path("<int:pk>/", views.deployment_detail, name="detail"),
    path("<int:pk>/pause/", views.deployment_pause, name="pause"),
    path("<int:pk>/resume/", views.deployment_resume, name="resume"),
    path("<int:pk>/stop/", views.deployment_stop, name="stop"),
    path("<int:pk>/log/", views.deployment_log, name="log"),
]
