"""Native runner latency: from a new bar stored to the broker orders submitted, for N concurrent deployments.

Each round stores one new closed bar on each of the N market series (one deployment per series, a strategy
that trades on every bar, each on its own paper account), triggers the runners the way the feeds do
(``services.on_bars_stored`` -> one Dramatiq step message per deployment on the Redis broker), and real
``dramatiq fourpass.worker`` processes do the rest: runner step + state + outbox commit, dispatch to the
execution core, per-account execution job, paper order. Latency per deployment and bar = time of the order's
"submitted" state change minus the moment the bar was committed.

    .venv/bin/python benchmarks/native_runner.py [--deployments 50] [--rounds 10] [--processes 2] [--threads 8]

It uses its own database (``BENCH_DATABASE_URL``, default postgres://postgres@127.0.0.1:5432/fourpass_bench_<checkout>)
and its own Dramatiq namespace; both are created on first use.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVERY_BAR = """//@version=6
strategy("Every bar", overlay=true, default_qty_type=strategy.fixed, default_qty_value=1)
if bar_index % 2 == 0
    strategy.entry("L", strategy.long)
else
    strategy.close("L")
"""
HOUR_MS = 3_600_000


def _prepare() -> dict[str, str]:
    checkout = "".join(c if c.isalnum() else "_" for c in ROOT.name.lower())
    url = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/fourpass_bench_{checkout}")
    # dramatiq_worker_timeout: the consumers' idle long-poll ceiling (default 1,000 ms per hop) bounds latency
    env = {"DATABASE_URL": url, "DRAMATIQ_NAMESPACE": f"fourpass-bench-{checkout}",
           "dramatiq_worker_timeout": os.environ.get("dramatiq_worker_timeout", "100"),
           "DJANGO_SETTINGS_MODULE": "fourpass.settings", "LOG_LEVEL": "WARNING"}
    from benchmarks.production import PRODUCTION_SETTINGS

    env.update(PRODUCTION_SETTINGS)
    os.environ.update(env)
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    from accounts import services as account_services

    call_command("migrate_schemas", "--shared", verbosity=0)
    account_services.ensure_plans()
    account_services.ensure_public_tenant()
    retail = account_services.ensure_retail_tenant()
    call_command("migrate_schemas", "--schema", retail.schema_name, verbosity=0)
    return env


def _setup(count: int, warmup: int):
    from backtesting.test import GOOG
    from django_tenants.utils import schema_context

    from accounts.models import Plan, User
    from backtests.marketdata.models import MarketSeries, OHLCVBar
    from backtests.marketdata.services import Bar, upsert_bars
    from brokers.models import BrokerAccount
    from brokers.services import create_broker_account
    from execution.native import services
    from execution.native.models import Deployment
    from execution.signals import AccountRoute
    from strategies.models import Strategy, StrategyVersion

    start = int(dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)
    closes = [float(c) for c in GOOG.Close]
    with schema_context("retail"):
        user, _ = User.objects.get_or_create(email="native-bench@4pass.local",
                                             defaults={"username": "native-bench@4pass.local"})
        user.plan = Plan.objects.get(code=Plan.Code.ENTERPRISE)
        user.kill_switch_engaged = False
        user.save()
        Deployment.objects.filter(owner=user).delete()
        BrokerAccount.objects.filter(owner=user).delete()
        Strategy.objects.filter(owner=user).delete()
        MarketSeries.objects.filter(symbol__startswith="BINANCE:BENCH").delete()
        strategy = Strategy.objects.create(owner=user, name="bench every bar")
        version = StrategyVersion.objects.create(strategy=strategy, number=1, source=EVERY_BAR)
        series_list, ids = [], []
        for n in range(count):
            series = MarketSeries.objects.create(symbol=f"BINANCE:BENCH{n}USDT.P", timeframe="60", source="bench")
            upsert_bars(series, [Bar(dt.datetime.fromtimestamp((start + i * HOUR_MS) / 1000, tz=dt.UTC),
                                     closes[i], closes[i], closes[i], closes[i], 1.0) for i in range(warmup)])
            account = create_broker_account(user, name=f"bench {n}", kind="paper", market_type="perp",
                                            validate=False)
            spec = services.DeploymentSpec(name=f"bench {n}", strategy_version_id=version.pk, series_id=series.pk,
                                           routes=(AccountRoute(account_id=account.pk),), warmup_bars=warmup)
            deployment = services.create_deployment(user, spec, start=False)
            services.start_deployment(deployment.pk)
            series_list.append(series)
            ids.append(deployment.pk)
        assert OHLCVBar.objects.filter(series__in=series_list).count() == count * warmup
        assert Deployment.objects.filter(pk__in=ids, status="running").count() == count
    return series_list, ids, start, closes


def _workers(env: dict[str, str], processes: int, threads: int) -> subprocess.Popen:
    command = [str(ROOT / ".venv" / "bin" / "dramatiq"), "fourpass.worker", "--processes", str(processes),
               "--threads", str(threads)]
    return subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, **env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (the dramatiq master and its workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ..., utime (12), stime (13)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    env = _prepare()
    from django.db import transaction
    from django_tenants.utils import schema_context

    from backtests.marketdata.services import Bar, upsert_bars
    from execution.models import OrderEvent
    from execution.native import services
    from execution.native.models import Deployment
    from fourpass.tasks import broker

    t_setup = time.perf_counter()
    series_list, ids, start, closes = _setup(args.deployments, args.warmup)
    from benchmarks.production import vacuum_analyze

    vacuum_analyze(env["DATABASE_URL"])
    print(f"set-up: {args.deployments} deployments warmed up on {args.warmup} bars in "
          f"{time.perf_counter() - t_setup:.1f}s")
    import execution.actors
    import execution.native.actors  # noqa: F401  (declares the queues flushed below)

    for queue in broker.get_declared_queues():
        broker.flush(queue)
    workers = _workers(env, args.processes, args.threads)
    time.sleep(15)  # worker boot
    latencies: list[float] = []
    worker_cpu_ms = None  # worker processes' CPU per deployment and bar, rounds 2+ (independent of other load)
    step_latencies: list[float] = []
    phase_latencies: dict[str, list[float]] = {}
    round_p99: list[float] = []
    steady: list[float] = []  # order latencies after the first round (workers' caches warm)
    try:
        for round_number in range(args.rounds):
            index = args.warmup + round_number
            if round_number == 1:
                cpu_start = _group_cpu_seconds(workers.pid)
            stored_at = {}
            for series in series_list:
                price = float(closes[index])
                with transaction.atomic():
                    upsert_bars(series, [Bar(dt.datetime.fromtimestamp((start + index * HOUR_MS) / 1000, tz=dt.UTC),
                                             price, price, price, price, 1.0)])
                stored_at[series.pk] = dt.datetime.now(dt.UTC)
                services.on_bars_stored(series.pk)  # what a feed does after each commit
            expected_time = dt.datetime.fromtimestamp((start + index * HOUR_MS) / 1000, tz=dt.UTC)
            deadline = time.time() + 120
            with schema_context("retail"):
                while time.time() < deadline:
                    done = Deployment.objects.filter(pk__in=ids, last_bar_time=expected_time).count()
                    submitted = OrderEvent.objects.filter(
                        to_state="submitted", order__execution__signal__deployment_id__in=ids,
                        order__execution__signal__payload__signal_time=expected_time.isoformat()).count()
                    if done == len(ids) and submitted == len(ids):
                        break
                    time.sleep(0.05)
                rows = list(OrderEvent.objects.filter(
                    to_state="submitted", order__execution__signal__deployment_id__in=ids,
                    order__execution__signal__payload__signal_time=expected_time.isoformat()).values_list(
                    "at", "order__execution__signal__deployment_id"))
                by_deployment = dict(Deployment.objects.filter(pk__in=ids).values_list("pk", "series_id"))
                from execution.native.models import DeploymentSignal

                outbox = dict(DeploymentSignal.objects.filter(deployment_id__in=ids, bar_time=expected_time)
                              .values_list("deployment_id", "created_at"))
                # where the time goes: signal recorded (dispatch), order row created (execution job started)
                from execution.models import Order, SignalRecord

                phases = {
                    "dispatched": dict(SignalRecord.objects.filter(
                        deployment_id__in=ids, payload__signal_time=expected_time.isoformat()).values_list(
                        "deployment_id", "created_at")),
                    "order row": dict(Order.objects.filter(
                        execution__signal__deployment_id__in=ids,
                        execution__signal__payload__signal_time=expected_time.isoformat()).values_list(
                        "execution__signal__deployment_id", "created_at")),
                }
            for at, deployment_id in rows:
                if round_number:
                    steady.append((at - stored_at[by_deployment[deployment_id]]).total_seconds() * 1000)
                latencies.append((at - stored_at[by_deployment[deployment_id]]).total_seconds() * 1000)
            for phase, moments in phases.items():
                phase_latencies.setdefault(phase, []).extend(
                    (at - stored_at[by_deployment[deployment_id]]).total_seconds() * 1000
                    for deployment_id, at in moments.items())
            round_p99.append(max(((at - stored_at[by_deployment[d]]).total_seconds() * 1000 for at, d in rows),
                                 default=0))
            for deployment_id, created in outbox.items():
                step_latencies.append((created - stored_at[by_deployment[deployment_id]]).total_seconds() * 1000)
            print(f"round {round_number + 1}: {len(rows)}/{len(ids)} orders submitted", flush=True)
            if round_number == args.rounds - 1 and round_number >= 1:
                worker_cpu_ms = (_group_cpu_seconds(workers.pid) - cpu_start) * 1000 / (len(ids) * round_number)
            time.sleep(1)
    finally:
        os.killpg(workers.pid, signal.SIGTERM)
        try:
            workers.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(workers.pid, signal.SIGKILL)

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f}; workers: {args.processes} processes x "
          f"{args.threads} threads")
    if worker_cpu_ms is not None:
        print(f"worker CPU per deployment and bar (rounds 2+, step + dispatch + execution job): {worker_cpu_ms:.1f} ms")
    print("slowest order per round (ms):", " ".join(f"{v:.0f}" for v in round_p99))
    if steady:
        print(f"  rounds 2+: bar stored -> order submitted p50={statistics.median(steady):.0f} ms "
              f"p99={pct(steady, 99):.0f} ms")
    for phase, values in phase_latencies.items():
        print(f"  bar stored -> {phase}: p50={statistics.median(values):.0f} ms p99={pct(values, 99):.0f} ms")
    for label, values in (("bar stored -> outbox committed (runner step)", step_latencies),
                          ("bar stored -> order submitted to the broker", latencies)):
        if not values:
            print(f"{label}: no samples")
            continue
        print(f"{label}: n={len(values)} p50={statistics.median(values):.0f} ms p90={pct(values, 90):.0f} ms "
              f"p99={pct(values, 99):.0f} ms max={max(values):.0f} ms (goal p99 <= 500 ms)")


if __name__ == "__main__":
    main()
