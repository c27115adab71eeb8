from django.urls import path

from fourpass.sections import section_page

app_name = "brokers"
urlpatterns = [
    path("", section_page("Broker accounts", "Paper and live trading accounts."), name="list"),
]
