"""A starting worker restores the running deployments' runners before it takes the first bar's steps."""

from execution.native import services
from tests.native.factories import (
    EVERY_BAR_STRATEGY,
    deploy,
    goog_bars_hourly,
    make_paper_account,
    make_series,
    make_version,
    store,
)


def test_the_first_step_after_a_worker_start_uses_the_runner_restored_at_start(in_retail, trader):
    bars = goog_bars_hourly(61)
    series = make_series(bars=bars.slice(0, 60))
    deployment = deploy(trader, make_version(trader, EVERY_BAR_STRATEGY), series, [make_paper_account(trader)])
    services.forget_runners()  # a new worker process: nothing in memory

    assert services.restore_runners() >= 1
    restored = services._RUNNERS[("retail", deployment.pk)]
    store(series, bars.slice(60, 61))
    result = services.advance_deployment(deployment.pk)

    assert result.bars == 1
    assert services._RUNNERS[("retail", deployment.pk)] is restored
    assert restored.last_time_ms == bars.time_ms[60]


def test_a_paused_deployment_is_not_restored_at_worker_start(in_retail, trader):
    series = make_series(bars=goog_bars_hourly(60))
    deployment = deploy(trader, make_version(trader, EVERY_BAR_STRATEGY), series, [make_paper_account(trader)])
    services.pause_deployment(deployment, trader)
    services.forget_runners()

    services.restore_runners()

    assert ("retail", deployment.pk) not in services._RUNNERS
