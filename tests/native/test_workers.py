"""Real processes: Dramatiq workers on the Redis broker run the deployment from the feed's trigger; one worker
is killed with SIGKILL mid-replay; the restarted system ends with the backtest's trades and no duplicate order."""

import json
import subprocess
import sys

import pytest
from django_tenants.utils import schema_context

from accounts.models import Organization
from execution.actors import housekeeping
from execution.models import AccountExecution, AuditEvent, Order
from execution.native.actors import catch_up
from execution.native.engine import DeploymentRunner
from execution.native.models import Deployment, DeploymentSignal
from execution.native.selectors import symbol_info_for
from execution.native.services import compiled_for
from fourpass.tasks import broker
from strategies.pine.runtime.engine import run_backtest
from tests.execution.workers import ROOT, process_env, start_worker, wait_until
from tests.native.factories import goog_bars_hourly
from tests.native.support import broker_orders, expected_orders

WARMUP, TOTAL = 100, 220


def run_scenario_module(module: str, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=process_env(),
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"scenario {args} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_a_worker_killed_mid_replay_loses_and_duplicates_nothing(monkeypatch):
    schema = Organization.objects.get(name="Alpha Capital").schema_name
    broker.flush_all()
    monkeypatch.setenv("dramatiq_worker_timeout", "100")  # idle consumers poll Redis every 100 ms, not 1 s
    scenario = run_scenario_module("tests.native.scenario", "setup", schema, str(WARMUP), str(TOTAL))
    workers = [start_worker("native-worker-a"), start_worker("native-worker-b")]
    middle = (WARMUP + TOTAL) // 2
    try:
        first = subprocess.run([sys.executable, "-m", "tests.native.scenario", "feed", schema,
                                str(scenario["series"]), str(WARMUP), str(middle), "0.05"],
                               cwd=ROOT, env=process_env(), capture_output=True, text=True, timeout=300)
        assert first.returncode == 0, first.stderr[-2000:]
        workers[0].kill_hard()  # SIGKILL while it is stepping / executing: unacknowledged messages
        workers[0] = start_worker("native-worker-c")
        second = subprocess.run([sys.executable, "-m", "tests.native.scenario", "feed", schema,
                                 str(scenario["series"]), str(middle), str(TOTAL), "0.05"],
                                cwd=ROOT, env=process_env(), capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr[-2000:]

        polls = iter(range(10**6))

        def finished() -> bool:
            if next(polls) % 10 == 9:  # what the scheduler does (its lock is shared by every checkout)
                catch_up.send()
                housekeeping.send()
            with schema_context(schema):
                deployment = Deployment.objects.get(pk=scenario["deployment"])
                return (deployment.bars_processed == TOTAL
                        and not DeploymentSignal.objects.filter(deployment=deployment, status="pending").exists()
                        and not AccountExecution.objects.filter(
                            signal__deployment_id=deployment.pk, status__in=["pending", "running"]).exists())

        def progress() -> str:
            with schema_context(schema):
                deployment = Deployment.objects.get(pk=scenario["deployment"])
                rows = DeploymentSignal.objects.filter(deployment=deployment)
                return (f"{deployment.status} {deployment.status_reason!r} bars {deployment.bars_processed}/{TOTAL}, "
                        f"outbox {list(rows.values_list('status', flat=True))}, executions "
                        f"{list(AccountExecution.objects.filter(signal__deployment_id=deployment.pk).values_list('status', flat=True))}"
                        f"\ncommands {[(r.bar_time.isoformat(), r.commands) for r in rows]}"
                        f"\naudit {list(AuditEvent.objects.filter(signal__deployment_id=deployment.pk).order_by('id').values_list('signal_id', 'stage', 'message'))}")

        assert wait_until(finished, timeout=400, interval=1), f"the deployment did not catch up: {progress()}"
        with schema_context(schema):
            deployment = Deployment.objects.select_related("series", "strategy_version").get(pk=scenario["deployment"])
            assert deployment.status == "running", deployment.status_reason
            rows = DeploymentSignal.objects.filter(deployment=deployment)
            assert rows.count() == len(set(rows.values_list("idempotency_key", flat=True)))
            assert not rows.exclude(status="dispatched").exists()
            assert broker_orders(deployment) == expected_orders(deployment)
            assert Order.objects.filter(execution__signal__deployment_id=deployment.pk).count() == \
                len(expected_orders(deployment))
            runner = DeploymentRunner.from_state(compiled_for(deployment), symbol_info_for(deployment.series), "60",
                                                 {}, bytes(deployment.state), deployment.book,
                                                 base=bytes(deployment.state_base))
            backtest = run_backtest(compiled_for(deployment), goog_bars_hourly(TOTAL),
                                    symbol_info_for(deployment.series), timeframe="60")
            assert [(t.entry_time, t.exit_time, t.qty) for t in runner.runner.result().trades] == \
                [(t.entry_time, t.exit_time, t.qty) for t in backtest.trades]
    except AssertionError:
        for process in workers:
            process.stop()
        workers = []
        raise  # the data stays for a post-mortem (the next run starts from fresh ids)
    else:
        run_scenario_module("tests.native.scenario", "cleanup", schema, str(scenario["owner"]))
    finally:
        for process in workers:
            process.stop()
