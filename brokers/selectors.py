from django.db.models import QuerySet

from accounts.models import User

from .models import BrokerAccount, PaperOrder


def broker_accounts_for(user: User) -> QuerySet[BrokerAccount]:
    """The user's broker accounts (retail users share a tenant, so always scope by owner)."""
    return BrokerAccount.objects.filter(owner_id=user.pk)


def broker_account_for(user: User, pk: int) -> BrokerAccount:
    return broker_accounts_for(user).get(pk=pk)


def default_broker_account(user: User) -> BrokerAccount | None:
    return broker_accounts_for(user).filter(is_default=True, enabled=True).first()


def paper_orders(account: BrokerAccount, limit: int = 50) -> QuerySet[PaperOrder]:
    return account.paper_orders.all()[:limit]
