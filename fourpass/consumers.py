import asyncio
import contextlib
import json
import logging

from channels.generic.websocket import AsyncWebsocketConsumer

from .realtime import WATCH_RENEW_S, mark_watched, user_group

logger = logging.getLogger(__name__)


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
        await self._mark_watched()
        self.renewal = asyncio.create_task(self._keep_watching())
        await self.accept()

    async def _mark_watched(self) -> None:
        try:
            await mark_watched(self.group)
        except Exception:  # Redis trouble: pushes are then sent regardless (realtime.is_watched)
            logger.warning("could not mark %s as watched", self.group, exc_info=True)

    async def _keep_watching(self) -> None:
        while True:
            await asyncio.sleep(WATCH_RENEW_S)
            await self._mark_watched()

    async def disconnect(self, code):
        if hasattr(self, "renewal"):
            self.renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.renewal
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def app_event(self, message):
        if message.get("html"):
            await self.send(text_data=message["html"])
        else:
            await self.send(text_data=json.dumps({"event": message["event"], "data": message["data"]}))
