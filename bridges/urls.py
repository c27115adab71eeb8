from django.urls import path

from fourpass.sections import section_page

app_name = "bridges"
urlpatterns = [
    path("", section_page("Bridges", "Terminals for Windows-only brokers (MT4/MT5, DLL/COM)."), name="list"),
]
