"""Trading calendars: when can an order for a venue be sent?

Sources
- TWSE/TPEx stocks: ``exchange_calendars`` XTAI (09:00-13:30 Asia/Taipei, TWSE holidays).
- TAIFEX: XTAI trading days with TAIFEX hours (taifex.com.tw "Trading Hours"): regular session
  08:45-13:45, index futures close at 13:30 on their final settlement day (third Wednesday of the
  month, or the next trading day when that is a holiday); after-hours ("night") session 15:00-05:00
  next day for index products, 17:25-05:00 for the others. A night session opened on trading day T
  belongs to the next trading day; it is not held before long closures (we treat a gap of more than
  four calendar days to the next trading day, e.g. Lunar New Year, as such a closure).
- NYSE/Nasdaq: ``exchange_calendars`` XNYS/XNAS (09:30-16:00 ET, holidays and 13:00 half days);
  extended hours 04:00-20:00 ET on trading days (post-market ends 17:00 on half days).
- Crypto: 24/7. Forex: Sunday 17:00 to Friday 17:00 New York time.

``exchange_calendars`` objects are slow to build (about a second), so each is built once per process.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import exchange_calendars as xc
import pandas as pd

from brokers.core.symbols import (
    CRYPTO_VENUES,
    FOREX_VENUES,
    TW_FUTURES_VENUES,
    TW_STOCK_VENUES,
    US_STOCK_VENUES,
    NormalizedSymbol,
)

TAIPEI = ZoneInfo("Asia/Taipei")
NEW_YORK = ZoneInfo("America/New_York")
TAIFEX_INDEX_PRODUCTS = {"TXF", "MXF", "TMF", "EXF", "FXF", "TXO", "MXO", "TE", "TF", "XIF", "GTF", "G2F", "E4F"}
SESSIONS = ("regular", "extended", "night")


@dataclass(frozen=True, slots=True)
class Session:
    name: str  # regular | pre | post | night | continuous
    open: dt.datetime
    close: dt.datetime

    def contains(self, moment: dt.datetime) -> bool:
        return self.open <= moment < self.close


@functools.lru_cache(maxsize=8)
def _calendar(code: str) -> xc.ExchangeCalendar:
    today = dt.date.today()
    return xc.get_calendar(code, start="2015-01-01", end=(today + dt.timedelta(days=3 * 365)).isoformat())


def _is_trading_day(code: str, day: dt.date) -> bool:
    calendar = _calendar(code)
    stamp = pd.Timestamp(day)
    if stamp < calendar.first_session or stamp > calendar.last_session:
        raise ValueError(f"{day} is outside the {code} calendar range ({calendar.first_session.date()}..{calendar.last_session.date()})")
    return bool(calendar.is_session(stamp))


def _next_trading_day(code: str, day: dt.date) -> dt.date:
    candidate = day + dt.timedelta(days=1)
    while not _is_trading_day(code, candidate):
        candidate += dt.timedelta(days=1)
    return candidate


def _at(day: dt.date, hour: int, minute: int, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def _third_wednesday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (2 - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 14)


def taifex_settlement_day(year: int, month: int) -> dt.date:
    """Final settlement day of TAIFEX index futures: third Wednesday, or the next trading day."""
    day = _third_wednesday(year, month)
    while not _is_trading_day("XTAI", day):
        day += dt.timedelta(days=1)
    return day


def _kind(venue: str | NormalizedSymbol) -> tuple[str, str]:
    """(market family, product root) for a venue code or a symbol."""
    if isinstance(venue, NormalizedSymbol):
        code, root = venue.venue, venue.base
    else:
        code, _, root = venue.upper().partition(":")
    if code in CRYPTO_VENUES or code == "CRYPTO":
        return "crypto", root
    if code in TW_STOCK_VENUES:
        return "tw_stock", root
    if code in TW_FUTURES_VENUES:
        return "taifex", root
    if code in US_STOCK_VENUES:
        return ("nasdaq" if code == "NASDAQ" else "nyse"), root
    if code in FOREX_VENUES:
        return "forex", root
    raise ValueError(f"no trading calendar for venue {code!r}")


def sessions_on(venue: str | NormalizedSymbol, day: dt.date) -> list[Session]:
    """Every session that OPENS on ``day`` (local date of the venue), in time order."""
    family, root = _kind(venue)
    if family == "crypto":
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        return [Session("continuous", start, start + dt.timedelta(days=1))]
    if family == "forex":
        if day.weekday() in (4, 5):  # Friday close 17:00 NY, nothing opens until Sunday
            return []
        open_ = _at(day, 17, 0, NEW_YORK)
        return [Session("continuous", open_, open_ + dt.timedelta(days=1))]
    if family == "tw_stock":
        if not _is_trading_day("XTAI", day):
            return []
        return [Session("regular", _at(day, 9, 0, TAIPEI), _at(day, 13, 30, TAIPEI))]
    if family == "taifex":
        if not _is_trading_day("XTAI", day):
            return []
        index_product = not root or root in TAIFEX_INDEX_PRODUCTS
        close = _at(day, 13, 45, TAIPEI)
        if index_product and day == taifex_settlement_day(day.year, day.month):
            close = _at(day, 13, 30, TAIPEI)
        result = [Session("regular", _at(day, 8, 45, TAIPEI), close)]
        following = _next_trading_day("XTAI", day)
        if (following - day).days <= 4:
            night_open = _at(day, 15, 0, TAIPEI) if index_product else _at(day, 17, 25, TAIPEI)
            result.append(Session("night", night_open, _at(day + dt.timedelta(days=1), 5, 0, TAIPEI)))
        return result
    code = "XNAS" if family == "nasdaq" else "XNYS"
    if not _is_trading_day(code, day):
        return []
    calendar = _calendar(code)
    stamp = pd.Timestamp(day)
    open_ = calendar.session_open(stamp).to_pydatetime().astimezone(NEW_YORK)
    close = calendar.session_close(stamp).to_pydatetime().astimezone(NEW_YORK)
    half_day = close.hour < 16
    return [
        Session("pre", _at(day, 4, 0, NEW_YORK), open_),
        Session("regular", open_, close),
        Session("post", close, _at(day, 17 if half_day else 20, 0, NEW_YORK)),
    ]


def _allowed(family: str, session_name: str, wanted: str) -> bool:
    if session_name == "continuous":
        return True
    if wanted == "regular":
        return session_name == "regular"
    if wanted == "extended":
        return session_name in ("regular", "pre", "post")
    if wanted == "night":
        return session_name in ("regular", "night")
    raise ValueError(f"session must be one of {SESSIONS}, got {wanted!r}")


def _local(venue, moment: dt.datetime) -> tuple[dt.datetime, str]:
    if moment.tzinfo is None:
        raise ValueError("use a timezone-aware datetime")
    family, _ = _kind(venue)
    tz = {"tw_stock": TAIPEI, "taifex": TAIPEI, "nyse": NEW_YORK, "nasdaq": NEW_YORK, "forex": NEW_YORK}.get(family, dt.UTC)
    return moment.astimezone(tz), family


def session_for(venue: str | NormalizedSymbol, moment: dt.datetime) -> Session | None:
    """The session in progress at ``moment`` (a night session that opened yesterday included)."""
    local, _ = _local(venue, moment)
    for day in (local.date() - dt.timedelta(days=1), local.date()):
        for session in sessions_on(venue, day):
            if session.contains(moment):
                return session
    return None


def is_open(venue: str | NormalizedSymbol, moment: dt.datetime, session: str = "regular") -> bool:
    """Can an order be worked at ``moment``? ``session``: 'regular', 'extended' (US pre/post market
    too) or 'night' (TAIFEX after-hours too)."""
    _, family = _local(venue, moment)
    current = session_for(venue, moment)
    return current is not None and _allowed(family, current.name, session)


def next_open(venue: str | NormalizedSymbol, moment: dt.datetime, session: str = "regular") -> dt.datetime:
    """Start of the next allowed session strictly after ``moment`` (or ``moment`` itself if open)."""
    if is_open(venue, moment, session):
        return moment
    local, family = _local(venue, moment)
    day = local.date()
    for offset in range(0, 30):
        for candidate in sessions_on(venue, day + dt.timedelta(days=offset)):
            if candidate.open >= moment and _allowed(family, candidate.name, session):
                return candidate.open
    raise ValueError(f"no {session} session for {venue} within 30 days of {moment}")
