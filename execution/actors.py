"""Dramatiq actors of the execution core; thin wrappers around execution.services."""

from django_tenants.utils import schema_context

from fourpass.tasks import platform_actor, tenant_actor

from . import services


def _retry_on_retry_later(retries_so_far: int, exception: Exception) -> bool:
    return isinstance(exception, services.RetryLater)


@tenant_actor(
    actor_name="execution.execute_account",
    max_retries=services.MAX_ATTEMPTS - 1,
    min_backoff=500,
    max_backoff=15_000,
    retry_when=_retry_on_retry_later,
    time_limit=120_000,
)
def execute_account_job(execution_id: int) -> None:
    services.execute_account(execution_id)


def _tenant_schemas() -> list[str]:
    from accounts.models import Organization

    return list(Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True))


@platform_actor(actor_name="execution.housekeeping", max_retries=0, time_limit=300_000)
def housekeeping() -> None:
    """Expire approvals, re-enqueue jobs left by dead workers, poll open orders; every tenant."""
    for schema in _tenant_schemas():
        with schema_context(schema):
            services.expire_approvals()
            services.requeue_stuck_executions()
            services.sync_open_orders()
