"""End-to-end backtest of 100,000 bars from the database: load (SQL) + run (Pine runtime) + store results.

Uses its own throw-away PostgreSQL database. Runs the job body (`backtests.services.execute_run`) the way the
Dramatiq worker does, on an MA-cross strategy over a synthetic 1-minute random walk, and prints seconds per
phase and in total (goal <= 5 s).

    .venv/bin/python benchmarks/backtest_e2e.py [--bars 100000] [--timeframe 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROFILE = False
STRATEGY = """//@version=6
strategy("MA cross", overlay=true, initial_capital=100000, default_qty_type=strategy.percent_of_equity, default_qty_value=10)
fast = input.int(10, "Fast", minval=2)
slow = input.int(30, "Slow", minval=5)
fastMA = ta.sma(close, fast)
slowMA = ta.sma(close, slow)
if ta.crossover(fastMA, slowMA)
    strategy.entry("Long", strategy.long)
if ta.crossunder(fastMA, slowMA)
    strategy.entry("Short", strategy.short)
plot(fastMA, "Fast")
plot(slowMA, "Slow")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--timeframe", default="1", help="stored timeframe is 1 minute; e.g. 5 to resample")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    import psycopg

    dbname = f"fourpass_bench_e2e_{os.getpid()}"
    base = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    os.environ["DATABASE_URL"] = f"{base}/{dbname}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
    try:
        run(args.bars, args.timeframe)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def run(count: int, timeframe: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", "--shared", "--executor=standard", verbosity=0)
    from django_tenants.utils import schema_context

    from accounts import services as account_services
    from accounts.models import Membership, Plan, User
    from backtests import services
    from backtests.marketdata.services import BarArrays, get_or_create_series, upsert_arrays
    from strategies.models import Strategy
    from strategies.services import save_version

    plans = account_services.ensure_plans()
    account_services.ensure_public_tenant()
    retail = account_services.ensure_retail_tenant()
    user = User.objects.create(username="bench@example.com", email="bench@example.com", plan=plans[Plan.Code.ENTERPRISE])
    account_services.add_member(retail, user, Membership.Role.OWNER)

    rng = np.random.default_rng(11)
    times = 1_640_995_200_000 + np.arange(count, dtype=np.int64) * 60_000
    close = 20_000 + np.cumsum(rng.normal(0, 4, count))
    open_ = np.concatenate([[20_000.0], close[:-1]])
    high = np.maximum(open_, close) + rng.uniform(0, 2, count)
    low = np.minimum(open_, close) - rng.uniform(0, 2, count)
    series = get_or_create_series("BENCH:BTCUSD", "1", mintick="0.01", asset_type="crypto")
    upsert_arrays(series, BarArrays(times, open_, high, low, close, rng.uniform(0, 5, count)))

    with schema_context(retail.schema_name):
        strategy = Strategy.objects.create(owner=user, name="bench")
        version = save_version(strategy, STRATEGY)
        for attempt in range(2):
            queued = services.start_backtest(user, version, symbol="BENCH:BTCUSD", timeframe=timeframe, enqueue=False)
            started = time.perf_counter()
            if PROFILE and attempt == 1:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.runcall(services.execute_run, queued.pk)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            else:
                services.execute_run(queued.pk)
            total = time.perf_counter() - started
            done = type(queued).objects.get(pk=queued.pk)
            assert done.status == "succeeded", done.error
            label = "cold" if attempt == 0 else "warm"
            print(
                f"[{label}] {done.bars_total:,} bars, {done.result.trade_count:,} trades: load {done.load_seconds:.2f} s + "
                f"run {done.run_seconds:.2f} s + store {done.store_seconds:.2f} s; whole job {total:.2f} s "
                f"(goal <= 5 s)"
            )


if __name__ == "__main__":
    main()
