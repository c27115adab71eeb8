"""Plays stored (or given) bars into a series at high speed: tests, demos and what-if runs."""

from __future__ import annotations

import datetime as dt

from strategies.pine.runtime.engine import Bars

from .base import BarFeed, ClosedBar


class ReplayFeed(BarFeed):
    source = "replay"

    def __init__(self, series, bars: Bars, *, per_poll: int = 1, **kwargs) -> None:
        super().__init__(series, **kwargs)
        self.bars = bars
        self.position = 0
        self.per_poll = per_poll

    @property
    def remaining(self) -> int:
        return len(self.bars) - self.position

    def poll(self, now: dt.datetime | None = None) -> int:
        """Store the next ``per_poll`` bars as if they had just closed."""
        end = min(len(self.bars), self.position + self.per_poll)
        b = self.bars
        chunk = [ClosedBar(int(b.time_ms[i]), float(b.open[i]), float(b.high[i]), float(b.low[i]), float(b.close[i]),
                           float(b.volume[i])) for i in range(self.position, end)]
        self.position = end
        return self.store(chunk)

    def play(self, count: int | None = None) -> int:
        stored = 0
        while self.remaining and (count is None or stored < count):
            stored += self.poll()
        return stored
