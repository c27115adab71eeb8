from django.db.models import QuerySet

from accounts.models import User

from .models import Strategy, StrategyVersion


def strategies_for(user: User) -> QuerySet[Strategy]:
    """Strategies the user may see: their own (retail users share a tenant, so scope by owner)."""
    return Strategy.objects.filter(owner_id=user.pk)


def strategy_for(user: User, strategy_id: int) -> Strategy:
    return strategies_for(user).get(pk=strategy_id)


def latest_version(strategy: Strategy) -> StrategyVersion | None:
    return strategy.versions.order_by("-number").first()
