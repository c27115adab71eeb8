"""A small periodic scheduler: enqueues Dramatiq actors at fixed intervals.

Apps declare jobs in `<app>/schedule.py` as `PERIODIC = [(seconds, "module.path:actor_name"), ...]`.
Only one scheduler process runs; a Redis lock keeps a second one from double-enqueueing.
"""

import importlib
import logging
import time
from dataclasses import dataclass

from django.apps import apps

logger = logging.getLogger(__name__)

CORE_JOBS: list[tuple[float, str]] = [(10.0, "fourpass.actors:worker_heartbeat")]


@dataclass
class PeriodicJob:
    interval_s: float
    target: str
    next_run: float = 0.0

    def actor(self):
        module_name, actor_name = self.target.split(":")
        return getattr(importlib.import_module(module_name), actor_name)


def discover_jobs() -> list[PeriodicJob]:
    declared = list(CORE_JOBS)
    for app_config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{app_config.name}.schedule")
        except ModuleNotFoundError as missing:
            if missing.name != f"{app_config.name}.schedule":
                raise
            continue
        declared.extend(getattr(module, "PERIODIC", []))
    return [PeriodicJob(float(interval), target) for interval, target in declared]


def run_forever(stop_after_s: float | None = None) -> None:
    from django.conf import settings

    import fourpass.tasks  # noqa: F401  (installs the broker)
    from fourpass.health import redis_client

    client = redis_client()
    # One scheduler per Dramatiq namespace: apps that share a Redis (dev, tests, worktrees) keep apart.
    lock = client.lock(f"{settings.DRAMATIQ_NAMESPACE}:scheduler:lock", timeout=30, blocking_timeout=60)
    if not lock.acquire():
        raise RuntimeError("another scheduler holds the lock")
    jobs = discover_jobs()
    logger.info("scheduler running %d jobs: %s", len(jobs), ", ".join(j.target for j in jobs))
    started = time.monotonic()
    try:
        while stop_after_s is None or time.monotonic() - started < stop_after_s:
            now = time.monotonic()
            for job in jobs:
                if now >= job.next_run:
                    job.actor().send()
                    job.next_run = now + job.interval_s
            lock.extend(30, replace_ttl=True)
            time.sleep(1.0)
    finally:
        lock.release()
