"""A numpy-backed backtrader data feed.

backtrader's stock ``PandasData`` reads one DataFrame cell per line per bar; this feed fills the line
buffers in bulk from numpy arrays when backtrader preloads, so loading costs O(n) vectorized work.
"""

from __future__ import annotations

import array
from typing import Any

import backtrader as bt
import numpy as np

# backtrader stores datetimes as proleptic-Gregorian day numbers: 1970-01-01 00:00 UTC == 719163.0
_EPOCH_DAYNUM = 719163.0
_MS_PER_DAY = 86_400_000.0


def ms_to_daynum(time_ms: np.ndarray) -> np.ndarray:
    return _EPOCH_DAYNUM + np.asarray(time_ms, dtype=np.float64) / _MS_PER_DAY


class NumpyFeed(bt.feed.DataBase):
    """Feed from arrays: ``NumpyFeed(time_ms=..., open=..., high=..., low=..., close=..., volume=...)``.

    Works with ``cerebro.run(preload=True)`` (bulk fill) and ``preload=False`` (bar by bar).
    """

    params = (
        ("time_ms", None),
        ("open_", None),
        ("high", None),
        ("low", None),
        ("close", None),
        ("volume", None),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        p = self.p
        self._cols = {
            "datetime": ms_to_daynum(p.time_ms),
            "open": np.asarray(p.open_, dtype=np.float64),
            "high": np.asarray(p.high, dtype=np.float64),
            "low": np.asarray(p.low, dtype=np.float64),
            "close": np.asarray(p.close, dtype=np.float64),
            "volume": np.asarray(p.volume, dtype=np.float64) if p.volume is not None
            else np.zeros(len(p.time_ms)),
        }
        self._n = len(p.time_ms)
        self._pos = 0

    @classmethod
    def from_bars(cls, bars: Any, **kwargs: Any) -> NumpyFeed:
        return cls(time_ms=bars.time_ms, open_=bars.open, high=bars.high, low=bars.low, close=bars.close,
                   volume=bars.volume, **kwargs)

    def start(self) -> None:
        super().start()
        self._pos = 0

    def preload(self) -> None:
        n = self._n
        for name, values in self._cols.items():
            line = getattr(self.lines, name)
            line.array = array.array("d", values.tobytes()) if n else array.array("d")
        oi = self.lines.openinterest
        oi.array = array.array("d", bytes(8 * n))
        for line in self.lines:
            line.idx = n - 1
            line.lencount = n
        self._pos = n
        self._last()
        self.home()

    def _load(self) -> bool:
        k = self._pos
        if k >= self._n:
            return False
        c = self._cols
        self.lines.datetime[0] = c["datetime"][k]
        self.lines.open[0] = c["open"][k]
        self.lines.high[0] = c["high"][k]
        self.lines.low[0] = c["low"][k]
        self.lines.close[0] = c["close"][k]
        self.lines.volume[0] = c["volume"][k]
        self.lines.openinterest[0] = 0.0
        self._pos = k + 1
        return True
