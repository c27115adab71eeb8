"""The app as `scripts/dev.py run` starts it (real web server, real Dramatiq worker, its own database):
alerts posted over HTTP end as paper orders, counted in that app's database."""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

from tests.e2e.app import server_url

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def app_database() -> str:
    return f"fourpass_e2e_{os.getpid()}"  # the running_app fixture's database


def setup_in_app_database() -> dict:
    env = dict(os.environ, DATABASE_URL=server_url(app_database()), DJANGO_SETTINGS_MODULE="fourpass.settings")
    env.pop("FOURPASS_ACCOUNT_PROVIDER", None)
    result = subprocess.run([sys.executable, "-m", "tests.execution.scenario", "setup_paper", "3"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def order_states(schema: str, account_ids: list[int]) -> list[tuple]:
    """Orders of this test's accounts only: the running app is shared with other browser tests."""
    with psycopg.connect(server_url(app_database())) as conn:
        rows = conn.execute(
            f'SELECT o.broker_account_id, o.side, o.quantity, o.state FROM "{schema}".execution_order o '
            "WHERE o.broker_account_id = ANY(%s) ORDER BY o.id",
            [list(account_ids)],
        ).fetchall()
    return rows


def test_alerts_to_the_running_app_become_paper_orders_in_its_database(running_app):
    data = setup_in_app_database()
    hook = f"{running_app}/hook/{data['token']}"
    assert post(hook, {"id": "e2e-1", "action": "buy", "ticker": "BINANCE:BTCUSDT", "contracts": "0.01"})[0] == 200
    assert post(hook, {"id": "e2e-1", "action": "buy", "ticker": "BINANCE:BTCUSDT", "contracts": "0.01"})[1][
        "status"] == "duplicate"
    assert post(hook, {"action": "buy", "ticker": "BINANCE:BTCUSDT", "contracts": "x"})[0] == 400
    assert post(f"{running_app}/hook/not-a-token-at-all-xxxxxxxxxxxx", {"action": "buy"})[0] == 404

    deadline = time.monotonic() + 120
    rows = []
    while time.monotonic() < deadline:
        rows = order_states(data["schema"], data["accounts"])
        if len(rows) == 3 and all(state == "filled" for *_rest, state in rows):
            break
        time.sleep(1)
    quantities = {account: qty for account, _side, qty, _state in rows}
    assert [state for *_rest, state in rows] == ["filled"] * 3
    first, second, third = data["accounts"]
    assert (float(quantities[first]), float(quantities[second]), float(quantities[third])) == (0.01, 0.02, 0.005)
