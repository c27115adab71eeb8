"""Replay helpers shared by the native tests: play bars into a deployment the way the workers would."""

from __future__ import annotations

from decimal import Decimal

from execution.models import Order
from execution.native import services
from execution.native.feeds.replay import ReplayFeed
from execution.native.models import Deployment, DeploymentSignal
from tests.native.conftest import settle


class WorkerKilled(BaseException):
    """Raised by the fault hook: the worker died at that point (BaseException: nothing catches it)."""


def replay(deployment: Deployment, feed: ReplayFeed, *, crash_at=None) -> int:
    """Store each bar, step the deployment, run the execution jobs. ``crash_at(point) -> bool`` kills the
    "worker" at a fault point; the next round restarts it (runners forgotten) and carries on. Returns crashes."""
    crashes = 0

    def hook(point: str) -> None:
        if crash_at is not None and crash_at(point):
            raise WorkerKilled(point)

    services.fault_hook = hook
    try:
        while feed.remaining:
            feed.poll()
            while True:
                try:
                    services.advance_deployment(deployment.pk)
                    settle(deployment.pk)  # the execution workers, and signals that waited for them
                    break
                except WorkerKilled:
                    crashes += 1
                    services.forget_runners()  # a new worker process: nothing in memory
    finally:
        services.fault_hook = None
    return crashes


def expected_orders(deployment: Deployment) -> list[tuple[str, Decimal]]:
    """(side, quantity) of every command the deployment dispatched, in order."""
    out = []
    for row in DeploymentSignal.objects.filter(deployment=deployment, status=DeploymentSignal.Status.DISPATCHED
                                               ).order_by("sequence"):
        for command in row.commands:
            before, after = Decimal(command["position_before"]), Decimal(command["position_after"])
            if command["action"] == "exit":
                out.append(("sell" if before > 0 else "buy", abs(before - after)))
            else:
                out.append((command["action"], Decimal(command["quantity"])))
    return out


def broker_orders(deployment: Deployment) -> list[tuple[str, Decimal]]:
    orders = Order.objects.filter(execution__signal__deployment_id=deployment.pk).order_by("created_at", "id")
    return [(o.side, o.quantity.normalize()) for o in orders]
