"""Time, time-zone and timeframe helpers for the Pine runtime.

All bar times are Unix epoch milliseconds (UTC).  Calendar fields follow the exchange time zone of the
symbol (``syminfo.timezone``), computed with ``zoneinfo`` so DST transitions are exact.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

NA = math.nan
MS_MINUTE = 60_000
MS_DAY = 86_400_000


# ------------------------------------------------------------------------------------------------
# Time zones
# ------------------------------------------------------------------------------------------------

_TZ_ALIASES = {
    "UTC": "Etc/UTC",
    "GMT": "Etc/UTC",
    "US/Eastern": "America/New_York",
    "EST": "America/New_York",
    "EXCHANGE": None,
}
_GMT_OFFSET = re.compile(r"^(?:UTC|GMT)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")


@lru_cache(maxsize=256)
def resolve_timezone(name: str | None, default: str = "Etc/UTC"):
    """Return a tzinfo for a Pine time-zone argument (IANA name or ``UTC+3``/``GMT-0530``)."""
    if not name:
        name = default
    name = name.strip()
    alias = _TZ_ALIASES.get(name, name)
    if alias is None:
        alias = default
    m = _GMT_OFFSET.match(alias)
    if m:
        sign = 1 if m.group(1) == "+" else -1
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        from datetime import timezone

        return timezone(sign * timedelta(minutes=minutes))
    try:
        return ZoneInfo(alias)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def exchange_timezone(ticker: str, symbol_type: str | None = None) -> str:
    """Default exchange time zone for a ``EXCHANGE:SYMBOL`` ticker."""
    exchange = ticker.split(":", 1)[0].upper() if ":" in ticker else ""
    if exchange in ("TWSE", "TPEX", "TAIFEX"):
        return "Asia/Taipei"
    if exchange in ("NYSE", "NASDAQ", "AMEX", "ARCA", "BATS", "CME", "CME_MINI", "CBOT", "NYMEX",
                    "NYMEX_MINI", "COMEX", "OANDA", "FX", "FXCM", "ALPACA"):
        return "America/New_York"
    if symbol_type in ("stock", "futures", "forex") and not exchange:
        return "America/New_York"
    return "Etc/UTC"


# ------------------------------------------------------------------------------------------------
# Calendar fields
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarArrays:
    year: np.ndarray
    month: np.ndarray
    dayofmonth: np.ndarray
    dayofweek: np.ndarray  # Pine: 1 = Sunday ... 7 = Saturday
    hour: np.ndarray
    minute: np.ndarray
    second: np.ndarray
    weekofyear: np.ndarray
    day_key: np.ndarray  # local calendar date as days since epoch (for grouping)


def calendar_arrays(time_ms: np.ndarray, tz: str) -> CalendarArrays:
    """Vectorized calendar fields of each bar time in time zone ``tz``."""
    idx = pd.DatetimeIndex(pd.to_datetime(np.asarray(time_ms, dtype=np.int64), unit="ms", utc=True))
    local = idx.tz_convert(resolve_timezone(tz))
    iso = local.isocalendar()
    naive = local.tz_localize(None)
    day_key = (naive.normalize().as_unit("s").asi8 // 86_400).astype(np.int64)
    return CalendarArrays(
        year=local.year.to_numpy(np.int64),
        month=local.month.to_numpy(np.int64),
        dayofmonth=local.day.to_numpy(np.int64),
        dayofweek=((local.day_of_week.to_numpy(np.int64) + 1) % 7) + 1,
        hour=local.hour.to_numpy(np.int64),
        minute=local.minute.to_numpy(np.int64),
        second=local.second.to_numpy(np.int64),
        weekofyear=iso["week"].to_numpy(np.int64),
        day_key=day_key,
    )


def trading_day_keys(time_ms: np.ndarray, tz: str, session_start_min: int = 0) -> np.ndarray:
    """Exchange trading day of each time (days since epoch): local wall-clock date of ``time - session
    start`` (a 17:00 session start puts 17:00 local, DST or not, on the next trading day)."""
    idx = pd.DatetimeIndex(pd.to_datetime(np.asarray(time_ms, dtype=np.int64), unit="ms", utc=True))
    local_ms = idx.tz_convert(resolve_timezone(tz)).tz_localize(None).as_unit("ms").asi8
    return ((local_ms - session_start_min * 60_000) // MS_DAY).astype(np.int64)


def local_datetime(time_ms: float, tz: str) -> datetime:
    return datetime.fromtimestamp(time_ms / 1000.0, tz=resolve_timezone(tz))


def calendar_field(name: str, time_ms: float, tz: str) -> float | int:
    """One calendar field (``year``/``month``/... as Pine defines them) of ``time_ms`` in ``tz``."""
    if time_ms is None or time_ms != time_ms:
        return NA
    dt = local_datetime(time_ms, tz)
    if name == "year":
        return dt.year
    if name == "month":
        return dt.month
    if name == "dayofmonth":
        return dt.day
    if name == "dayofweek":
        return (dt.weekday() + 1) % 7 + 1
    if name == "hour":
        return dt.hour
    if name == "minute":
        return dt.minute
    if name == "second":
        return dt.second
    if name == "weekofyear":
        return dt.isocalendar()[1]
    raise ValueError(name)


def timestamp_ms(tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0,
                 second: int = 0) -> float:
    """Pine ``timestamp(tz, y, m, d, h, mi, s)``; out-of-range fields roll over like TradingView."""
    vals = (year, month, day, hour, minute, second)
    if any(v is None or (isinstance(v, float) and v != v) for v in vals):
        return NA
    year, month, day, hour, minute, second = (int(v) for v in vals)
    # Normalize month overflow, then add the remaining fields as a timedelta (TV rolls over).
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    base = datetime(year, month, 1)
    naive = base + timedelta(days=day - 1, hours=hour, minutes=minute, seconds=second)
    aware = naive.replace(tzinfo=resolve_timezone(tz))
    return float(int(aware.timestamp() * 1000))


def parse_timestamp_string(text: str) -> float:
    """Pine ``timestamp("2020-02-20T15:30:00+0300")`` / ``"20 Feb 2020 15:30 +0300"``."""
    s = text.strip()
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        dt = None
        for fmt in ("%d %b %Y %H:%M %z", "%d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M", "%d %b %Y",
                    "%b %d %Y %H:%M %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M"):
            try:
                dt = datetime.strptime(s.replace("GMT", "").strip(), fmt)
                break
            except ValueError:
                continue
        if dt is None:
            raise ValueError(f"cannot parse timestamp {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return float(int(dt.timestamp() * 1000))


def ms_to_iso(time_ms: int | float, tz: str = "Etc/UTC") -> str:
    if time_ms is None or time_ms != time_ms:
        return ""
    return datetime.fromtimestamp(time_ms / 1000.0, tz=resolve_timezone(tz)).isoformat()


# ------------------------------------------------------------------------------------------------
# Timeframes
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeframe:
    """A Pine timeframe string: ``"1S"``, ``"60"``, ``"240"``, ``"D"``, ``"3D"``, ``"W"``, ``"M"``, ``"12M"``."""

    multiplier: int
    unit: str  # "S" | "" (minutes) | "D" | "W" | "M"

    @property
    def period(self) -> str:
        if self.unit == "":
            return str(self.multiplier)
        return self.unit if self.multiplier == 1 and self.unit in "DWM" else f"{self.multiplier}{self.unit}"

    @property
    def isseconds(self) -> bool:
        return self.unit == "S"

    @property
    def isminutes(self) -> bool:
        return self.unit == ""

    @property
    def isintraday(self) -> bool:
        return self.unit in ("S", "")

    @property
    def isdaily(self) -> bool:
        return self.unit == "D"

    @property
    def isweekly(self) -> bool:
        return self.unit == "W"

    @property
    def ismonthly(self) -> bool:
        return self.unit == "M"

    @property
    def isdwm(self) -> bool:
        return self.unit in ("D", "W", "M")

    @property
    def in_seconds(self) -> int:
        per = {"S": 1, "": 60, "D": 86400, "W": 7 * 86400, "M": int(30.4375 * 86400)}[self.unit]
        return self.multiplier * per

    @property
    def nominal_ms(self) -> int:
        return self.in_seconds * 1000

    def __str__(self) -> str:
        return self.period


_TF_RE = re.compile(r"^\s*(\d*)\s*([SDWMHsdwmh]?)\s*$")


def parse_timeframe(text: str | int) -> Timeframe:
    """Parse ``"60"``, ``"1h"``, ``"4H"``, ``"D"``, ``"1D"``, ``"W"``, ``"M"``, ``"15S"``."""
    s = str(text).strip()
    if s.lower().endswith("min"):
        s = s[:-3]
    m = _TF_RE.match(s)
    if not m or (not m.group(1) and not m.group(2)):
        raise ValueError(f"invalid timeframe {text!r}")
    mult = int(m.group(1)) if m.group(1) else 1
    unit = m.group(2).upper()
    if mult <= 0:
        raise ValueError(f"invalid timeframe {text!r}")
    if unit == "H":
        return Timeframe(mult * 60, "")
    if unit == "S" and mult % 60 == 0:
        return Timeframe(mult // 60, "")
    if unit == "" and mult % 1440 == 0 and mult >= 1440:
        return Timeframe(mult // 1440, "D")
    return Timeframe(mult, unit)


def timeframe_from_seconds(seconds: float) -> str:
    seconds = int(seconds)
    if seconds % (7 * 86400) == 0:
        return f"{seconds // (7 * 86400)}W"
    if seconds % 86400 == 0:
        return f"{seconds // 86400}D"
    if seconds % 60 == 0:
        return str(seconds // 60)
    return f"{seconds}S"


def infer_timeframe(time_ms: np.ndarray) -> str:
    """Timeframe of a bar series: the most common spacing between consecutive bars."""
    if len(time_ms) < 2:
        return "D"
    diffs = np.diff(np.asarray(time_ms, dtype=np.int64))
    diffs = diffs[diffs > 0]
    if not len(diffs):
        return "D"
    vals, counts = np.unique(diffs, return_counts=True)
    ms = int(vals[np.argmax(counts)])
    if ms >= 28 * MS_DAY:
        return "M"
    return timeframe_from_seconds(ms // 1000)


def next_bucket_start(start_ms: int, tf: Timeframe, tz: str) -> int:
    """Start of the bucket after the one starting at ``start_ms`` (its nominal end)."""
    if tf.isintraday:
        return start_ms + tf.in_seconds * 1000
    dt = datetime.fromtimestamp(start_ms / 1000.0, tz=resolve_timezone(tz))
    if tf.isdaily:
        nxt = (dt.replace(tzinfo=None) + timedelta(days=tf.multiplier))
    elif tf.isweekly:
        nxt = (dt.replace(tzinfo=None) + timedelta(days=7 * tf.multiplier))
    else:
        m = dt.month - 1 + tf.multiplier
        nxt = dt.replace(tzinfo=None, year=dt.year + m // 12, month=m % 12 + 1, day=1)
    return int(nxt.replace(tzinfo=resolve_timezone(tz)).timestamp() * 1000)


# ------------------------------------------------------------------------------------------------
# Sessions
# ------------------------------------------------------------------------------------------------

_SESSION_PART = re.compile(r"^(\d{4})-(\d{4})$")


@dataclass(frozen=True)
class Session:
    ranges: tuple[tuple[int, int], ...]  # minutes from local midnight, [start, end); end <= start wraps
    days: frozenset[int]  # Pine day numbers 1=Sunday..7=Saturday

    def contains(self, dt: datetime) -> bool:
        minute = dt.hour * 60 + dt.minute
        pine_dow = (dt.weekday() + 1) % 7 + 1
        for start, end in self.ranges:
            if start < end:
                if start <= minute < end and pine_dow in self.days:
                    return True
            else:  # overnight session: the part after midnight belongs to the previous day's session
                if minute >= start and pine_dow in self.days:
                    return True
                prev_dow = (pine_dow - 2) % 7 + 1
                if minute < end and (pine_dow in self.days or prev_dow in self.days):
                    return True
        return False


@lru_cache(maxsize=128)
def parse_session(text: str) -> Session:
    """Parse ``"0930-1600"``, ``"0930-1200,1300-1600:23456"``, ``"24x7"``, ``"1700-1700"``."""
    s = (text or "").strip()
    if s in ("", "24x7", "0000-0000"):
        return Session(((0, 24 * 60),), frozenset(range(1, 8)))
    days = frozenset(range(1, 8))
    if ":" in s:
        s, d = s.split(":", 1)
        days = frozenset(int(ch) for ch in d if ch.isdigit())
    ranges = []
    for part in s.split(","):
        m = _SESSION_PART.match(part.strip())
        if not m:
            raise ValueError(f"invalid session {text!r}")
        a, b = m.group(1), m.group(2)
        start = int(a[:2]) * 60 + int(a[2:])
        end = int(b[:2]) * 60 + int(b[2:])
        if start == end:
            start, end = 0, 24 * 60
        ranges.append((start, end))
    return Session(tuple(ranges), days)


def in_session(time_ms: float, session: str, tz: str) -> bool:
    if time_ms is None or time_ms != time_ms:
        return False
    return parse_session(session).contains(local_datetime(time_ms, tz))
