"""Periodic jobs picked up by fourpass.scheduler."""

PERIODIC = [
    (5.0, "bridges.actors:check_bridge_nodes"),
    (2.0, "bridges.actors:pump_bridge_events"),
]
