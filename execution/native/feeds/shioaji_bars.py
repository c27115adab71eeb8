"""Shioaji quote callbacks aggregated into bars.

Register ``on_tick_stk_v1`` / ``on_tick_fop_v1`` with ``api.quote.set_on_tick_stk_v1_callback`` (or the FOP
one). Ticks carry the exchange-local time (Asia/Taipei, naive); a bar closes when the first tick of a later
bar arrives, or when ``flush(now)`` runs after the bar's end (a timer: quiet markets still close bars).
"""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

from strategies.pine.runtime.timeutil import parse_timeframe

from .base import BarFeed, ClosedBar

TAIPEI = ZoneInfo("Asia/Taipei")


class ShioajiBarFeed(BarFeed):
    source = "shioaji"

    def __init__(self, series, *, code: str, **kwargs) -> None:
        super().__init__(series, **kwargs)
        self.code = code
        self.tf_ms = parse_timeframe(series.timeframe).nominal_ms
        self._lock = threading.Lock()
        self._bar: list[float] | None = None  # [start_ms, open, high, low, close, volume]
        self.ticks_ignored = 0
        self._closed_until = 0  # ticks before this time belong to bars already stored

    # SDK callback signatures: (exchange, tick)
    def on_tick_stk_v1(self, exchange, tick) -> None:
        self.on_tick(tick)

    def on_tick_fop_v1(self, exchange, tick) -> None:
        self.on_tick(tick)

    def on_tick(self, tick) -> None:
        if str(getattr(tick, "code", "")) != self.code or getattr(tick, "simtrade", 0):
            self.ticks_ignored += 1  # another contract, or a trial-match (simulated) price before the open
            return
        moment = tick.datetime
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=TAIPEI)
        ms = int(moment.timestamp() * 1000)
        price = float(tick.close)
        volume = float(getattr(tick, "volume", 0) or 0)
        start = ms - ms % self.tf_ms
        closed = None
        with self._lock:
            bar = self._bar
            if start < self._closed_until or (bar is not None and start < bar[0]):
                self.ticks_ignored += 1  # late tick of a bar already closed
                return
            if bar is None or start > bar[0]:
                closed = bar
                self._closed_until = start
                self._bar = [start, price, price, price, price, volume]
            else:
                bar[2] = max(bar[2], price)
                bar[3] = min(bar[3], price)
                bar[4] = price
                bar[5] += volume
        if closed is not None:
            self.store([ClosedBar(int(closed[0]), *closed[1:])])

    def flush(self, now: dt.datetime | None = None) -> int:
        """Close the current bar once its time is over (no tick needed)."""
        now_ms = int((now or dt.datetime.now(dt.UTC)).timestamp() * 1000)
        with self._lock:
            bar = self._bar
            if bar is None or bar[0] + self.tf_ms > now_ms:
                return 0
            self._bar = None
            self._closed_until = int(bar[0]) + self.tf_ms
        return self.store([ClosedBar(int(bar[0]), *bar[1:])])

    def poll(self, now: dt.datetime | None = None) -> int:
        return self.flush(now)
