"""Pine timeframe strings ("1", "15", "60", "240", "1D", "D", "1W", "1M", "30S") and their durations."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERN = re.compile(r"^(\d*)([SDWM]?)$")


class UnknownTimeframe(ValueError):
    pass


@dataclass(frozen=True)
class Timeframe:
    """A parsed Pine timeframe: `unit` is "S" (seconds), "m" (minutes), "D", "W" or "M" (months)."""

    count: int
    unit: str

    @property
    def pine(self) -> str:
        if self.unit == "m":
            return str(self.count)
        return f"{self.count}{self.unit}"

    @property
    def is_intraday(self) -> bool:
        return self.unit in ("S", "m")

    @property
    def seconds(self) -> int:
        """Nominal length (a month counts 30 days); use for expected-interval checks only."""
        per_unit = {"S": 1, "m": 60, "D": 86_400, "W": 7 * 86_400, "M": 30 * 86_400}[self.unit]
        return self.count * per_unit

    @property
    def sql_interval(self) -> str:
        unit = {"S": "seconds", "m": "minutes", "D": "days", "W": "days", "M": "months"}[self.unit]
        count = self.count * 7 if self.unit == "W" else self.count
        return f"{count} {unit}"

    def divides(self, other: Timeframe) -> bool:
        """True when bars of `self` aggregate exactly into bars of `other` (1 -> 60, 60 -> 1D, 1D -> 1W...)."""
        if other.unit == "M":
            return self.unit != "M" or other.count % self.count == 0
        if self.unit == "M":
            return False
        if self.unit == "W" and other.unit != "W":
            return False
        if other.unit in ("D", "W") and self.is_intraday:
            return 86_400 % self.seconds == 0
        return other.seconds % self.seconds == 0 and other.seconds >= self.seconds


def parse_timeframe(value: str) -> Timeframe:
    text = (value or "").strip().upper()
    aliases = {"1H": "60", "4H": "240", "2H": "120", "H": "60", "MIN": "1"}
    text = aliases.get(text, text)
    if text.endswith("H") and text[:-1].isdigit():
        text = str(int(text[:-1]) * 60)
    match = _PATTERN.match(text)
    if not match or (not match.group(1) and not match.group(2)):
        raise UnknownTimeframe(f"'{value}' is not a timeframe (use 1, 5, 15, 60, 240, 1D, 1W, 1M)")
    count = int(match.group(1) or 1)
    if count <= 0:
        raise UnknownTimeframe(f"'{value}' is not a timeframe")
    unit = match.group(2) or "m"
    return Timeframe(count, unit)


def normalize_timeframe(value: str) -> str:
    return parse_timeframe(value).pine


# ccxt timeframe names for the Pine ones we fetch.
def ccxt_timeframe(value: str) -> str:
    tf = parse_timeframe(value)
    if tf.unit == "m":
        return f"{tf.count // 60}h" if tf.count % 60 == 0 else f"{tf.count}m"
    return {"S": f"{tf.count}s", "D": f"{tf.count}d", "W": f"{tf.count}w", "M": f"{tf.count}M"}[tf.unit]
