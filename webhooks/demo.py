"""Demo rows: a webhook binding on the demo user's paper account (rotate its token to get a usable URL)."""

from .models import WebhookBinding
from .services import AccountLink, create_binding


def seed_demo_tenant(tenant, user) -> None:
    if WebhookBinding.objects.filter(owner=user).exists():
        return
    from brokers.services import ensure_default_paper_account

    paper = ensure_default_paper_account(user)
    create_binding(user, "Demo: TradingView → paper",
                   accounts=[AccountLink(broker_account_id=paper.pk, default_exchange="BINANCE")])
