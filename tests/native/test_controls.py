"""Deploy checks, pause/resume, stop with flatten, kill switches, limits and position reconciliation."""

import dataclasses
import uuid
from decimal import Decimal

import pytest

from accounts.models import Organization, Plan
from accounts.services import PlanLimitExceeded, engage_kill_switch
from brokers.core.models import OrderRequest, Side
from brokers.core.symbols import parse_tradingview
from brokers.services import get_broker_service
from execution.native import services
from execution.native.models import DeploymentEvent, DeploymentSignal
from tests.native.conftest import settle
from tests.native.factories import (
    EVERY_BAR_STRATEGY,
    PERP,
    deploy,
    goog_bars_hourly,
    make_paper_account,
    make_series,
    make_version,
    route,
    store,
)
from tests.native.support import broker_orders


def _position(account) -> Decimal:
    return get_broker_service(account).position_quantity(parse_tradingview(PERP))


def _running(trader, **options):
    bars = goog_bars_hourly(120)
    series = make_series(bars=bars.slice(0, 60))
    account = make_paper_account(trader)
    deployment = deploy(trader, make_version(trader, EVERY_BAR_STRATEGY), series, [account], **options)
    return deployment, account, series, bars


def _next_bar(deployment, series, bars, index):
    store(series, bars.slice(index, index + 1))
    services.advance_deployment(deployment.pk)
    settle(deployment.pk)
    deployment.refresh_from_db()


def test_a_live_deployment_needs_an_explicit_confirmation(in_retail, trader):
    series = make_series(bars=goog_bars_hourly(30))
    live = make_paper_account(trader)
    live.is_live = True
    live.save(update_fields=["is_live"])
    spec = services.DeploymentSpec(name="live", strategy_version_id=make_version(trader).pk, series_id=series.pk,
                                   routes=(route(live),), mode="live")
    with pytest.raises(services.DeploymentError, match="confirm"):
        services.create_deployment(trader, spec, start=False)
    confirmed = dataclasses.replace(spec, confirm_live=True)
    assert services.create_deployment(trader, confirmed, start=False).mode == "live"


def test_a_plan_without_live_trading_cannot_deploy_live(in_retail, trader):
    trader.plan = Plan.objects.get(code=Plan.Code.FREE)
    trader.save(update_fields=["plan"])
    series = make_series(bars=goog_bars_hourly(30))
    live = make_paper_account(trader)
    live.is_live = True
    live.save(update_fields=["is_live"])
    spec = services.DeploymentSpec(name="live", strategy_version_id=make_version(trader).pk, series_id=series.pk,
                                   routes=(route(live),), mode="live", confirm_live=True)
    with pytest.raises(PlanLimitExceeded):
        services.create_deployment(trader, spec, start=False)


def test_a_paper_deployment_refuses_a_live_account(in_retail, trader):
    series = make_series(bars=goog_bars_hourly(30))
    live = make_paper_account(trader)
    live.is_live = True
    live.save(update_fields=["is_live"])
    spec = services.DeploymentSpec(name="p", strategy_version_id=make_version(trader).pk, series_id=series.pk,
                                   routes=(route(live),))
    with pytest.raises(services.DeploymentError, match="live"):
        services.create_deployment(trader, spec, start=False)


def test_concurrent_deployments_are_limited_by_the_plan(in_retail, trader):
    trader.plan = Plan.objects.get(code=Plan.Code.FREE)  # one native deployment
    trader.save(update_fields=["plan"])
    series = make_series(bars=goog_bars_hourly(30))
    account = make_paper_account(trader)
    version = make_version(trader)
    spec = services.DeploymentSpec(name="a", strategy_version_id=version.pk, series_id=series.pk,
                                   routes=(route(account),))
    services.create_deployment(trader, spec, start=False)
    with pytest.raises(PlanLimitExceeded):
        services.create_deployment(trader, spec, start=False)


def test_an_indicator_cannot_be_deployed(in_retail, trader):
    series = make_series(bars=goog_bars_hourly(30))
    version = make_version(trader, '//@version=6\nindicator("x")\nplot(close)\n')
    spec = services.DeploymentSpec(name="i", strategy_version_id=version.pk, series_id=series.pk,
                                   routes=(route(make_paper_account(trader)),))
    with pytest.raises(services.DeploymentError, match="indicator"):
        services.create_deployment(trader, spec, start=False)


def test_an_account_already_holding_the_symbol_pauses_the_start_until_the_user_decides(in_retail, trader):
    bars = goog_bars_hourly(80)
    series = make_series(bars=bars.slice(0, 60))
    account = make_paper_account(trader)
    get_broker_service(account).place_order(OrderRequest(symbol=parse_tradingview(PERP), side=Side.BUY,
                                                         quantity=Decimal(3), client_order_id=uuid.uuid4().hex[:20]))

    deployment = deploy(trader, make_version(trader, EVERY_BAR_STRATEGY), series, [account])

    assert deployment.status == "paused"
    assert "holds 3" in deployment.status_reason
    assert DeploymentEvent.objects.filter(deployment=deployment, kind="mismatch").exists()
    with pytest.raises(services.DeploymentError, match="mismatch"):
        services.resume_deployment(deployment, trader)
    services.resume_deployment(deployment, trader, adopt_positions=True)
    deployment.refresh_from_db()
    assert deployment.status == "running" and deployment.baseline == {str(account.pk): "3"}
    _next_bar(deployment, series, bars, 60)
    _next_bar(deployment, series, bars, 61)
    assert deployment.status == "running", deployment.status_reason


def test_a_position_changed_behind_the_deployment_pauses_it_without_correcting(in_retail, trader):
    deployment, account, series, bars = _running(trader)
    _next_bar(deployment, series, bars, 60)  # opens a long of 1
    assert _position(account) == 1
    get_broker_service(account).place_order(OrderRequest(symbol=parse_tradingview(PERP), side=Side.SELL,
                                                         quantity=Decimal(1), client_order_id=uuid.uuid4().hex[:20]))
    orders_before = len(broker_orders(deployment))

    _next_bar(deployment, series, bars, 61)

    assert deployment.status == "paused" and "mismatch" in deployment.status_reason
    assert len(broker_orders(deployment)) == orders_before  # nothing sent to "fix" it
    assert DeploymentSignal.objects.filter(deployment=deployment, status="skipped",
                                           reason__startswith="position mismatch").exists()


def test_pause_then_resume_skips_what_closed_meanwhile_as_stale(in_retail, trader):
    deployment, _account, series, bars = _running(trader)
    services.pause_deployment(deployment, trader)
    store(series, bars.slice(60, 64))
    services.advance_deployment(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.bars_processed == 60  # paused: no step

    services.resume_deployment(deployment, trader)
    services.advance_deployment(deployment.pk)
    settle(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.bars_processed == 64
    kinds = list(DeploymentEvent.objects.filter(deployment=deployment).values_list("kind", "actor"))
    assert ("paused", trader.pk) in kinds and ("resumed", trader.pk) in kinds


def test_stop_with_flatten_closes_the_traded_position_through_the_execution_core(in_retail, trader):
    deployment, account, series, bars = _running(trader)
    _next_bar(deployment, series, bars, 60)
    assert _position(account) == 1

    services.stop_deployment(deployment, trader, flatten=True)
    settle(deployment.pk)

    deployment.refresh_from_db()
    assert deployment.status == "stopped"
    assert _position(account) == 0
    assert broker_orders(deployment)[-1] == ("sell", Decimal(1))
    _next_bar(deployment, series, bars, 61)
    assert deployment.bars_processed == 61  # a stopped deployment does not step


@pytest.mark.parametrize("scope", ["user", "organisation"])
def test_the_kill_switch_pauses_the_deployment_and_sends_nothing(in_retail, trader, scope):
    deployment, _account, series, bars = _running(trader)
    if scope == "user":
        engage_kill_switch(user=trader)
    else:
        engage_kill_switch(organization=Organization.objects.get(schema_name=in_retail.schema_name))

    _next_bar(deployment, series, bars, 60)

    assert deployment.status == "paused" and "kill switch" in deployment.status_reason
    assert broker_orders(deployment) == []
    assert DeploymentEvent.objects.filter(deployment=deployment, kind="kill_switch").exists()
    with pytest.raises(services.DeploymentError, match="kill switch"):
        services.resume_deployment(deployment, trader)


def test_crossing_max_orders_per_day_stops_the_deployment(in_retail, trader):
    deployment, _account, series, bars = _running(trader, max_orders_per_day=2)
    for index in range(60, 63):
        _next_bar(deployment, series, bars, index)
    assert deployment.status == "stopped" and "max orders per day" in deployment.status_reason
    assert len(broker_orders(deployment)) == 2
    assert DeploymentEvent.objects.filter(deployment=deployment, kind="limit").exists()


def test_crossing_max_position_stops_the_deployment(in_retail, trader):
    deployment, _account, series, bars = _running(trader, max_position=Decimal("0.5"))
    _next_bar(deployment, series, bars, 60)
    assert deployment.status == "stopped" and "max position" in deployment.status_reason
    assert broker_orders(deployment) == []


def test_a_signal_waiting_for_the_previous_orders_goes_out_when_the_core_reports_them_settled(in_retail, trader):
    from tests.native.conftest import run_pending_executions

    deployment, _account, series, bars = _running(trader)
    store(series, bars.slice(60, 61))
    services.advance_deployment(deployment.pk)  # bar 60's signal is handed over; its order job has not run yet
    store(series, bars.slice(61, 62))
    result = services.advance_deployment(deployment.pk)
    waiting = DeploymentSignal.objects.get(deployment=deployment, sequence=2)
    assert result.dispatch_waiting and waiting.status == "pending"

    assert run_pending_executions() == 1  # the execution worker finishes bar 60's orders...
    services.on_signal_settled(deployment.pk)  # ...and tells the deployment (no poll needed)

    waiting.refresh_from_db()
    assert waiting.status == "dispatched"
    assert run_pending_executions() == 1


def test_the_execution_core_settles_the_deployment_when_the_last_account_finishes(
    in_retail, trader, django_capture_on_commit_callbacks
):
    from tests.native.conftest import run_pending_executions

    deployment, _account, series, bars = _running(trader)
    store(series, bars.slice(60, 61))
    services.advance_deployment(deployment.pk)
    store(series, bars.slice(61, 62))
    services.advance_deployment(deployment.pk)
    waiting = DeploymentSignal.objects.get(deployment=deployment, sequence=2)
    assert waiting.status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        assert run_pending_executions() == 1  # bar 60's order: the core's hook hands over bar 61's signal

    waiting.refresh_from_db()
    assert waiting.status == "dispatched"


def test_a_step_job_places_its_order_itself_without_waiting_for_an_execution_worker(in_retail, trader):
    from execution.models import AccountExecution, Order
    from execution.native.actors import step_deployment_job

    deployment, _account, series, bars = _running(trader)
    store(series, bars.slice(60, 61))

    step_deployment_job.fn.__wrapped__(deployment.pk)  # the actor's body (its wrapper recycles DB connections)

    execution = AccountExecution.objects.get(signal__deployment_id=deployment.pk)
    assert execution.status == "done"
    assert Order.objects.filter(execution=execution).exclude(state="new").count() == 1
