"""Dramatiq actors of backtests: the backtest job and the stale-run sweeper."""

from django_tenants.utils import get_tenant_model, schema_context

from fourpass.tasks import platform_actor, tenant_actor

from . import services


@tenant_actor(max_retries=0, time_limit=6 * 60 * 60 * 1000, queue_name="backtests")
def run_backtest_job(run_id: int) -> None:
    services.execute_run(run_id)


@platform_actor(max_retries=0, time_limit=5 * 60 * 1000)
def fail_stale_backtests() -> None:
    """Every tenant schema: running backtests whose worker stopped heart-beating become failed."""
    from django.conf import settings

    for schema_name in get_tenant_model().objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).values_list(
        "schema_name", flat=True
    ):
        with schema_context(schema_name):
            services.fail_stale_runs()
