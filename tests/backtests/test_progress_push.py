"""Progress reaches the user's open pages over Channels (real Redis channel layer) as htmx OOB fragments."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from backtests import services
from backtests.models import RunStatus
from fourpass.realtime import mark_watched, user_group

from .factories import strategy_version

pytestmark = pytest.mark.django_db


def test_a_running_backtest_pushes_progress_fragments_to_the_owners_pages(eurusd, trader, in_retail):
    """Subscribes to the same group EventsConsumer joins for the owner's websocket."""
    run = services.start_backtest(trader, strategy_version(trader), symbol="FX:EURUSD", timeframe="60", enqueue=False)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group("retail", trader.pk), channel)
    async_to_sync(mark_watched)(user_group("retail", trader.pk))  # what the page's websocket does on connect

    services.execute_run(run.pk)

    async def drain():
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(layer.receive(channel), timeout=1))
            except TimeoutError:
                return messages

    messages = async_to_sync(drain)()
    async_to_sync(layer.group_discard)(user_group("retail", trader.pk), channel)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert {m["event"] for m in messages} == {"backtest.progress"}
    fragments = [m["html"] for m in messages]
    assert len(fragments) >= 3  # running, some progress, finished
    assert all(f'id="run-status-{run.pk}"' in f and 'hx-swap-oob="true"' in f for f in fragments)
    assert any(m["data"]["status"] == "running" and 0 < m["data"]["done"] < 23054 for m in messages)
    assert "Succeeded" in fragments[-1] and "data-finished" in fragments[-1]
    assert messages[-1]["data"] == {"run": run.pk, "status": "succeeded", "done": 23054, "total": 23054}
