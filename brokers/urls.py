from django.urls import path

from . import views

app_name = "brokers"
urlpatterns = [
    path("", views.account_list, name="list"),
    path("new/", views.account_create, name="create"),
    path("<int:pk>/", views.account_edit, name="edit"),
    path("<int:pk>/test/", views.account_test, name="test"),
    path("<int:pk>/toggle/", views.account_toggle, name="toggle"),
]
