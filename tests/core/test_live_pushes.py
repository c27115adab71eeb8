"""Pushes reach users' open pages and cost nothing when no page is open (real Redis cache and channel layer)."""

import asyncio
import secrets

from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from fourpass import realtime
from fourpass.consumers import EventsConsumer


def _user(pk: int):
    return type("User", (), {"pk": pk, "is_authenticated": True})()


def test_a_push_to_a_user_without_an_open_page_is_neither_rendered_nor_sent():
    user_id = 10**9 + secrets.randbelow(10**9)
    rendered = []

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(realtime.user_group("retail", user_id), channel)
        realtime.push_to_user("retail", user_id, "order", {"id": 1}, html=lambda: rendered.append(1) or "<tr></tr>")
        try:
            return await asyncio.wait_for(layer.receive(channel), timeout=1)
        except TimeoutError:
            return None

    assert asyncio.run(scenario()) is None
    assert rendered == []


def test_an_open_page_receives_the_rendered_fragment_of_a_push():
    user_id = 10**9 + secrets.randbelow(10**9)

    async def scenario():
        communicator = WebsocketCommunicator(EventsConsumer.as_asgi(), "/ws/events/")
        communicator.scope["user"] = _user(user_id)
        communicator.scope["schema_name"] = "retail"
        connected, _ = await communicator.connect()
        assert connected
        await asyncio.to_thread(realtime.push_to_user, "retail", user_id, "order", {"id": 1},
                                html=lambda: '<tr id="order-1"></tr>')
        message = await communicator.receive_from(timeout=5)
        await communicator.disconnect()
        return message

    assert asyncio.run(scenario()) == '<tr id="order-1"></tr>'
