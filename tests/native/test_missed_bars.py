"""Bars that closed while the runner was down are processed in order; stale signals are skipped with a reason
by default, or traded when the user chose to catch up."""

import itertools

from execution.models import Order
from execution.native import services
from execution.native.models import DeploymentEvent, DeploymentSignal
from tests.native.conftest import settle
from tests.native.factories import (
    EVERY_BAR_STRATEGY,
    deploy,
    goog_bars_hourly,
    make_paper_account,
    make_series,
    make_version,
    store,
)
from tests.native.support import broker_orders, expected_orders


def _deployment_behind_by(trader, missed: int, **options):
    bars = goog_bars_hourly(60 + missed)
    series = make_series(bars=bars.slice(0, 60))
    deployment = deploy(trader, make_version(trader, EVERY_BAR_STRATEGY), series, [make_paper_account(trader)],
                        **options)
    store(series, bars.slice(60, 60 + missed))  # the worker was down while these closed
    return deployment, bars


def test_missed_bars_are_processed_in_order_and_stale_signals_skipped_with_a_reason(in_retail, trader):
    deployment, bars = _deployment_behind_by(trader, 6)

    result = services.advance_deployment(deployment.pk)
    settle(deployment.pk)

    deployment.refresh_from_db()
    assert result.bars == 6
    assert deployment.bars_processed == 66
    assert deployment.last_bar_time.timestamp() * 1000 == bars.time_ms[-1]
    rows = list(DeploymentSignal.objects.filter(deployment=deployment).order_by("sequence"))
    # entries on bars 60 and 62 (5 and 3 newer bars closed already) are stale: skipped, so the closes of
    # bars 61 and 63 have nothing to close; the entry of bar 64 (one bar old) and the close of 65 are traded
    assert [r.bar_time.timestamp() * 1000 for r in rows] == [bars.time_ms[i] for i in (60, 62, 64, 65)]
    assert [r.status for r in rows] == ["skipped", "skipped", "dispatched", "dispatched"]
    assert all(r.reason.startswith("stale: ") for r in rows[:2])
    assert DeploymentEvent.objects.filter(deployment=deployment, kind="catch_up").exists()
    assert broker_orders(deployment) == expected_orders(deployment)
    # the account holds exactly what the dispatched signals asked for
    assert deployment.status == "running"


def test_catch_up_policy_trades_every_missed_signal_in_order(in_retail, trader):
    deployment, bars = _deployment_behind_by(trader, 5, stale_policy="trade")

    services.advance_deployment(deployment.pk)
    settle(deployment.pk)  # each signal waits until the orders of the one before are done at the broker

    rows = list(DeploymentSignal.objects.filter(deployment=deployment).order_by("sequence"))
    assert [r.bar_time.timestamp() * 1000 for r in rows] == list(bars.time_ms[60:65])  # one per bar, in order
    assert [r.status for r in rows] == ["dispatched"] * 5
    assert broker_orders(deployment) == expected_orders(deployment)
    assert Order.objects.filter(execution__signal__deployment_id=deployment.pk).count() == 5
    # alternate buy / close: the sides alternate in bar order
    sides = [side for side, _ in broker_orders(deployment)]
    assert all(a != b for a, b in itertools.pairwise(sides))


def test_a_skipped_stale_entry_leaves_the_traded_position_unchanged(in_retail, trader):
    deployment, _ = _deployment_behind_by(trader, 4)

    services.advance_deployment(deployment.pk)
    settle(deployment.pk)
    deployment.refresh_from_db()

    traded = sum((q if side == "buy" else -q for side, q in broker_orders(deployment)), 0)
    assert deployment.traded_position == traded
