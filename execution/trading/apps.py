from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "execution.trading"
    label = "trading"
    verbose_name = "Trading (manual order ticket and live positions/orders)"

    def ready(self) -> None:
        from . import notifications  # noqa: F401  (connects the push-on-fill receiver)
