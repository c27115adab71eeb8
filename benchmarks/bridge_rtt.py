"""Order round trip through BridgeBroker -> bridge agent (simulated terminal) on loopback.

Prints p50/p99 of:
  * the agent's own processing time (X-4P-Agent-Time-Us: verify, validate, execute, sign),
  * the raw signed protocol client round trip (AgentClient.place_order),
  * the full adapter round trip (BridgeBroker.place_order: routing look-up, order intent rows,
    lot conversion, signing, schema checks both ways, response verification),
  * the overhead over the agent's own time, per order (goal: p99 <= 20 ms).

Usage: python benchmarks/bridge_rtt.py [--orders 1000]
Uses its own database (bench_bridges_<checkout>, created and migrated on first use) on the PostgreSQL
of DATABASE_URL's server (default 127.0.0.1:5432), and one agent process on a random loopback port.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def summary(label: str, samples_ms: list[float]) -> str:
    return (
        f"{label:<44} p50 {percentile(samples_ms, 0.50):7.3f} ms   p99 {percentile(samples_ms, 0.99):7.3f} ms"
        f"   max {max(samples_ms):7.3f} ms"
    )


def prepare_database() -> None:
    import psycopg

    checkout = "".join(c if c.isalnum() else "_" for c in ROOT.name.lower())
    name = f"bench_bridges_{checkout}"
    server = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"{server}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
    os.environ.setdefault("DEBUG", "true")

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate_schemas", shared=True, verbosity=0, interactive=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    prepare_database()

    from bridges import services
    from bridges.broker import BridgeBroker
    from bridges.models import BridgeInstance, BridgeNode
    from brokers.core.models import OrderRequest, Side
    from brokers.core.symbols import MarketType, NormalizedSymbol
    from tests.bridges.agent_processes import spawn_agent

    run_id = f"{os.getpid()}-{int(time.time())}"
    workdir = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    agent = spawn_agent(workdir, f"bench-{run_id}", capacity=4)
    try:
        node = services.register_node(
            node_id=agent.node_id, address=agent.url, region="bench", capacity=4, secret=agent.secret.decode()
        )
        services.record_heartbeat(node, agent.client().health())
        instance = services.request_instance(
            tenant_schema="bench", account_id=f"bench-{run_id}", backend="sim",
            credentials={"login": "1", "password": "bench", "server": "SimBroker-Demo"},
            options={"initial_balance": "100000000"},
        )
        assert instance.status == BridgeInstance.Status.RUNNING, instance.last_error
        broker = BridgeBroker(tenant_schema="bench", account_id=instance.account_id)
        # Time the durable pre-send intent write on its own (it waits for the WAL flush).
        intent_ms: list[float] = []
        record_intent = services.record_order_intent

        def timed_record_intent(*args, **kwargs):
            started = time.perf_counter()
            try:
                return record_intent(*args, **kwargs)
            finally:
                intent_ms.append((time.perf_counter() - started) * 1000)

        services.record_order_intent = timed_record_intent
        client = services.client_for_node(node)
        symbol = NormalizedSymbol("FX", "EUR", "USD", MarketType.FOREX)

        def adapter_order(index: int) -> tuple[float, float]:
            request = OrderRequest(
                symbol=symbol, side=Side.BUY if index % 2 else Side.SELL, quantity=Decimal("1000"),
                client_order_id=f"bench-a-{index}",
            )
            started = time.perf_counter()
            broker.place_order(request)
            return (time.perf_counter() - started) * 1000, client.last_agent_time_us / 1000

        def protocol_order(index: int) -> tuple[float, float]:
            wire = {"client_order_id": f"bench-p-{index}", "symbol": "EURUSD", "side": "buy" if index % 2 else "sell",
                    "order_type": "market", "quantity": "0.01"}
            started = time.perf_counter()
            client.place_order(instance.instance_id, wire)
            return (time.perf_counter() - started) * 1000, client.last_agent_time_us / 1000

        for index in range(args.warmup):
            protocol_order(-index - 1)
            adapter_order(-index - 1)
        intent_ms.clear()
        protocol, adapter = [], []
        # Interleaved, so a load spike on the machine hits both measurements alike.
        for index in range(args.orders):
            protocol.append(protocol_order(index))
            adapter.append(adapter_order(index))

        print(f"bridge order round trip, {args.orders} market orders each, loopback, sim backend")
        print(summary("agent own processing (protocol orders)", [agent_ms for _, agent_ms in protocol]))
        print(summary("agent own processing (adapter orders)", [agent_ms for _, agent_ms in adapter]))
        print(summary("AgentClient.place_order round trip", [total for total, _ in protocol]))
        print(summary("BridgeBroker.place_order round trip", [total for total, _ in adapter]))
        print(summary("protocol overhead over agent time", [total - own for total, own in protocol]))
        overhead = [total - own for total, own in adapter]
        print(summary("BridgeBroker overhead over agent time", overhead))
        print(summary("  of which durable order-intent commit", intent_ms))
        print(summary("  overhead without the intent commit", [o - i for o, i in zip(overhead, intent_ms, strict=True)]))
        print(f"load average during run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        verdict = "meets" if percentile(overhead, 0.99) <= 20 else "MISSES"
        print(f"goal p99 overhead <= 20 ms: {verdict} ({percentile(overhead, 0.99):.3f} ms)")
    finally:
        agent.stop()
        BridgeInstance.objects.filter(tenant_schema="bench", account_id__startswith="bench-").delete()
        BridgeNode.objects.filter(node_id__startswith="bench-").delete()


if __name__ == "__main__":
    main()
