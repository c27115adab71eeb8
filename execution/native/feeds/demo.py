"""The paper/demo feed: a deterministic random walk per series, one bar per timeframe of wall-clock time, so
paper deployments on demo symbols run around the clock without any exchange."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random

from strategies.pine.runtime.timeutil import parse_timeframe

from .base import BarFeed, ClosedBar, last_stored_ms

MAX_BARS_PER_POLL = 1000


class DemoFeed(BarFeed):
    source = "demo"

    def __init__(self, series, *, start_price: float = 100.0, volatility: float = 0.002, **kwargs) -> None:
        super().__init__(series, **kwargs)
        self.tf_ms = parse_timeframe(series.timeframe).nominal_ms
        self.start_price = start_price
        self.volatility = volatility

    def _rng(self, time_ms: int) -> random.Random:
        seed = hashlib.sha256(f"{self.series.symbol}|{self.series.timeframe}|{time_ms}".encode()).digest()
        return random.Random(int.from_bytes(seed[:8], "big"))

    def bar_at(self, time_ms: int, previous_close: float) -> ClosedBar:
        rng = self._rng(time_ms)
        steps = [rng.gauss(0.0, self.volatility) for _ in range(8)]
        prices = [previous_close]
        for step in steps:
            prices.append(max(prices[-1] * math.exp(step), 1e-6))
        return ClosedBar(time_ms, prices[0], max(prices), min(prices), prices[-1], float(rng.randint(1, 1000)))

    def poll(self, now: dt.datetime | None = None) -> int:
        now_ms = int((now or dt.datetime.now(dt.UTC)).timestamp() * 1000)
        last = last_stored_ms(self.series)
        if last is None:
            last = (now_ms // self.tf_ms - 2) * self.tf_ms
            previous = self.start_price
        else:
            from backtests.marketdata.models import OHLCVBar

            previous = OHLCVBar.objects.filter(series=self.series).order_by("-time").values_list(
                "close", flat=True).first()
        bars = []
        t = last + self.tf_ms
        while t + self.tf_ms <= now_ms and len(bars) < MAX_BARS_PER_POLL:  # only bars that have closed
            bar = self.bar_at(t, previous)
            bars.append(bar)
            previous = bar.close
            t += self.tf_ms
        return self.store(bars)
