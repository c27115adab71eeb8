"""Server -> browser pushes over Channels. Pages subscribe to /ws/events/ with htmx's ws extension.

Pushes come from request threads and Dramatiq worker threads. `async_to_sync` per call would create an
event loop and Redis connections each time and block the caller until Redis answers, which stalled
whole workers under load. Instead one daemon thread per process owns one event loop (and the channel
layer's connections) and sends queued messages in order; callers hand over the message and go on.
A page missing one update is acceptable: the database is the record, pages re-read it.

Most events happen while their user has no page open (an alert at 3 a.m.). Each open page's websocket marks its
user as watched in Redis (renewed while it stays open), and a push to a user nobody watches is dropped before its
HTML fragment is rendered: rendering was about 1 ms of CPU per order step, a sixth of an account job.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable

from channels.layers import get_channel_layer
from django.core.cache import cache

logger = logging.getLogger(__name__)

SEND_TIMEOUT_S = 10.0
# an open page renews its mark every WATCH_RENEW_S; a page gone without a goodbye stops counting after WATCH_TTL_S
WATCH_TTL_S = 120
WATCH_RENEW_S = 45


def user_group(schema_name: str, user_id: int) -> str:
    return f"events.{schema_name}.{user_id}"


def _watch_key(group: str) -> str:
    return f"watching:{group}"


async def mark_watched(group: str) -> None:
    """An open page of this group's user (called by its websocket on connect, then every WATCH_RENEW_S)."""
    await cache.aset(_watch_key(group), 1, WATCH_TTL_S)


def is_watched(schema_name: str, user_id: int) -> bool:
    """Has the user a page open (in the last WATCH_TTL_S)? When Redis cannot tell, assume so."""
    try:
        return cache.get(_watch_key(user_group(schema_name, user_id))) is not None
    except Exception:
        return True


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


def push_to_user(schema_name: str, user_id: int, event: str, data: dict | None = None,
                 html: str | Callable[[], str] = "") -> None:
    """Send an event to every open page of one user; nothing when no page is open. `html` (optional) is an htmx
    out-of-band fragment, or a function rendering it, called only when some page will receive it."""
    if not is_watched(schema_name, user_id):
        return
    message = {"type": "app.event", "event": event, "data": data or {}, "html": html() if callable(html) else html}
    _pusher().submit(user_group(schema_name, user_id), message)
