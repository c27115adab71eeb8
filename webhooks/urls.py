from django.urls import path

from fourpass.sections import section_page

app_name = "webhooks"
urlpatterns = [
    path("", section_page("Webhooks", "TradingView alert URLs that fan out to your trading accounts."), name="list"),
]
