"""A worker process killed mid-backtest (SIGKILL: no cleanup runs) leaves the run failed after the sweeper,
never stuck "running". Real processes on their own throw-away database, since the run must be committed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.e2e.app import admin_connection, server_url

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
django.setup()
import numpy as np
from django.core.management import call_command
from django_tenants.utils import schema_context
call_command("migrate_schemas", "--shared", "--executor=standard", verbosity=0)
from accounts import services as accounts
from accounts.models import Membership, Plan, User
from backtests import services
from backtests.marketdata.services import BarArrays, get_or_create_series, upsert_arrays
from strategies.models import Strategy
from strategies.services import save_version
plans = accounts.ensure_plans(); accounts.ensure_public_tenant(); retail = accounts.ensure_retail_tenant()
user = User.objects.create(username="crash@example.com", email="crash@example.com", plan=plans[Plan.Code.ENTERPRISE])
accounts.add_member(retail, user, Membership.Role.OWNER)
n = 400_000
rng = np.random.default_rng(5)
close = 1000 + np.cumsum(rng.normal(0, 0.5, n)); open_ = np.concatenate([[1000.0], close[:-1]])
series = get_or_create_series("CRASH:TEST", "1")
upsert_arrays(series, BarArrays(1_600_000_000_000 + np.arange(n, dtype=np.int64) * 60_000, open_,
              np.maximum(open_, close) + 0.1, np.minimum(open_, close) - 0.1, close, np.ones(n)))
with schema_context("retail"):
    version = save_version(Strategy.objects.create(owner=user, name="crash"), '''//@version=6
strategy("slow", overlay=true)
a = ta.sma(close, 10)
b = ta.sma(close, 30)
if ta.crossover(a, b)
    strategy.entry("L", strategy.long)
if ta.crossunder(a, b)
    strategy.entry("S", strategy.short)
''')
    run = services.start_backtest(user, version, symbol="CRASH:TEST", timeframe="1", enqueue=False)
    print("RUN", run.pk, flush=True)
    services.execute_run(run.pk)
"""

SWEEPER = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
django.setup()
from backtests import services
print(services.fail_stale_runs_in_every_schema(lease_seconds=1), flush=True)
"""


def run_state(dbname: str) -> tuple[str, int, str] | None:
    db = settings.DATABASES["default"]
    with psycopg.connect(dbname=dbname, user=db["USER"], host=db.get("HOST") or None, port=db.get("PORT") or None) as conn:
        try:
            row = conn.execute("SELECT status, bars_done, error FROM retail.backtests_backtestrun").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return row


def test_a_killed_worker_leaves_its_backtest_failed_not_running():
    dbname = f"fourpass_crash_{os.getpid()}"
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    env = dict(os.environ, DATABASE_URL=server_url(dbname), DJANGO_SETTINGS_MODULE="fourpass.settings")
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        state = None
        while time.monotonic() < deadline:
            state = run_state(dbname)
            if state and state[0] == "running" and state[1] > 0:
                break
            if worker.poll() is not None:
                pytest.fail(f"the worker ended before it was killed: {worker.stdout.read().decode()[-2000:]}")
            time.sleep(0.05)
        assert state and state[0] == "running", state
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        time.sleep(1.5)
        assert run_state(dbname)[0] == "running"  # stuck until the sweeper sees the lease expire
        sweeper = subprocess.run([sys.executable, "-c", SWEEPER], cwd=ROOT, env=env, capture_output=True, timeout=120)
        assert sweeper.returncode == 0, sweeper.stderr.decode()[-2000:]
        status, _done, error = run_state(dbname)
        assert status == "failed"
        assert "stopped responding" in error
    finally:
        if worker.poll() is None:
            worker.kill()
        with admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
