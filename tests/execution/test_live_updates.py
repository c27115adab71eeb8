"""Order events reach the owner's open pages over Channels (real Redis channel layer) as htmx fragments."""

import asyncio
import threading
from decimal import Decimal as D

import pytest
from channels.testing import WebsocketCommunicator

from accounts.models import Plan
from execution import services
from execution.models import AccountExecution, Order
from execution.signals import AccountRoute, Action, Command, Signal, SignalSource
from fourpass.consumers import EventsConsumer

pytestmark = pytest.mark.django_db


class Listener(threading.Thread):
    """An open page of the user: a websocket on /ws/events/ in its own event loop."""

    def __init__(self, user_id: int, schema: str, count: int):
        super().__init__(daemon=True)
        self.user_id, self.schema, self.count = user_id, schema, count
        self.ready = threading.Event()
        self.messages: list[str] = []

    def run(self):
        asyncio.run(self.listen())

    async def listen(self):
        user = type("User", (), {"pk": self.user_id, "is_authenticated": True})()
        communicator = WebsocketCommunicator(EventsConsumer.as_asgi(), "/ws/events/")
        communicator.scope["user"] = user
        communicator.scope["schema_name"] = self.schema
        await communicator.connect()
        self.ready.set()
        try:
            for _ in range(self.count):
                self.messages.append(await communicator.receive_from(timeout=30))
        finally:
            await communicator.disconnect()


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
