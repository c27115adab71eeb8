"""The thin seam between the execution core and the brokers app.

The core only needs: who owns an account, and a ``BrokerService`` for it. By default both come from
``brokers.models.BrokerAccount`` and ``brokers.services.get_broker_service(account)``. A different
provider (e.g. the Redis-backed fake broker of the reliability tests, which must be shared by worker
processes) is named by ``settings.EXECUTION_ACCOUNT_PROVIDER`` or the ``FOURPASS_ACCOUNT_PROVIDER``
environment variable as ``"module.path:attribute"``.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings

from brokers.core.base import BrokerService


class AccountUnavailable(Exception):
    """The account does not exist in this tenant (or was deleted)."""


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    id: int
    owner_id: int
    name: str
    broker: str
    is_paper: bool = False


class AccountProvider(Protocol):
    def get(self, account_id: int) -> LinkedAccount: ...

    def service(self, account_id: int) -> BrokerService: ...

    def owned_by(self, owner_id: int) -> list[LinkedAccount]: ...


class BrokersAppProvider:
    """Accounts stored by the brokers app (``brokers.BrokerAccount``) in the current tenant schema."""

    @staticmethod
    def _as_linked(account) -> LinkedAccount:
        broker = account.exchange or account.kind
        return LinkedAccount(id=account.pk, owner_id=account.owner_id, name=account.name, broker=broker,
                             is_paper=account.kind == "paper")

    @staticmethod
    def _account(account_id: int):
        from django.db import connection

        from brokers.models import BrokerAccount
        from fourpass.sql import fetch_models

        # read before every order (one prepared statement rather than an ORM compile)
        found = fetch_models(BrokerAccount, connection.schema_name, "id = %s", [account_id])
        account = found[0] if found else None
        if account is None:
            raise AccountUnavailable(f"broker account {account_id} does not exist")
        if not account.enabled:
            raise AccountUnavailable(f"broker account '{account.name}' is disabled")
        return account

    def get(self, account_id: int) -> LinkedAccount:
        return self._as_linked(self._account(account_id))

    def service(self, account_id: int) -> BrokerService:
        from brokers.services import get_broker_service

        return get_broker_service(self._account(account_id))

    def open(self, account_id: int) -> tuple[LinkedAccount, BrokerService]:
        from brokers.services import get_broker_service

        account = self._account(account_id)
        return self._as_linked(account), get_broker_service(account)

    def owned_by(self, owner_id: int) -> list[LinkedAccount]:
        from brokers.models import BrokerAccount

        return [self._as_linked(a) for a in BrokerAccount.objects.filter(owner_id=owner_id).order_by("pk")]


@cache
def _load(path: str) -> AccountProvider:
    module, _, attribute = path.partition(":")
    target = getattr(importlib.import_module(module), attribute)
    return target() if isinstance(target, type) else target


def provider() -> AccountProvider:
    path = getattr(settings, "EXECUTION_ACCOUNT_PROVIDER", "") or os.environ.get("FOURPASS_ACCOUNT_PROVIDER", "")
    return _load(path or "execution.brokerage:BrokersAppProvider")


def get_account(account_id: int) -> LinkedAccount:
    return provider().get(account_id)


def broker_for(account_id: int) -> BrokerService:
    return provider().service(account_id)


def accounts_owned_by(owner_id: int) -> list[LinkedAccount]:
    return provider().owned_by(owner_id)


def open_account(account_id: int) -> tuple[LinkedAccount, BrokerService]:
    """The account and a service for it, reading the account once when the provider can (`open`)."""
    chosen = provider()
    opener = getattr(chosen, "open", None)
    if opener is not None:
        return opener(account_id)
    return chosen.get(account_id), chosen.service(account_id)
