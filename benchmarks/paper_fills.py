"""Paper broker throughput: orders/s through (1) the pure engine (``PaperBroker`` in memory) and
(2) the database-persisted paper broker (``DbPaperBroker``: one transaction per order that locks the
account's state row, writes the order and the new cash/positions).

Every order goes through the full ``BrokerService.place_order`` path (rounding, guards, idempotency).
Market orders alternate buy/sell so cash never runs out.

    .venv/bin/python benchmarks/paper_fills.py [--orders 20000] [--db-orders 3000] [--no-db]

The DB part measures single orders (one transaction each: lock, load, insert, update, commit) and
bursts through ``DbPaperBroker.place_orders`` (100 orders per transaction). It uses its own database (``BENCH_DATABASE_URL``, default
postgres://postgres@127.0.0.1:5432/fourpass_bench_<checkout>), created and migrated on first use.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brokers.core.models import OrderRequest, OrderType, Side
from brokers.core.paper import PaperBroker, PaperState, Quote
from brokers.core.symbols import parse_tradingview

BTC = parse_tradingview("BINANCE:BTCUSDT")
QUOTE = Quote(bid=D("19999.9"), ask=D("20000.1"), last=D(20000))


def requests(n: int, prefix: str):
    for i in range(n):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        if i % 10 == 9:  # one resting limit order in ten
            yield OrderRequest(BTC, Side.BUY, D("0.01"), f"{prefix}{i}", OrderType.LIMIT, price=D(15000))
        else:
            yield OrderRequest(BTC, side, D("0.01"), f"{prefix}{i}")


def bench_pure(n: int) -> float:
    broker = PaperBroker(
        state=PaperState(cash={"USDT": D(10_000_000)}), price_source=lambda s: QUOTE, slippage_bps=D(2), fee_bps=D(10)
    )
    orders = list(requests(n, "pure-"))
    start = time.perf_counter()
    for request in orders:
        broker.place_order(request)
    return n / (time.perf_counter() - start)


def _prepare_database() -> None:
    checkout = "".join(c if c.isalnum() else "_" for c in Path(__file__).resolve().parents[1].name.lower())
    url = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/fourpass_bench_{checkout}")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')

    import django

    django.setup()
    if os.environ.get("BENCH_LIMIT_SET_CALLS"):
        from django.conf import settings

        settings.TENANT_LIMIT_SET_CALLS = True
    from django.core.management import call_command

    call_command("migrate_schemas", "--shared", verbosity=0)
    from accounts import services as account_services

    account_services.ensure_plans()
    account_services.ensure_public_tenant()
    retail = account_services.ensure_retail_tenant()
    call_command("migrate_schemas", "--schema", retail.schema_name, verbosity=0)


def bench_db(n: int, batch: int = 1) -> float:
    _prepare_database()
    from django_tenants.utils import schema_context

    from accounts.models import User
    from brokers.models import BrokerAccount
    from brokers.paper_store import DbPaperBroker
    from brokers.services import create_broker_account

    with schema_context("retail"):
        user, _ = User.objects.get_or_create(email="bench@4pass.local", defaults={"username": "bench@4pass.local"})
        BrokerAccount.objects.filter(owner_id=user.pk, name="bench").delete()
        account = create_broker_account(
            user, name="bench", kind="paper", settings={"initial_cash": {"USDT": "10000000"}, "fee_bps": 10, "slippage_bps": 2}
        )
        broker = DbPaperBroker(account, price_source=lambda s: QUOTE)
        orders = list(requests(n, f"db{batch}-"))
        start = time.perf_counter()
        if batch == 1:
            for request in orders:
                broker.place_order(request)
        else:
            for i in range(0, n, batch):
                broker.place_orders(orders[i : i + batch])
        rate = n / (time.perf_counter() - start)
        account.delete()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--db-orders", type=int, default=3_000)
    parser.add_argument("--no-db", action="store_true")
    parser.add_argument(
        "--limit-set-calls",
        action="store_true",
        help="measure with django-tenants' TENANT_LIMIT_SET_CALLS=True (one SET search_path per connection)",
    )
    args = parser.parse_args()
    print(f"pure engine : {bench_pure(args.orders):>9,.0f} orders/s  ({args.orders:,} orders, goal >= 2,000/s)")
    if args.limit_set_calls:
        os.environ["BENCH_LIMIT_SET_CALLS"] = "1"
    if not args.no_db:
        single = bench_db(args.db_orders)
        print(f"DB-persisted, one transaction per order : {single:>9,.0f} orders/s  ({args.db_orders:,} orders)")
        batched = bench_db(args.db_orders * 5, batch=100)
        print(f"DB-persisted, place_orders x100 per tx  : {batched:>9,.0f} orders/s  ({args.db_orders * 5:,} orders)")


if __name__ == "__main__":
    main()
