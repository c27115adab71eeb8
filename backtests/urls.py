from django.urls import path

from fourpass.sections import section_page

app_name = "backtests"
urlpatterns = [
    path("", section_page("Backtests", "Run a saved strategy version on stored market data."), name="list"),
]
