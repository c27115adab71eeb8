"""CPU per stage of one native deployment-bar, in process (no workers, no wall clock).

Sets up N deployments the way ``benchmarks/native_runner.py`` does (same database, same strategy), then for each
round stores one bar per series and runs, in this process, what a worker's step job does for each deployment:
``advance_deployment`` (lock, locked read, runner restore or cached runner, step, state save, outbox, dispatch) and
``execute_now`` (the per-account order job). Every stage is timed inclusively with ``time.process_time`` (this
process only) and the Django queries it ran are counted; the PostgreSQL backend's CPU is read from /proc.

    .venv/bin/python benchmarks/native_step_profile.py [--deployments 20] [--rounds 6] [--restore half|always|never]

``--restore``: ``always`` drops the in-memory runners before every step (each step restores from the saved
state, the worst case), ``never`` keeps them (one worker process), ``half`` drops them every other round (what
two worker processes sharing the steps look like on average). ``--cprofile FILE`` writes a profile of the rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0, 0])  # stage -> [cpu s, calls, queries]
_queries = [0]


def _count_queries(execute, sql, params, many, context):
    _queries[0] += 1
    return execute(sql, params, many, context)


def _timed(owner, name: str, label: str) -> None:
    original = getattr(owner, name)
    is_static = isinstance(owner.__dict__.get(name), staticmethod | classmethod)
    raw = owner.__dict__.get(name)
    func = raw.__func__ if is_static else original

    def wrapper(*args, **kwargs):
        cpu, queries = time.process_time(), _queries[0]
        try:
            return func(*args, **kwargs)
        finally:
            entry = _totals[label]
            entry[0] += time.process_time() - cpu
            entry[1] += 1
            entry[2] += _queries[0] - queries

    if isinstance(raw, classmethod):
        setattr(owner, name, classmethod(wrapper))
    elif isinstance(raw, staticmethod):
        setattr(owner, name, staticmethod(wrapper))
    else:
        setattr(owner, name, wrapper)


def _instrument() -> None:
    from execution import services as execution_services
    from execution.native import engine, services
    from strategies.pine.runtime import engine as runtime_engine
    from strategies.pine.runtime.broker import StrategyEmulator
    from strategies.pine.runtime.evaluator import Script

    stages = [
        (services, "_Lock", None),
        (services, "_advance_one_atomic", "step transaction (all of 1.)"),
        (services.selectors, "bar_rows_after", "  bars read"),
        (services, "_runner_for", "  runner for (cache or restore)"),
        (engine.DeploymentRunner, "from_state", "    restore (from_state)"),
        (runtime_engine.Runner, "__init__", "      Runner() fresh objects"),
        (runtime_engine.pickle, "loads", "      pickle.loads (all)"),
        (engine.DeploymentRunner, "step", "  DeploymentRunner.step"),
        (runtime_engine.Runner, "step", "    Runner.step"),
        (StrategyEmulator, "process_bar", "      emulator.process_bar (incl. shadow)"),
        (Script, "run_bar", "      script.run_bar"),
        (StrategyEmulator, "after_script", "      emulator.after_script"),
        (engine.DeploymentRunner, "_predict_open_fills", "    predict open fills (shadow copy)"),
        (engine.DeploymentRunner, "trim", "    trim"),
        (services, "_record_events", "  notes/alerts events"),
        (services, "_outbox", "  outbox row + signal event"),
        (services, "kill_switch_reason", "    kill switch read"),
        (services, "record_event", "    record_event"),
        (services, "_save_runner", "  save runner (state encode)"),
        (engine.DeploymentRunner, "get_state", "    get_state (pickle+zlib)"),
        (services.Deployment, "save", "  Deployment.save (UPDATE)"),
        (services, "_push_status", "  push status (schedule)"),
        (services, "_push_event", "on-commit event push (render)"),
        (services, "_dispatch", "dispatch (2.)"),
        (services, "_send_row", "  send row"),
        (services, "reconcile", "    reconcile (broker position)"),
        (execution_services, "submit_signal", "    submit_signal"),
        (services, "execute_now", "execute_now (order job)"),
        (execution_services, "execute_account", "  execute_account"),
    ]
    for owner, name, label in stages:
        if label is not None:
            _timed(owner, name, label)
    import fourpass.realtime as realtime

    _timed(realtime, "push_to_user", "push_to_user")
    _timed(services, "render_to_string", "render_to_string (native pushes)")
    return [label for _, _, label in stages if label] + ["push_to_user", "render_to_string (native pushes)"]


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--restore", choices=("half", "always", "never"), default="half")
    parser.add_argument("--cprofile", default="")
    parser.add_argument("--trace", default="", help="write libpq's protocol trace of the last deployment-bar here")
    args = parser.parse_args()

    from benchmarks import native_runner

    native_runner._prepare()
    import datetime as dt

    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    from backtests.marketdata.services import Bar, upsert_bars
    from execution.native import services
    from execution.services import jobs_run_by_caller

    series_list, ids, start, closes = native_runner._setup(args.deployments, args.warmup)
    from benchmarks.production import vacuum_analyze

    vacuum_analyze(os.environ["DATABASE_URL"])
    labels = _instrument()
    profiler = cProfile.Profile(time.process_time) if args.cprofile else None
    cpu_total = 0.0
    pg_total = 0.0
    steps = 0
    with schema_context("retail"), connection.execute_wrapper(_count_queries):
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        for round_number in range(args.rounds):
            index = args.warmup + round_number
            for series in series_list:
                price = float(closes[index])
                with transaction.atomic():
                    upsert_bars(series, [Bar(dt.datetime.fromtimestamp((start + index * native_runner.HOUR_MS) / 1000,
                                                                       tz=dt.UTC), price, price, price, price, 1.0)])
            measured = round_number > 0  # the first round warms this process's caches (compile, templates)
            if measured:
                _totals.clear()
                _queries[0] = 0
            drop = args.restore == "always" or (args.restore == "half" and round_number % 2 == 1)
            pg0 = _backend_cpu(backend)
            cpu0 = time.process_time()
            if profiler is not None and measured:
                profiler.enable()
            if drop:  # as if this round's steps had landed on another worker process than the last round's
                services._RUNNERS.clear()
            for deployment_id in ids:
                tracing = args.trace and round_number == args.rounds - 1 and deployment_id == ids[-1]
                if tracing:
                    trace_file = open(args.trace, "w")
                    connection.connection.pgconn.trace(trace_file.fileno())
                with jobs_run_by_caller():
                    result = services.advance_deployment(deployment_id)
                if result.signal_records:
                    services.execute_now(result.signal_records)
                if tracing:
                    connection.connection.pgconn.untrace()
                    trace_file.close()
                assert result.bars == 1, result
            if profiler is not None and measured:
                profiler.disable()
            if measured:
                cpu_total += time.process_time() - cpu0
                pg_total += _backend_cpu(backend) - pg0
                steps += len(ids)
                for label, (cpu, calls, queries) in _totals.items():
                    keep = _sums.setdefault(label, [0.0, 0, 0])
                    keep[0] += cpu
                    keep[1] += calls
                    keep[2] += queries
    print(f"{args.deployments} deployments x {args.rounds - 1} measured rounds, restore={args.restore}: "
          f"{steps} deployment-bars")
    print(f"python CPU per deployment-bar: {cpu_total * 1000 / steps:.2f} ms; "
          f"PostgreSQL backend CPU: {pg_total * 1000 / steps:.2f} ms")
    print(f"{'stage':48} {'ms/bar':>8} {'calls/bar':>10} {'queries/bar':>12}")
    for label in labels:
        if label in _sums:
            cpu, calls, queries = _sums[label]
            print(f"{label:48} {cpu * 1000 / steps:8.2f} {calls / steps:10.2f} {queries / steps:12.2f}")
    if profiler is not None:
        profiler.dump_stats(args.cprofile)


_sums: dict[str, list] = {}

if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
