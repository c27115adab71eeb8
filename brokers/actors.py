from django_tenants.utils import get_tenant_model

from fourpass.tasks import platform_actor, tenant_actor


@tenant_actor(max_retries=0, actor_name="brokers_match_paper_orders")
def match_paper_orders() -> None:
    from .services import match_resting_paper_orders

    match_resting_paper_orders()


@platform_actor(max_retries=0, actor_name="brokers_match_paper_orders_everywhere")
def match_paper_orders_everywhere() -> None:
    """Fan out one matching job per tenant schema."""
    for schema in get_tenant_model().objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        match_paper_orders.send(schema)
