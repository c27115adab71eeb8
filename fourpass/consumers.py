import json

from channels.generic.websocket import AsyncWebsocketConsumer

from .realtime import user_group


class EventsConsumer(AsyncWebsocketConsumer):
    """Pushes a logged-in user's events (fills, order updates, backtest progress) to their open pages."""

    async def connect(self):
        user = self.scope.get("user")
        schema_name = self.scope.get("schema_name")
        if user is None or not user.is_authenticated or not schema_name:
            await self.close(code=4401)
            return
        self.group = user_group(schema_name, user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def app_event(self, message):
        if message.get("html"):
            await self.send(text_data=message["html"])
        else:
            await self.send(text_data=json.dumps({"event": message["event"], "data": message["data"]}))
