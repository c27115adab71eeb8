"""Dramatiq on the real Redis broker and Channels on the real Redis channel layer."""

import asyncio

import dramatiq
import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from dramatiq import Worker

from fourpass.actors import worker_heartbeat
from fourpass.asgi import application
from fourpass.consumers import EventsConsumer
from fourpass.health import heartbeat_key, redis_client
from fourpass.realtime import user_group
from fourpass.tasks import broker


@pytest.mark.django_db(transaction=False)
def test_an_enqueued_actor_runs_on_a_worker_through_redis():
    client = redis_client()
    client.delete(heartbeat_key())
    assert broker.__class__.__name__ == "RedisBroker"
    broker.flush(worker_heartbeat.queue_name)
    worker = Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        worker_heartbeat.send()
        broker.join(worker_heartbeat.queue_name, timeout=10_000)
        worker.join()
    finally:
        worker.stop()
    assert client.get(heartbeat_key()) is not None


def test_the_channel_layer_is_redis():
    assert get_channel_layer().__class__.__name__ == "RedisChannelLayer"


def test_events_reach_the_users_open_websocket(django_user_model):
    class FakeUser:
        pk = 4242
        is_authenticated = True

    async def scenario():
        communicator = WebsocketCommunicator(EventsConsumer.as_asgi(), "/ws/events/")
        communicator.scope["user"] = FakeUser()
        communicator.scope["schema_name"] = "retail"
        connected, _ = await communicator.connect()
        assert connected
        await get_channel_layer().group_send(
            user_group("retail", 4242), {"type": "app.event", "event": "fill", "data": {"qty": "1"}, "html": ""}
        )
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    assert asyncio.run(scenario()) == {"event": "fill", "data": {"qty": "1"}}


def test_anonymous_websockets_are_closed():
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/events/", headers=[(b"host", b"localhost")])
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    connected, _code = asyncio.run(scenario())
    assert not connected


def test_dramatiq_uses_the_configured_broker():
    assert dramatiq.get_broker() is broker
