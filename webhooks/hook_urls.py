from django.urls import path

from .hook_view import receive_alert

urlpatterns = [path("<str:token>", receive_alert, name="webhook-receive")]
