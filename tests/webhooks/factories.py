from decimal import Decimal

from accounts.models import Plan
from webhooks import services
from webhooks.services import AccountLink


def make_binding(owner, account_ids=(), *, passphrase="", links=None, **options):
    """A binding with the given accounts linked as-in-alert; returns (binding, token)."""
    links = links if links is not None else [AccountLink(broker_account_id=a, default_exchange="BINANCE") for a in account_ids]
    options.setdefault("dedupe_window_seconds", 60)
    return services.create_binding(owner, "Test binding", passphrase=passphrase, accounts=links, **options)


def link(account_id, **fields) -> AccountLink:
    fields.setdefault("default_exchange", "BINANCE")
    for key in ("sizing_value", "max_position", "stop_distance", "weight"):
        if key in fields and fields[key] is not None:
            fields[key] = Decimal(str(fields[key]))
    return AccountLink(broker_account_id=account_id, **fields)


BUY = {"action": "buy", "ticker": "BINANCE:BTCUSDT", "contracts": "0.01"}


def pro_member(tenant, member_of):
    """A member of `tenant` on the Pro plan (webhooks with several accounts)."""
    return member_of(tenant, plan=Plan.objects.get(code=Plan.Code.PRO))
