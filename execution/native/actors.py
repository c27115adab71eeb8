"""Dramatiq actors of native deployments; thin wrappers around execution.native.services."""

from execution.services import jobs_run_by_caller
from fourpass.tasks import platform_actor, tenant_actor

from . import services
from .services import DISPATCH_RECHECK_MS

# Runner steps have their own queue: a bar closing on many series at once enqueues a step per deployment, and the
# execution jobs of other signals (on the default queue; a step runs its own signal's jobs itself) must not wait in
# Redis behind the remaining steps. Each worker process consumes both queues; a lower priority
# (higher number) makes its threads take the execution jobs they fetched before the steps they fetched.
QUEUE = "native"
STEP_PRIORITY = 10


@tenant_actor(actor_name="native.start_deployment", max_retries=3, min_backoff=1_000, time_limit=600_000)
def start_deployment_job(deployment_id: int) -> None:
    services.start_deployment(deployment_id)


@tenant_actor(actor_name="native.step_deployment", queue_name=QUEUE, priority=STEP_PRIORITY, max_retries=3,
              min_backoff=200, max_backoff=5_000, time_limit=600_000)
def step_deployment_job(deployment_id: int, retry_if_busy: bool = True) -> None:
    with jobs_run_by_caller():
        result = services.advance_deployment(deployment_id)
    if result.signal_records:
        services.execute_now(result.signal_records)
    if result.locked and retry_if_busy:
        # another worker is stepping this deployment; the bar that triggered us may have been stored after its
        # last look, so look again shortly (once) instead of waiting for the periodic catch-up
        from django.db import connection

        step_deployment_job.send_with_options(args=(connection.schema_name, deployment_id, False), delay=250)


@tenant_actor(actor_name="native.dispatch_deployment", queue_name=QUEUE, max_retries=0, time_limit=120_000)
def dispatch_deployment_job(deployment_id: int, attempts_left: int = 400) -> None:
    """Hand waiting outbox rows to the execution core once the previous signal's orders are done."""
    with jobs_run_by_caller():
        result = services.dispatch_pending(deployment_id, retry=False)
    if result.signal_records:
        services.execute_now(result.signal_records)
    if result.waiting and attempts_left > 0:
        from django.db import connection

        dispatch_deployment_job.send_with_options(args=(connection.schema_name, deployment_id, attempts_left - 1),
                                                  delay=DISPATCH_RECHECK_MS)


@platform_actor(actor_name="native.catch_up", max_retries=0, time_limit=300_000)
def catch_up() -> None:
    """Start, step and dispatch whatever a dead worker or a lost message left behind, in every tenant."""
    services.catch_up_all()


@platform_actor(actor_name="native.poll_feeds", max_retries=0, time_limit=120_000)
def poll_feeds() -> None:
    """Fetch closed bars for every series a running deployment trades; storing them triggers the steps."""
    from .feeds.registry import poll_series

    poll_series(services.live_series_ids())
