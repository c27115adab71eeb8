from django.db import models
from timescale.db.models.fields import TimescaleDateTimeField


class MarketSeries(models.Model):
    """One instrument at one stored timeframe; higher timeframes are resampled from it on read."""

    symbol = models.CharField(max_length=64, help_text="Normalized ticker, e.g. NASDAQ:GOOG or BINANCE:BTCUSDT")
    timeframe = models.CharField(max_length=8, help_text="Pine timeframe string: 1, 5, 60, 1D, 1W")
    timezone = models.CharField(max_length=64, default="Etc/UTC", help_text="Exchange time zone")
    mintick = models.DecimalField(max_digits=20, decimal_places=10, default=0.01)
    pointvalue = models.DecimalField(max_digits=20, decimal_places=6, default=1)
    source = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["symbol", "timeframe"], name="unique_market_series")]
        verbose_name_plural = "market series"

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe}"


class OHLCVBar(models.Model):
    """A bar keyed by (series, open time); a TimescaleDB hypertable on `time` when the extension exists."""

    pk = models.CompositePrimaryKey("series", "time")
    series = models.ForeignKey(MarketSeries, on_delete=models.CASCADE, related_name="bars")
    time = TimescaleDateTimeField(interval="30 days")
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(high__gte=models.F("low")), name="ohlcv_high_gte_low"),
            models.CheckConstraint(condition=models.Q(low__gte=0), name="ohlcv_prices_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.series_id} {self.time:%Y-%m-%d %H:%M} C={self.close}"
