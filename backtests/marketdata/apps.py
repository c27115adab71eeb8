from django.apps import AppConfig


class MarketDataConfig(AppConfig):
    """OHLCV bars shared by every tenant (public schema)."""

    name = "backtests.marketdata"
    label = "marketdata"
    verbose_name = "Market data"
