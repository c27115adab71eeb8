"""1,000 alerts (10% re-sends, 5% malformed) over real HTTP to the web server, for a binding with 10 accounts,
processed by real Dramatiq worker processes on the Redis broker while one worker is killed with SIGKILL
mid-run and replaced. Afterwards, counted from the database: every valid alert has exactly one order per
account, no duplicate executed (also at the broker), nothing lost."""

import json
import os
import random
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.conf import settings
from django_tenants.utils import schema_context

from accounts.models import Organization
from execution.actors import housekeeping as execution_housekeeping
from execution.models import AccountExecution, Order
from fourpass.tasks import broker
from tests.execution import fake_broker
from tests.execution.workers import run_scenario, start_scheduler, start_web, start_worker, wait_until
from webhooks.actors import sweep_alerts as webhook_sweep
from webhooks.models import Alert

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ACCOUNTS = int(os.environ.get("RELIABILITY_ACCOUNTS", 10))
ALERTS = int(os.environ.get("RELIABILITY_ALERTS", 1000))


def wipe_queue_namespace() -> None:
    """Drop every Dramatiq key of this checkout's namespace: queues, delay queues, and the unacknowledged
    messages of workers killed in earlier runs (flush_all leaves those, and Redis would requeue them)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(f"{settings.DRAMATIQ_NAMESPACE}:*", count=1000):
        if b":fakebroker:" not in key:
            client.delete(key)
    broker.flush_all()


def post(url: str, body: str) -> int:
    request = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def build_bodies(rng: random.Random) -> tuple[list[str], list[str]]:
    bodies, valid_ids = [], []
    for n in range(ALERTS):
        roll = rng.random()
        if roll < 0.05:
            bodies.append('{"action": "buy", "ticker": "BTCUSDT", "contracts": "not-a-number"}')
        elif roll < 0.15 and valid_ids:
            resend = rng.choice(valid_ids)
            bodies.append(json.dumps({"id": resend, "action": "buy", "ticker": "BTCUSDT", "contracts": "0.001"}))
        else:
            valid_ids.append(f"alert-{n}")
            bodies.append(json.dumps({"id": valid_ids[-1], "action": "buy", "ticker": "BTCUSDT", "contracts": "0.001"}))
    return bodies, valid_ids


def test_every_valid_alert_executes_exactly_once_per_account_despite_a_killed_worker():
    schema = Organization.objects.get(name="Beta Capital").schema_name
    wipe_queue_namespace()  # nothing left over from an earlier run of this checkout
    scenario = run_scenario("setup", schema, str(ACCOUNTS), "rate_limit_per_minute=100000")
    bodies, valid_ids = build_bodies(random.Random(6))
    malformed = sum("not-a-number" in b for b in bodies)
    expected_orders = len(valid_ids) * ACCOUNTS

    server, base = start_web("reliability-web")
    workers = [start_worker("reliability-worker-a"), start_worker("reliability-worker-b")]
    scheduler = start_scheduler("reliability-scheduler")
    try:
        url = f"{base}/hook/{scenario['token']}"
        with ThreadPoolExecutor(max_workers=8) as pool:
            first = list(pool.map(lambda b: post(url, b), bodies[: ALERTS // 2]))
            workers[0].kill_hard()  # SIGKILL mid-run: its in-flight messages are never acknowledged
            workers[0] = start_worker("reliability-worker-c")
            second = list(pool.map(lambda b: post(url, b), bodies[ALERTS // 2 :]))
        statuses = first + second

        def finished() -> bool:
            with schema_context(schema):
                return (
                    Order.objects.filter(state=Order.State.FILLED).count() >= expected_orders
                    and not AccountExecution.objects.exclude(status="done").exists()
                    and not Alert.objects.filter(status=Alert.Status.ACCEPTED).exists()
                )

        def progress() -> str:
            with schema_context(schema):
                return (f"alerts {dict(Counter(Alert.objects.values_list('status', flat=True)))}, "
                        f"jobs {dict(Counter(AccountExecution.objects.values_list('status', flat=True)))}, "
                        f"orders {dict(Counter(Order.objects.values_list('state', flat=True)))}")

        def housekeeping() -> None:
            # what the scheduler enqueues every 15 s (the scheduler process may not own the global lock when
            # another checkout's scheduler runs on this Redis): re-enqueue left-behind work, poll open orders
            execution_housekeeping.send()
            webhook_sweep.send()

        timeout = float(os.environ.get("RELIABILITY_TIMEOUT", 1800))
        assert wait_until(finished, timeout=timeout, interval=1, every_10s=housekeeping), (
            f"not every alert was executed in time: {progress()}"
        )

        assert statuses.count(400) == malformed
        assert statuses.count(200) == ALERTS - malformed
        with schema_context(schema):
            assert Alert.objects.filter(status=Alert.Status.PROCESSED).count() == len(valid_ids)
            assert Alert.objects.filter(status=Alert.Status.DUPLICATE).count() == ALERTS - len(valid_ids) - malformed
            assert Alert.objects.filter(status=Alert.Status.REJECTED, http_status=400).count() == malformed
            assert Order.objects.count() == expected_orders
            assert Order.objects.filter(state=Order.State.FILLED).count() == expected_orders
            for account_id in scenario["accounts"]:
                alerts = Order.objects.filter(broker_account_id=account_id).values_list(
                    "execution__signal__alert_id", flat=True
                )
                assert len(alerts) == len(set(alerts)) == len(valid_ids)
        for account_id in scenario["accounts"]:
            assert fake_broker.submissions(schema, account_id) == len(valid_ids)  # never twice at the broker
    finally:
        for process in [*workers, scheduler, server]:
            process.stop()
        run_scenario("cleanup", schema, str(scenario["owner_id"]))
        wipe_queue_namespace()
