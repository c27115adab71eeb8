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
    if not connection.settings_dict["NAME"].startswith("test_"):
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


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    print(json.dumps({"setup": setup, "cleanup": cleanup}[command](*arguments)))
