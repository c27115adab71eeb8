"""A worker that dies mid-run leaves its backtest failed (lease expired), never stuck "running"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backtests import services
from backtests.actors import fail_stale_backtests
from backtests.models import BacktestRun, RunStatus
from backtests.schedule import PERIODIC
from fourpass.scheduler import discover_jobs

from .factories import strategy_version

pytestmark = pytest.mark.django_db


def running_run(trader, heartbeat_age_s: float) -> BacktestRun:
    run = services.start_backtest(trader, strategy_version(trader), symbol="FX:EURUSD", timeframe="60", enqueue=False)
    BacktestRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(seconds=heartbeat_age_s + 5),
        heartbeat_at=timezone.now() - timedelta(seconds=heartbeat_age_s), worker="dead-host:4242", bars_done=2048,
    )
    return run


def test_a_run_whose_worker_stopped_heart_beating_is_marked_failed(eurusd, trader, in_retail):
    stale = running_run(trader, services.LEASE_SECONDS + 30)
    alive = running_run(trader, 5)
    assert services.fail_stale_runs() == [stale.pk]
    stale.refresh_from_db()
    alive.refresh_from_db()
    assert stale.status == RunStatus.FAILED and "stopped responding" in stale.error and stale.finished_at
    assert alive.status == RunStatus.RUNNING


def test_the_periodic_sweeper_checks_every_tenant_schema(eurusd, trader, in_retail):
    stale = running_run(trader, services.LEASE_SECONDS + 30)
    failed = services.fail_stale_runs_in_every_schema()
    assert failed["retail"] == [stale.pk] and failed["org_alpha_capital"] == []
    stale.refresh_from_db()
    assert stale.status == RunStatus.FAILED
    assert fail_stale_backtests.actor_name == "fail_stale_backtests"


def test_the_sweeper_is_scheduled():
    assert (30, "backtests.actors:fail_stale_backtests") in PERIODIC
    assert "backtests.actors:fail_stale_backtests" in [job.target for job in discover_jobs()]


def test_a_worker_that_lost_its_lease_does_not_overwrite_the_failure(eurusd, trader, in_retail, monkeypatch):
    """The crashed worker comes back (e.g. after a long GC pause): its late result must not resurrect the run."""
    run = services.start_backtest(trader, strategy_version(trader), symbol="FX:EURUSD", timeframe="60", enqueue=False)
    original_push = services._push

    def sweeper_runs_meanwhile(current):
        if current.status == RunStatus.RUNNING and current.bars_done > 0:
            BacktestRun.objects.filter(pk=current.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
            services.fail_stale_runs()
        original_push(current)

    monkeypatch.setattr(services, "_push", sweeper_runs_meanwhile)
    services.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "stopped responding" in run.error
    assert not hasattr(run, "result")
