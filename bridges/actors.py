"""Thin Dramatiq actors; the work is in services."""

from fourpass.tasks import platform_actor

from . import services


@platform_actor(max_retries=0, time_limit=120_000, actor_name="bridges_check_nodes")
def check_bridge_nodes() -> None:
    services.check_all_nodes()


@platform_actor(max_retries=0, time_limit=60_000, actor_name="bridges_pump_events")
def pump_bridge_events() -> None:
    services.pump_all_events()
