"""Commits shared data for the multi-process native tests. Run as a subprocess (see test_workers.py):

    python -m tests.native.scenario setup <schema> <warmup> <total>   -> {"deployment", "series", "account", "owner"}
    python -m tests.native.scenario feed <schema> <series> <from> <to> <delay seconds>  (stores bars one by one)
    python -m tests.native.scenario cleanup <schema> <owner>
"""

import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
django.setup()

from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from accounts.models import Plan  # noqa: E402
from backtests.marketdata.models import MarketSeries  # noqa: E402
from execution.native.feeds.base import notify_deployments  # noqa: E402
from execution.native.feeds.replay import ReplayFeed  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.native.factories import (  # noqa: E402
    CROSS_STRATEGY,
    deploy,
    goog_bars_hourly,
    make_paper_account,
    make_series,
    make_version,
)


def _guard() -> None:
    if not connection.settings_dict["NAME"].startswith("test_"):
        raise SystemExit("refusing to write outside a test database")


def setup(schema: str, warmup: str, total: str) -> dict:
    _guard()
    owner = UserFactory(email=f"native-{os.getpid()}@example.com", plan=Plan.objects.get(code=Plan.Code.ENTERPRISE))
    bars = goog_bars_hourly(int(total))
    series = make_series(symbol=f"BINANCE:W{os.getpid()}USDT.P", bars=bars.slice(0, int(warmup)))
    with schema_context(schema):
        account = make_paper_account(owner)
        deployment = deploy(owner, make_version(owner, CROSS_STRATEGY), series, [account], stale_policy="trade")
    return {"deployment": deployment.pk, "series": series.pk, "account": account.pk, "owner": owner.pk}


def feed(schema: str, series_id: str, start: str, end: str, delay: str) -> dict:
    _guard()
    series = MarketSeries.objects.get(pk=int(series_id))
    bars = goog_bars_hourly(int(end)).slice(int(start), int(end))
    with schema_context(schema):
        replay = ReplayFeed(series, bars, notify=notify_deployments)  # the production trigger: step messages
        while replay.remaining:
            replay.poll()
            time.sleep(float(delay))
    return {"stored": len(bars)}


def cleanup(schema: str, owner_id: str) -> dict:
    _guard()
    with schema_context(schema), connection.cursor() as cursor:
        for table in ("execution_fill", "execution_orderevent", "execution_auditevent", "execution_order",
                      "execution_accountexecution", "execution_signalrecord", "native_deploymentevent",
                      "native_deploymentsignal", "native_deployment", "strategies_strategyversion",
                      "strategies_strategy", "brokers_paperorder", "brokers_paperaccountstate", "brokers_brokeraccount"):
            cursor.execute(f'DELETE FROM "{schema}"."{table}"')
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM marketdata_ohlcvbar WHERE series_id IN (SELECT id FROM marketdata_marketseries "
                       "WHERE symbol LIKE 'BINANCE:W%%USDT.P')")
        cursor.execute("DELETE FROM marketdata_marketseries WHERE symbol LIKE 'BINANCE:W%%USDT.P'")
        cursor.execute("DELETE FROM accounts_user WHERE id = %s", [int(owner_id)])
    return {"ok": True}


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    print(json.dumps({"setup": setup, "feed": feed, "cleanup": cleanup}[command](*arguments)))
