from strategies.demo import DEMO_BUILDER_STRATEGY, seed_demo_tenant
from strategies.models import Strategy


def test_the_demo_seed_adds_one_builder_strategy_and_is_idempotent(retail_tenant, trader, in_retail):
    seed_demo_tenant(retail_tenant, trader)
    seed_demo_tenant(retail_tenant, trader)
    strategy = Strategy.objects.get(owner=trader, name=DEMO_BUILDER_STRATEGY)
    assert strategy.versions.count() == 1
    assert strategy.versions.get().builder_state is not None
