from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("signup/", views.signup_view, name="signup"),
    path("notifications/", views.notifications_view, name="notifications"),
    path("notifications/subscriptions/", views.push_subscription_view, name="push-subscriptions"),
]
