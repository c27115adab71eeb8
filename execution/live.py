"""Fire-and-forget pushes to users' open pages from worker threads.

``fourpass.realtime.push_to_user`` runs ``async_to_sync`` per call, which creates an event loop and Redis
connections each time and blocks the calling thread until Redis answers; under load that stalled whole
Dramatiq workers. Here one daemon thread per process owns one event loop (and the channel layer's
connections); callers hand it the message and go on. Messages are those of ``push_to_user``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from channels.layers import get_channel_layer

from fourpass.realtime import user_group

logger = logging.getLogger(__name__)
_loops: dict[int, asyncio.AbstractEventLoop] = {}
_lock = threading.Lock()
SEND_TIMEOUT_S = 10.0


def _loop() -> asyncio.AbstractEventLoop:
    pid = os.getpid()
    with _lock:
        loop = _loops.get(pid)
        if loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="live-push", daemon=True).start()
            _loops[pid] = loop
        return loop


async def _send(group: str, message: dict) -> None:
    try:
        await asyncio.wait_for(get_channel_layer().group_send(group, message), SEND_TIMEOUT_S)
    except Exception:  # a page missing one update is fine; the database is the record
        logger.warning("live push to %s failed", group, exc_info=True)


def push(schema_name: str, user_id: int, event: str, data: dict | None = None, html: str = "") -> None:
    message = {"type": "app.event", "event": event, "data": data or {}, "html": html}
    asyncio.run_coroutine_threadsafe(_send(user_group(schema_name, user_id), message), _loop())
