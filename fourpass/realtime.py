"""Server -> browser pushes over Channels. Pages subscribe to /ws/events/ with htmx's ws extension.

Pushes come from request threads and Dramatiq worker threads. `async_to_sync` per call would create an
event loop and Redis connections each time and block the caller until Redis answers, which stalled
whole workers under load. Instead one daemon thread per process owns one event loop (and the channel
layer's connections) and sends queued messages in order; callers hand over the message and go on.
A page missing one update is acceptable: the database is the record, pages re-read it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

SEND_TIMEOUT_S = 10.0


def user_group(schema_name: str, user_id: int) -> str:
    return f"events.{schema_name}.{user_id}"


class _Pusher:
    """One event loop thread per process, sending messages in the order they were pushed."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue[tuple[str, dict]] | None = None
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), name="realtime-push", daemon=True).start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.queue = asyncio.Queue()
        self.loop.create_task(self._drain())
        ready.set()
        self.loop.run_forever()

    async def _drain(self) -> None:
        while True:
            group, message = await self.queue.get()
            try:
                await asyncio.wait_for(get_channel_layer().group_send(group, message), SEND_TIMEOUT_S)
            except Exception:
                logger.warning("live push to %s failed", group, exc_info=True)

    def submit(self, group: str, message: dict) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (group, message))


_pushers: dict[int, _Pusher] = {}
_lock = threading.Lock()


def _pusher() -> _Pusher:
    pid = os.getpid()  # a forked worker process needs its own thread and loop
    with _lock:
        if pid not in _pushers:
            _pushers[pid] = _Pusher()
        return _pushers[pid]


def push_to_user(schema_name: str, user_id: int, event: str, data: dict | None = None, html: str = "") -> None:
    """Send an event to every open page of one user. `html` (optional) is an htmx out-of-band fragment."""
    message = {"type": "app.event", "event": event, "data": data or {}, "html": html}
    _pusher().submit(user_group(schema_name, user_id), message)
