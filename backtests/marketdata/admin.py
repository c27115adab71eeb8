from django.contrib import admin

from .models import MarketSeries


@admin.register(MarketSeries)
class MarketSeriesAdmin(admin.ModelAdmin):
    list_display = ("symbol", "timeframe", "timezone", "asset_type", "session_start", "mintick", "source")
    search_fields = ("symbol",)
