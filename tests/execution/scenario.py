"""Commits shared test data for multi-process tests/benchmarks. Run as a subprocess (see workers.py):

    python -m tests.execution.scenario setup <schema> <accounts> [key=value ...]  -> {"token", "owner_id", "accounts"}
    python -m tests.execution.scenario cleanup <schema> <owner_id>
"""

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
django.setup()

from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from accounts.models import Plan  # noqa: E402
from tests.execution import fake_broker  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.webhooks.factories import make_binding  # noqa: E402
from webhooks.routing.models import HookRoute  # noqa: E402


def setup(schema: str, accounts: str, *options: str) -> dict:
    if not connection.settings_dict["NAME"].startswith(("test_", "fourpass_e2e_")):
        raise SystemExit("refusing to write outside a test database")
    extra = dict(option.split("=", 1) for option in options)
    first_id = int(extra.pop("first_account", "7001"))
    owner = UserFactory(email=f"scenario-{os.getpid()}-{first_id}@example.com",
                        plan=Plan.objects.get(code=Plan.Code.ENTERPRISE))
    account_ids = list(range(first_id, first_id + int(accounts)))
    with schema_context(schema):
        for account_id in account_ids:
            fake_broker.register_account(schema, account_id, owner.pk)
        binding, token = make_binding(owner, account_ids, **{k: int(v) for k, v in extra.items()})
    return {"token": token, "owner_id": owner.pk, "accounts": account_ids, "binding_id": binding.pk}


def cleanup(schema: str, owner_id: str) -> dict:
    if not connection.settings_dict["NAME"].startswith("test_"):
        raise SystemExit("refusing to write outside a test database")
    with schema_context(schema), connection.cursor() as cursor:
        # DELETE, not TRUNCATE: the calling test still holds read locks inside its own transaction
        for table in ("execution_fill", "execution_orderevent", "execution_auditevent", "execution_order",
                      "execution_accountexecution", "execution_signalrecord", "webhooks_alert",
                      "webhooks_bindingaccount", "webhooks_webhookbinding"):
            cursor.execute(f'DELETE FROM "{schema}"."{table}"')
    HookRoute.objects.filter(schema_name=schema).delete()
    with connection.cursor() as cursor:  # raw: the ORM cascade would look for tenant tables on public
        cursor.execute("DELETE FROM accounts_user WHERE id = %s", [int(owner_id)])
    return {"ok": True}


def setup_paper(accounts: str) -> dict:
    """For the running app (its own database): a user with paper accounts in the retail tenant, a stored
    BTC price for the paper broker, and a binding with different sizing/filters per account."""
    import datetime as dt

    from accounts import services as account_services
    from backtests.marketdata.services import Bar, get_or_create_series, upsert_bars
    from brokers import services as broker_services
    from tests.webhooks.factories import link

    retail = account_services.ensure_retail_tenant()
    owner = UserFactory(email=f"e2e-{os.getpid()}@example.com", plan=Plan.objects.get(code=Plan.Code.ENTERPRISE))
    upsert_bars(get_or_create_series("BINANCE:BTCUSDT", "1"),
                [Bar(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 50_000, 50_000, 50_000, 50_000, 1)])
    with schema_context(retail.schema_name):
        ids = [broker_services.create_broker_account(owner, name=f"Paper {n}", kind="paper").pk
               for n in range(int(accounts))]
        sizing = [{}, {"sizing_mode": "multiplier", "sizing_value": "2"}, {"sizing_mode": "fixed", "sizing_value": "0.005",
                                                                           "direction": "long_only"}]
        links = [link(account_id, **sizing[n % 3]) for n, account_id in enumerate(ids)]
        _binding, token = make_binding(owner, links=links, rate_limit_per_minute=10_000)
    return {"token": token, "accounts": ids, "schema": retail.schema_name}


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    print(json.dumps({"setup": setup, "cleanup": cleanup, "setup_paper": setup_paper}[command](*arguments)))
