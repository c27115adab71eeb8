"""Order events reach the owner's open pages over Channels (real Redis channel layer) as htmx fragments."""

from decimal import Decimal as D

import pytest

from accounts.models import Plan
from execution import services
from execution.models import AccountExecution, Order
from execution.signals import AccountRoute, Action, Command, Signal, SignalSource
from tests.live import Listener

pytestmark = pytest.mark.django_db


def test_a_new_order_row_is_pushed_to_the_owners_open_pages(retail_tenant, member_of, make_account, in_schema):
    owner = member_of(retail_tenant, plan=Plan.objects.get(code=Plan.Code.PRO))
    listener = Listener(owner.pk, retail_tenant.schema_name, count=1)
    listener.start()
    assert listener.ready.wait(10)
    with in_schema(retail_tenant.schema_name):
        account = make_account(retail_tenant, owner)
        services.submit_signal(Signal(SignalSource.MANUAL, owner.pk, "live-1",
                                      (Command(Action.BUY, "BINANCE:BTCUSDT", quantity=D("0.01")),),
                                      (AccountRoute(account),)))
        services.execute_account(AccountExecution.objects.get().pk)
        order = Order.objects.get()
    listener.join(40)
    (html,) = listener.messages
    assert 'hx-swap-oob="afterbegin:#order-rows"' in html
    assert f'id="order-{order.pk}"' in html and "Filled" in html
