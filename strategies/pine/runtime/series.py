"""Bar data held by a running script: append-only Python lists (fast scalar indexing) + calendar fields.

Lists of Python floats are used on the hot path instead of numpy arrays: indexing a list returns a
Python float directly, avoiding numpy scalar boxing on every read.
"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np

from .timeutil import MS_DAY, calendar_arrays, local_datetime, trading_day_keys

NA = math.nan

CALENDAR_FIELDS = ("year", "month", "dayofmonth", "dayofweek", "hour", "minute", "second", "weekofyear")


class BarData:
    """OHLCV of the bars a script sees, with exchange-time-zone calendar fields per bar."""

    def __init__(self, tz: str, tf_ms: int, session_start_min: int = 0) -> None:
        self.tz = tz
        self.tf_ms = tf_ms
        self.session_start_min = session_start_min
        self.t: list[int] = []
        self.o: list[float] = []
        self.h: list[float] = []
        self.l: list[float] = []
        self.c: list[float] = []
        self.v: list[float] = []
        self.cal: dict[str, list[int]] = {name: [] for name in CALENDAR_FIELDS}
        self.day_key: list[int] = []  # exchange trading day of each bar (days since epoch)
        self.total: int | None = None  # number of bars when known in advance (batch runs)

    @classmethod
    def from_arrays(cls, time_ms: np.ndarray, o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray,
                    v: np.ndarray, tz: str, tf_ms: int, session_start_min: int = 0) -> BarData:
        bd = cls(tz, tf_ms, session_start_min)
        t = np.asarray(time_ms, dtype=np.int64)
        bd.t = t.tolist()
        bd.o = np.asarray(o, dtype=np.float64).tolist()
        bd.h = np.asarray(h, dtype=np.float64).tolist()
        bd.l = np.asarray(low, dtype=np.float64).tolist()
        bd.c = np.asarray(c, dtype=np.float64).tolist()
        bd.v = np.asarray(v, dtype=np.float64).tolist()
        if len(t):
            cal = calendar_arrays(t, tz)
            for name in CALENDAR_FIELDS:
                bd.cal[name] = getattr(cal, name).tolist()
            bd.day_key = trading_day_keys(t, tz, session_start_min).tolist()
        bd.total = len(bd.t)
        return bd

    def append(self, time_ms: int, o: float, h: float, low: float, c: float, v: float) -> None:
        self.t.append(int(time_ms))
        self.o.append(float(o))
        self.h.append(float(h))
        self.l.append(float(low))
        self.c.append(float(c))
        self.v.append(float(v))
        dt = local_datetime(time_ms, self.tz)
        cal = self.cal
        cal["year"].append(dt.year)
        cal["month"].append(dt.month)
        cal["dayofmonth"].append(dt.day)
        cal["dayofweek"].append(dt.isoweekday() % 7 + 1)
        cal["hour"].append(dt.hour)
        cal["minute"].append(dt.minute)
        cal["second"].append(dt.second)
        cal["weekofyear"].append(dt.isocalendar()[1])
        local = dt.replace(tzinfo=None) - timedelta(minutes=self.session_start_min)
        self.day_key.append(local.toordinal() - 719163)

    def extend(self, time_ms: np.ndarray, o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray,
               v: np.ndarray) -> None:
        """Append many bars at once (calendar fields vectorized)."""
        t = np.asarray(time_ms, dtype=np.int64)
        if not len(t):
            return
        self.t.extend(t.tolist())
        for lst, arr in ((self.o, o), (self.h, h), (self.l, low), (self.c, c), (self.v, v)):
            lst.extend(np.asarray(arr, dtype=np.float64).tolist())
        cal = calendar_arrays(t, self.tz)
        for name in CALENDAR_FIELDS:
            self.cal[name].extend(getattr(cal, name).tolist())
        self.day_key.extend(trading_day_keys(t, self.tz, self.session_start_min).tolist())

    def __len__(self) -> int:
        return len(self.t)

    def numpy(self) -> dict[str, np.ndarray]:
        return {
            "time": np.asarray(self.t, dtype=np.int64),
            "open": np.asarray(self.o, dtype=np.float64),
            "high": np.asarray(self.h, dtype=np.float64),
            "low": np.asarray(self.l, dtype=np.float64),
            "close": np.asarray(self.c, dtype=np.float64),
            "volume": np.asarray(self.v, dtype=np.float64),
        }


def day_start_ms(day_key: int, tz: str) -> int:
    """UTC ms of local midnight of a day key (days since epoch in the exchange time zone)."""
    from datetime import datetime, timedelta

    from .timeutil import resolve_timezone

    naive = datetime(1970, 1, 1) + timedelta(days=day_key)
    return int(naive.replace(tzinfo=resolve_timezone(tz)).timestamp() * 1000)


__all__ = ["CALENDAR_FIELDS", "MS_DAY", "BarData", "day_start_ms"]
