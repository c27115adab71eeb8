from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from backtests.marketdata.models import MarketSeries, OHLCVBar
from backtests.marketdata.services import Bar, upsert_bars


@dataclass(frozen=True, slots=True)
class ClosedBar:
    time_ms: int  # bar open time, epoch ms UTC
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0

    @property
    def time(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time_ms / 1000, tz=dt.UTC)


# what to do once bars are stored; default: enqueue one runner step per running deployment of the series
Notifier = Callable[[MarketSeries], object]


def notify_deployments(series: MarketSeries) -> int:
    from execution.native import services

    return services.on_bars_stored(series.pk)


def last_stored_ms(series: MarketSeries) -> int | None:
    last = OHLCVBar.objects.filter(series=series).order_by("-time").values_list("time", flat=True).first()
    return None if last is None else int(last.timestamp() * 1000)


def store_closed_bars(series: MarketSeries, bars: Iterable[ClosedBar], *, notify: Notifier | None = notify_deployments
                      ) -> int:
    """Store closed bars (insert or correct) and, after the commit, trigger the deployments. Returns the count."""
    rows = sorted(bars, key=lambda b: b.time_ms)
    if not rows:
        return 0
    with transaction.atomic():
        upsert_bars(series, [Bar(b.time, b.open, b.high, b.low, b.close, b.volume) for b in rows])
        if notify is not None:
            schema = connection.schema_name
            transaction.on_commit(lambda: _notify_in(schema, notify, series))
    return len(rows)


def _notify_in(schema: str, notify: Notifier, series: MarketSeries) -> None:
    from django_tenants.utils import schema_context

    with schema_context(schema):
        notify(series)


class BarFeed(ABC):
    """A source of closed bars for one series. ``poll`` fetches what closed since the last stored bar,
    stores it and returns how many bars were stored (push feeds store from their callbacks instead)."""

    source = ""

    def __init__(self, series: MarketSeries, *, notify: Notifier | None = notify_deployments) -> None:
        self.series = series
        self.notify = notify

    @abstractmethod
    def poll(self, now: dt.datetime | None = None) -> int: ...

    def store(self, bars: Iterable[ClosedBar]) -> int:
        return store_closed_bars(self.series, bars, notify=self.notify)
