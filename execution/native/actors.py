"""Dramatiq actors of native deployments; thin wrappers around execution.native.services."""

from fourpass.tasks import platform_actor, tenant_actor

from . import services


@tenant_actor(actor_name="native.start_deployment", max_retries=3, min_backoff=1_000, time_limit=600_000)
def start_deployment_job(deployment_id: int) -> None:
    services.start_deployment(deployment_id)


@tenant_actor(actor_name="native.step_deployment", max_retries=3, min_backoff=200, max_backoff=5_000,
              time_limit=600_000)
def step_deployment_job(deployment_id: int) -> None:
    services.advance_deployment(deployment_id)


@platform_actor(actor_name="native.catch_up", max_retries=0, time_limit=300_000)
def catch_up() -> None:
    """Start, step and dispatch whatever a dead worker or a lost message left behind, in every tenant."""
    services.catch_up_all()
