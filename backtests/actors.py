"""Dramatiq actors of backtests: the backtest job and the stale-run sweeper."""

from fourpass.tasks import platform_actor, tenant_actor

from . import services


@tenant_actor(max_retries=0, time_limit=6 * 60 * 60 * 1000, queue_name="backtests")
def run_backtest_job(run_id: int) -> None:
    services.execute_run(run_id)


@platform_actor(max_retries=0, time_limit=5 * 60 * 1000)
def fail_stale_backtests() -> None:
    """Every tenant schema: running backtests whose worker stopped heart-beating become failed."""
    services.fail_stale_runs_in_every_schema()
