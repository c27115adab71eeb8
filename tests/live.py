"""An open page of a user in tests: a websocket on /ws/events/ listening for pushes."""

import asyncio
import threading

from channels.testing import WebsocketCommunicator

from fourpass.consumers import EventsConsumer


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
