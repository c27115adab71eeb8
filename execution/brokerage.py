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

    def _model(self):
        from brokers.models import BrokerAccount

        return BrokerAccount

    def _as_linked(self, account) -> LinkedAccount:
        owner_id = getattr(account, "owner_id", None) or getattr(account, "user_id", None)
        broker = str(getattr(account, "broker", "") or getattr(account, "broker_name", ""))
        return LinkedAccount(
            id=account.pk,
            owner_id=owner_id,
            name=str(getattr(account, "name", "") or getattr(account, "label", "") or f"Account {account.pk}"),
            broker=broker,
            is_paper=bool(getattr(account, "is_paper", broker == "paper")),
        )

    def get(self, account_id: int) -> LinkedAccount:
        model = self._model()
        account = model.objects.filter(pk=account_id).first()
        if account is None:
            raise AccountUnavailable(f"broker account {account_id} does not exist")
        return self._as_linked(account)

    def service(self, account_id: int) -> BrokerService:
        from brokers.services import get_broker_service

        account = self._model().objects.filter(pk=account_id).first()
        if account is None:
            raise AccountUnavailable(f"broker account {account_id} does not exist")
        return get_broker_service(account)

    def owned_by(self, owner_id: int) -> list[LinkedAccount]:
        model = self._model()
        field = "owner_id" if any(f.name == "owner" for f in model._meta.fields) else "user_id"
        return [self._as_linked(a) for a in model.objects.filter(**{field: owner_id}).order_by("pk")]


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
