from fourpass.tasks import platform_actor

from .health import record_worker_heartbeat


@platform_actor(max_retries=0, actor_name="worker_heartbeat")
def worker_heartbeat() -> None:
    record_worker_heartbeat()
