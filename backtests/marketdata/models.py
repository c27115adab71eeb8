from django.db import models
from timescale.db.models.fields import TimescaleDateTimeField

CRYPTO_EXCHANGES = {
    "BINANCE", "BITSTAMP", "COINBASE", "KRAKEN", "BYBIT", "OKX", "BITFINEX", "BITMEX", "KUCOIN", "GEMINI",
    "HUOBI", "HTX", "GATEIO", "DERIBIT", "CRYPTO", "BINANCEUS", "MEXC", "BITGET",
}
FOREX_SOURCES = {"FX", "FX_IDC", "OANDA", "FXCM", "SAXO", "PEPPERSTONE", "FOREXCOM", "ICMARKETS"}
FUTURES_EXCHANGES = {"CME", "CME_MINI", "CBOT", "NYMEX", "NYMEX_MINI", "COMEX", "EUREX", "ICEUS", "TAIFEX"}


class MarketSeries(models.Model):
    """One instrument at one stored timeframe; higher timeframes are resampled from it on read."""

    symbol = models.CharField(max_length=64, help_text="Normalized ticker, e.g. NASDAQ:GOOG or BINANCE:BTCUSDT")
    timeframe = models.CharField(max_length=8, help_text="Pine timeframe string: 1, 5, 60, 1D, 1W")
    timezone = models.CharField(max_length=64, default="Etc/UTC", help_text="Exchange time zone")
    mintick = models.DecimalField(max_digits=20, decimal_places=10, default=0.01)
    pointvalue = models.DecimalField(max_digits=20, decimal_places=6, default=1)
    source = models.CharField(max_length=64, blank=True)
    asset_type = models.CharField(
        max_length=16,
        blank=True,
        choices=[(t, t) for t in ("crypto", "forex", "stock", "futures", "index", "cfd")],
        help_text="Blank: inferred from the symbol's exchange prefix (crypto trades 24/7; others close at weekends)",
    )
    session_start = models.CharField(
        max_length=5,
        default="0000",
        help_text="Local time (HHMM) the trading day starts; after noon means the previous evening (forex, CME: 1700)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["symbol", "timeframe"], name="unique_market_series")]
        verbose_name_plural = "market series"

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe}"

    @property
    def effective_asset_type(self) -> str:
        if self.asset_type:
            return self.asset_type
        prefix = self.symbol.split(":", 1)[0].upper() if ":" in self.symbol else ""
        if prefix in CRYPTO_EXCHANGES:
            return "crypto"
        if prefix in FOREX_SOURCES:
            return "forex"
        if prefix in FUTURES_EXCHANGES:
            return "futures"
        return "stock" if prefix else "crypto"

    @property
    def trades_around_the_clock(self) -> bool:
        return self.effective_asset_type == "crypto"


class OHLCVBar(models.Model):
    """A bar keyed by (series, open time); a TimescaleDB hypertable on `time` when the extension exists."""

    pk = models.CompositePrimaryKey("series", "time")
    # No database-level FK: PostgreSQL queues one deferred trigger event per inserted row, which made a 1M-row
    # COPY three times slower. Bars are only written through services.upsert_arrays for an existing series,
    # and deleting a series deletes its bars through the ORM (one fast DELETE).
    # No separate series_id index either: the primary key (series_id, time) serves every lookup, and a second
    # index would steer range queries away from it and slow every insert.
    series = models.ForeignKey(
        MarketSeries, on_delete=models.CASCADE, related_name="bars", db_constraint=False, db_index=False
    )
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
