from django.contrib import admin

from .models import MarketSeries


@admin.register(MarketSeries)
class MarketSeriesAdmin(admin.ModelAdmin):
    list_display = ("symbol", "timeframe", "timezone", "mintick", "source")
    search_fields = ("symbol",)
