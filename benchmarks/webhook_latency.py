"""Webhook latency against the real stack: the web server (`python -m fourpass.serve`) on loopback, Dramatiq workers on Redis, PostgreSQL.

1. Ack latency: 50 concurrent senders POST alerts to /hook/<token> (a binding with one paper account), each
   sending its next alert as soon as the previous one is answered (the harshest reading of "50 senders"),
   then in bursts: all 50 fire one alert at the same instant (bar close), 20 times;
   prints p50/p99 of the time to the 2xx reply (goal: p99 <= 50 ms). The workers start only after this
   phase (the reply never waits for them; on one small machine they would only compete for the CPU).
2. Fan-out: alerts to a binding with 100 linked paper accounts (the persisted paper broker); for each
   alert, the time from its arrival to the last of its 100 orders being submitted to the broker, read
   from the database (goal: p99 <= 1 s).

    .venv/bin/python benchmarks/webhook_latency.py [--senders 50] [--alerts 1000] [--fanout-alerts 20]
        [--workers 2] [--threads 8] [--web-processes 2]

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/fourpass_bench_webhooks),
created and migrated on first use, and its own Redis key space.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/fourpass_bench_webhooks"


def bench_env() -> dict[str, str]:
    from benchmarks.production import PRODUCTION_SETTINGS
    from fourpass.serve import worker_environment

    env = worker_environment()
    env.update(PRODUCTION_SETTINGS)
    env.update(
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
        DRAMATIQ_NAMESPACE="fourpass-bench-webhooks",
        CHANNELS_PREFIX="fourpass-bench-webhooks:asgi",
        CACHE_PREFIX="fourpass-bench-webhooks",
        DJANGO_SETTINGS_MODULE="fourpass.settings",
        LOG_LEVEL="WARNING",
    )
    env.pop("FOURPASS_ACCOUNT_PROVIDER", None)
    return env


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# ------------------------------------------------------------------ in the benchmark database (subprocesses)


def _django():
    import django

    django.setup()


def setup_data() -> dict:
    """A fresh user with 101 paper accounts, a 1-account binding and a 100-account binding."""
    _django()
    import datetime as dt

    from django_tenants.utils import schema_context

    from accounts import services as account_services
    from accounts.models import Plan, User
    from backtests.marketdata.services import Bar, get_or_create_series, upsert_bars
    from brokers import services as broker_services
    from webhooks import services as webhook_services

    plans = account_services.ensure_plans()
    account_services.ensure_public_tenant()
    retail = account_services.ensure_retail_tenant()
    with schema_context(retail.schema_name):
        # what earlier runs left unprocessed (interrupted, or --fanout-alerts 0, which starts no workers) would
        # otherwise be drained before this run's fan-out is measured
        from execution.models import AccountExecution
        from webhooks.models import Alert

        Alert.objects.filter(status=Alert.Status.ACCEPTED).update(status=Alert.Status.PROCESSED)
        AccountExecution.objects.filter(status__in=["pending", "running"]).update(status="skipped")
    stamp = int(time.time())
    user = User.objects.create_user(username=f"bench-{stamp}@example.com", email=f"bench-{stamp}@example.com",
                                    password="bench-pass-2026", plan=plans[Plan.Code.ENTERPRISE])
    series = get_or_create_series("BINANCE:BTCUSDT", "1")
    upsert_bars(series, [Bar(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 50_000, 50_000, 50_000, 50_000, 1)])
    with schema_context(retail.schema_name):
        accounts = [
            broker_services.create_broker_account(user, name=f"Paper {n}", kind="paper",
                                                  settings={"initial_cash": {"USDT": "100000000"}})
            for n in range(101)
        ]
        links = [webhook_services.AccountLink(broker_account_id=a.pk, default_exchange="BINANCE") for a in accounts]
        options = {"rate_limit_per_minute": 100_000, "dedupe_window_seconds": 0}
        _ack_binding, ack_token = webhook_services.create_binding(user, "ack", accounts=links[:1], **options)
        fanout, fanout_token = webhook_services.create_binding(user, "fanout", accounts=links[1:], **options)
    return {"ack_token": ack_token, "fanout_token": fanout_token, "fanout_binding": fanout.pk,
            "schema": retail.schema_name}


def backlog(schema: str) -> dict:
    _django()
    from django_tenants.utils import schema_context

    from execution.models import AccountExecution
    from webhooks.models import Alert

    with schema_context(schema):
        return {"alerts": Alert.objects.filter(status="accepted").count(),
                "jobs": AccountExecution.objects.filter(status__in=["pending", "running"]).count()}


def fanout_report(schema: str, binding_id: int, expected: int) -> dict:
    _django()
    from django.db.models import Count, Max
    from django_tenants.utils import schema_context

    from execution.models import OrderEvent
    from webhooks.models import Alert

    with schema_context(schema):
        alerts = {a.pk: a.received_at for a in Alert.objects.filter(binding_id=binding_id, status="processed")}
        rows = (
            OrderEvent.objects.filter(to_state="submitted", order__execution__signal__alert_id__in=list(alerts))
            .values("order__execution__signal__alert_id")
            .annotate(n=Count("id"), last=Max("at"))
        )
        done = {r["order__execution__signal__alert_id"]: r for r in rows if r["n"] >= expected}
        return {
            "alerts": len(alerts),
            "complete": len(done),
            "seconds": [(r["last"] - alerts[alert_id]).total_seconds() for alert_id, r in done.items()],
        }


# ------------------------------------------------------------------ driver


def run(*args: str, timeout: float = 900) -> dict:
    result = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, env=bench_env(), capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def ensure_database() -> None:
    import psycopg

    url = urlsplit(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    name = url.path.lstrip("/")
    with psycopg.connect(dbname="postgres", user=url.username or "postgres", host=url.hostname,
                         port=url.port or 5432, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate_schemas", "--executor=standard"], cwd=ROOT,
                   env=bench_env(), check=True, stdout=subprocess.DEVNULL)


def prepare_tables() -> None:
    from benchmarks.production import vacuum_analyze

    vacuum_analyze(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))


def start(command: list[str]) -> subprocess.Popen:
    log = (ROOT / "artifacts").joinpath(f"bench-{command[2]}-{len(os.listdir(ROOT / 'artifacts'))}.log").open("w")
    return subprocess.Popen(command, cwd=ROOT, env=bench_env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def cpu_seconds(process: subprocess.Popen) -> float:
    """CPU time used so far by a process and its children (the web server processes under fourpass.serve)."""
    import psutil

    root = psutil.Process(process.pid)
    return _cpu_of([root, *root.children(recursive=True)])


def _cpu_of(processes: list) -> float:
    """User + system CPU seconds of these psutil processes (those gone meanwhile count for nothing)."""
    import psutil

    total = 0.0
    for member in processes:
        try:
            times = member.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


class SubmittedCounter:
    """Orders of one binding's alerts that reached `submitted`, counted with one light SQL statement: waiting for
    a fan-out must not start a Django process per look (that alone took a core away from the measured work)."""

    def __init__(self, schema: str, binding_id: int) -> None:
        import psycopg

        url = urlsplit(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
        self.connection = psycopg.connect(dbname=url.path.lstrip("/"), user=url.username or "postgres",
                                          host=url.hostname, port=url.port or 5432, autocommit=True)
        # every step is an index look-up: alert by (binding, key), signal by key, jobs by signal, orders by job
        self.sql = (
            f'SELECT count(*) FROM "{schema}".execution_order AS o '
            f'JOIN "{schema}".execution_accountexecution AS x ON o.execution_id = x.id '
            f'WHERE x.signal_id = (SELECT s.id FROM "{schema}".execution_signalrecord AS s WHERE s.idempotency_key = '
            f"""(SELECT 'alert:' || a.id FROM "{schema}".webhooks_alert AS a WHERE a.binding_id = %s """
            "AND a.idempotency_key = %s)) AND o.state <> 'new'"
        )
        self.binding_id = binding_id

    def count(self, alert_key: str) -> int:
        """Orders of the alert with this explicit id that have been submitted (they are stored as submitted)."""
        return self.connection.execute(self.sql, [self.binding_id, f"id:{alert_key}"]).fetchone()[0]

    def close(self) -> None:
        self.connection.close()


def postgres_cpu_seconds() -> float:
    """CPU time used so far by every PostgreSQL server process on this machine."""
    import psutil

    return _cpu_of([p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")])


def post_many(port: int, token: str, bodies: list[str], latencies: list[float], statuses: list[int]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for body in bodies:
        began = time.perf_counter()
        connection.request("POST", f"/hook/{token}", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        latencies.append((time.perf_counter() - began) * 1000)
        statuses.append(response.status)
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.close()


class Sender:
    """One keep-alive HTTP/1.1 connection on asyncio streams. The 50 senders are coroutines on one event loop in
    this process rather than 50 threads: a thread per sender spent more CPU than the server it measured and added
    its own wait for the GIL to every reading."""

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: str) -> tuple[float, int]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        payload = body.encode()
        request = (f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
        began = time.perf_counter()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        fields = dict(line.lower().split(b":", 1) for line in lines[1:] if b":" in line)
        await self.reader.readexactly(int(fields.get(b"content-length", b"0")))
        elapsed = (time.perf_counter() - began) * 1000
        if fields.get(b"connection", b"").strip() == b"close":
            await self.close()
        return elapsed, status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def closed_loop(port: int, path: str, bodies: list[list[str]]) -> tuple[list[float], list[int]]:
    """Each sender posts its next alert as soon as the previous one is answered."""
    latencies: list[float] = []
    statuses: list[int] = []

    async def send_all(own: list[str]) -> None:
        sender = Sender(port, path)
        for body in own:
            elapsed, status = await sender.post(body)
            latencies.append(elapsed)
            statuses.append(status)
        await sender.close()

    await asyncio.gather(*(send_all(own) for own in bodies))
    return latencies, statuses


async def bursts(port: int, path: str, rounds: list[list[str]]) -> tuple[list[float], list[int]]:
    """Every sender fires at the same instant, then all wait 300 ms, `len(rounds)` times."""
    senders = [Sender(port, path) for _ in rounds[0]]
    for sender in senders:  # connected beforehand: TradingView's connection set-up is not ours to measure
        sender.reader, sender.writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[float] = []
    statuses: list[int] = []
    for bodies in rounds:
        for elapsed, status in await asyncio.gather(*(s.post(b) for s, b in zip(senders, bodies, strict=True))):
            latencies.append(elapsed)
            statuses.append(status)
        await asyncio.sleep(0.3)
    for sender in senders:
        await sender.close()
    return latencies, statuses


def main() -> None:
    from fourpass.serve import worker_command

    parser = argparse.ArgumentParser()
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--fanout-alerts", type=int, default=20)
    parser.add_argument("--bursts", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--web-processes", type=int, default=2, help="web server processes (as `dev.py run` starts)")
    parser.add_argument("--threads", type=int, default=8)
    options = parser.parse_args()
    (ROOT / "artifacts").mkdir(exist_ok=True)

    ensure_database()
    data = run("--setup")
    prepare_tables()  # after the set-up, which marks what earlier runs left behind
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    web = start([sys.executable, "-m", "fourpass.serve", "--port", str(port), "--processes",
                    str(options.web_processes)])
    workers: list[subprocess.Popen] = []  # started after the ack phase: the ack path never waits for them
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the web server did not start") from None
                time.sleep(0.2)
        # 0. one sender, for reference
        single: list[float] = []
        post_many(port, data["ack_token"], [json.dumps({"id": f"single-{n}", "action": "buy", "ticker": "BINANCE:BTCUSDT",
                                                        "contracts": "0.001"}) for n in range(100)], single, [])
        print(f"ack latency, 1 sender, 100 alerts: p50 {statistics.median(single):.1f} ms   "
              f"p99 {percentile(single, 99):.1f} ms")

        # 1. acknowledgement latency under concurrent senders
        per_sender = max(1, options.alerts // options.senders)
        bodies = [[json.dumps({"id": f"{sender}-{n}", "action": "buy", "ticker": "BINANCE:BTCUSDT",
                               "contracts": "0.001"}) for n in range(per_sender)] for sender in range(options.senders)]
        cpu_before = cpu_seconds(web)
        began = time.perf_counter()
        latencies, statuses = asyncio.run(closed_loop(port, f"/hook/{data['ack_token']}", bodies))
        elapsed = time.perf_counter() - began
        server_cpu_ms = (cpu_seconds(web) - cpu_before) * 1000 / max(1, len(latencies))
        ok = sum(1 for s in statuses if 200 <= s < 300)
        print(f"ack latency, {options.senders} concurrent senders, {len(latencies)} alerts ({ok} 2xx) "
              f"in {elapsed:.1f} s = {len(latencies) / elapsed:.0f} alerts/s")
        print(f"  p50 {statistics.median(latencies):.1f} ms   p99 {percentile(latencies, 99):.1f} ms   "
              f"max {max(latencies):.1f} ms   (goal p99 <= 50 ms)")
        print(f"  web server CPU per alert: {server_cpu_ms:.2f} ms ({options.web_processes} web processes; "
              f"load average {os.getloadavg()[0]:.1f})")

        # 1b. bar-close bursts: every sender fires one alert at the same instant (what TradingView does when many
        # strategies' bars close together), then the next burst 300 ms later
        rounds = [[json.dumps({"id": f"burst-{sender}-{round_}", "action": "buy", "ticker": "BINANCE:BTCUSDT",
                               "contracts": "0.001"}) for sender in range(options.senders)]
                  for round_ in range(options.bursts)]
        burst, burst_statuses = asyncio.run(bursts(port, f"/hook/{data['ack_token']}", rounds))
        ok = sum(1 for s in burst_statuses if 200 <= s < 300)
        print(f"ack latency, {options.bursts} bursts of {options.senders} simultaneous alerts ({ok} 2xx): "
              f"p50 {statistics.median(burst):.1f} ms   p99 {percentile(burst, 99):.1f} ms   max {max(burst):.1f} ms")
        if not options.fanout_alerts:
            return
        workers.extend(start(worker_command(processes=1, threads=options.threads)) for _ in range(options.workers))
        deadline = time.monotonic() + 600  # let the ack phase's jobs drain: they would queue ahead of the fan-out
        while any(run("--backlog", data["schema"]).values()) and time.monotonic() < deadline:
            time.sleep(2)

        # 2. alert -> all 100 orders submitted, one alert at a time (each measured on an idle queue)
        workers_cpu_before = sum(cpu_seconds(worker) for worker in workers)
        postgres_cpu_before = postgres_cpu_seconds()
        submitted = SubmittedCounter(data["schema"], data["fanout_binding"])
        for n in range(options.fanout_alerts):
            post_many(port, data["fanout_token"], [json.dumps({"id": f"fan-{n}", "action": "buy" if n % 2 == 0 else "sell",
                                                              "ticker": "BINANCE:BTCUSDT", "contracts": "0.001"})],
                      [], [])
            deadline = time.monotonic() + 120
            while submitted.count(f"fan-{n}") < 100 and time.monotonic() < deadline:
                time.sleep(0.02)
        submitted.close()
        report = run("--report", data["schema"], str(data["fanout_binding"]), "100")
        seconds = report["seconds"]
        jobs = options.fanout_alerts * 100
        workers_cpu_ms = (sum(cpu_seconds(worker) for worker in workers) - workers_cpu_before) * 1000 / jobs
        postgres_cpu_ms = (postgres_cpu_seconds() - postgres_cpu_before) * 1000 / jobs
        print(f"fan-out to 100 paper accounts: {report['complete']}/{options.fanout_alerts} alerts fully submitted")
        if seconds:
            print(f"  alert -> all 100 orders submitted: p50 {statistics.median(seconds) * 1000:.0f} ms   "
                  f"p99 {percentile(seconds, 99) * 1000:.0f} ms   max {max(seconds) * 1000:.0f} ms   (goal p99 <= 1 s)")
        print(f"  CPU per account job (alert processing included): workers {workers_cpu_ms:.1f} ms, PostgreSQL "
              f"{postgres_cpu_ms:.1f} ms (the report queries of this script included)")
        print(f"  machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        for process in [web, *workers]:
            try:
                os.killpg(process.pid, 15)
                process.wait(timeout=20)
            except Exception:
                os.killpg(process.pid, 9)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--setup":
        print(json.dumps(setup_data()))
    elif len(sys.argv) > 1 and sys.argv[1] == "--backlog":
        print(json.dumps(backlog(sys.argv[2])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--report":
        print(json.dumps(fanout_report(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        import signal

        # stopped from outside (timeout, Ctrl-C): still run main()'s clean-up, which stops the web server and the workers
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        main()
