"""Running backtests as jobs: results stored, reproducible, errors with Pine positions, cancel, limits."""

import pytest

from accounts.models import Plan
from accounts.services import PlanLimitExceeded
from backtests import services
from backtests.models import BacktestRun, BacktestTrade, RunStatus

from .factories import FAILING_STRATEGY, MA_CROSS_STRATEGY, strategy_version

pytestmark = pytest.mark.django_db


def test_a_backtest_job_stores_summary_trades_series_and_provenance(eurusd, trader, in_retail):
    version = strategy_version(trader)
    run = services.start_backtest(trader, version, symbol="FX:EURUSD", timeframe="60", enqueue=False)
    assert run.status == RunStatus.QUEUED and run.bars_total == 23054
    services.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.bars_done == run.bars_total == 23054
    assert len(run.data_hash) == 64 and run.engine_version.startswith("pine-runtime")
    assert run.result.trade_count == 194 == BacktestTrade.objects.filter(run=run).count()
    assert len(run.result.equity) == len(run.result.times) == 23054
    assert set(run.result.plots) == {"RSI"}
    assert run.result.summary["long"]["total_closed_trades"] + run.result.summary["short"]["total_closed_trades"] == 193
    first = BacktestTrade.objects.get(run=run, number=1)
    assert (first.direction, first.entry_signal, first.entry_price, first.exit_price) == ("long", "RsiLE", 1.13018, 1.13554)


def test_rerunning_the_same_inputs_reproduces_the_same_numbers(eurusd, trader, in_retail):
    version = strategy_version(trader, MA_CROSS_STRATEGY)
    runs = []
    for _ in range(2):
        run = services.start_backtest(trader, version, symbol="FX:EURUSD", timeframe="240", inputs={"fast": 8}, enqueue=False)
        services.execute_run(run.pk)
        run.refresh_from_db()
        runs.append(run)
    first, second = runs
    assert first.status == second.status == RunStatus.SUCCEEDED
    assert first.data_hash == second.data_hash
    assert first.result.summary == second.result.summary
    assert first.result.equity == second.result.equity
    fields = ("number", "entry_time", "entry_price", "exit_time", "exit_price", "quantity", "profit")
    assert list(BacktestTrade.objects.filter(run=first).values_list(*fields)) == list(
        BacktestTrade.objects.filter(run=second).values_list(*fields)
    )


def test_a_failing_script_marks_the_run_failed_with_its_pine_line(eurusd, trader, in_retail):
    version = strategy_version(trader, FAILING_STRATEGY)
    run = services.start_backtest(trader, version, symbol="FX:EURUSD", timeframe="60", enqueue=False)
    services.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error_line == 4
    assert "line 4" in run.error
    assert "array.get" in run.error_source_line


def test_cancelling_a_running_backtest_stops_it_at_the_next_progress_check(eurusd, trader, in_retail, monkeypatch):
    version = strategy_version(trader)
    run = services.start_backtest(trader, version, symbol="FX:EURUSD", timeframe="60", enqueue=False)
    pushed = []
    original_push = services._push

    def cancel_once_running(current):
        pushed.append((current.status, current.bars_done))
        if current.status == RunStatus.RUNNING and current.bars_done > 0 and not current.cancel_requested:
            services.request_cancel(current)
        original_push(current)

    monkeypatch.setattr(services, "_push", cancel_once_running)
    services.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert 0 < run.bars_done < run.bars_total
    assert not hasattr(run, "result") or not BacktestTrade.objects.filter(run=run).exists()


def test_cancelling_a_queued_backtest_cancels_it_before_it_starts(eurusd, trader, in_retail):
    run = services.start_backtest(trader, strategy_version(trader), symbol="FX:EURUSD", timeframe="60", enqueue=False)
    services.request_cancel(run)
    assert services.execute_run(run.pk) is None
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


def test_a_run_longer_than_the_plans_bar_limit_is_refused(eurusd, trader, in_retail):
    trader.plan = Plan.objects.get(code=Plan.Code.FREE)
    Plan.objects.filter(code=Plan.Code.FREE).update(max_backtest_bars=10_000)
    trader.plan.refresh_from_db()
    trader.save()
    with pytest.raises(PlanLimitExceeded, match="10000 backtest bars"):
        services.start_backtest(trader, strategy_version(trader), symbol="FX:EURUSD", timeframe="60", enqueue=False)
    assert not BacktestRun.objects.filter(owner=trader).exists()


def test_concurrent_backtests_beyond_the_plan_are_refused(eurusd, trader, in_retail):
    Plan.objects.filter(code=Plan.Code.PRO).update(max_concurrent_backtests=1)
    trader.refresh_from_db()
    version = strategy_version(trader)
    services.start_backtest(trader, version, symbol="FX:EURUSD", timeframe="60", enqueue=False)
    with pytest.raises(PlanLimitExceeded, match="concurrent backtests"):
        services.start_backtest(trader, version, symbol="FX:EURUSD", timeframe="60", enqueue=False)


def test_unknown_inputs_and_missing_data_are_refused_with_a_message(eurusd, trader, in_retail):
    version = strategy_version(trader)
    with pytest.raises(services.BacktestRequestError, match="Unknown input"):
        services.start_backtest(trader, version, symbol="FX:EURUSD", timeframe="60", inputs={"nope": 1}, enqueue=False)
    with pytest.raises(services.BacktestRequestError, match="No stored NASDAQ:NONE"):
        services.start_backtest(trader, version, symbol="NASDAQ:NONE", timeframe="60", enqueue=False)
    with pytest.raises(services.BacktestRequestError, match="must be"):
        services.start_backtest(trader, version, symbol="FX:EURUSD", timeframe="60", inputs={"length": 500}, enqueue=False)


def test_an_indicator_script_cannot_be_backtested(eurusd, trader, in_retail):
    version = strategy_version(trader, '//@version=6\nindicator("Just a line")\nplot(close)\n')
    with pytest.raises(services.BacktestRequestError, match=r"indicator\(\) script; only strategy\(\) scripts"):
        services.start_backtest(trader, version, symbol="FX:EURUSD", timeframe="60", enqueue=False)
