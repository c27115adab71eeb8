"""Demo rows per tenant: a visual-builder strategy for the demo user (the backtests app seeds code ones)."""

from .builder import default_state
from .models import Strategy
from .services import save_builder_version

DEMO_BUILDER_STRATEGY = "EMA cross + RSI filter (builder demo)"


def seed_demo_tenant(tenant, user) -> None:
    strategy, _ = Strategy.objects.get_or_create(
        owner=user, name=DEMO_BUILDER_STRATEGY, defaults={"description": "Built with the visual builder"}
    )
    if not strategy.versions.exists():
        save_builder_version(strategy, default_state("EMA cross + RSI filter"))
