"""Reads for native deployments: bars of a series, deployments by owner/series, recent signals and orders."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.db import connection
from django.db.models import QuerySet

from backtests.marketdata.models import MarketSeries, OHLCVBar
from execution.models import Order, SignalRecord
from strategies.pine.runtime.broker import SymbolInfo
from strategies.pine.runtime.engine import Bars

from .models import Deployment, DeploymentEvent, DeploymentSignal

_STOCK_VENUES = {"NASDAQ", "NYSE", "AMEX", "TWSE", "TPEX", "ARCA", "BATS"}
_FUTURES_VENUES = {"TAIFEX", "CME", "CME_MINI", "CBOT", "NYMEX", "COMEX"}
_FOREX_VENUES = {"FX", "OANDA", "FX_IDC", "FXCM", "SAXO"}


def symbol_info_for(series: MarketSeries) -> SymbolInfo:
    venue = series.symbol.split(":", 1)[0].upper()
    kind = "crypto"
    if venue in _STOCK_VENUES:
        kind = "stock"
    elif venue in _FUTURES_VENUES:
        kind = "futures"
    elif venue in _FOREX_VENUES:
        kind = "forex"
    return SymbolInfo(ticker=series.symbol, mintick=float(series.mintick), pointvalue=float(series.pointvalue),
                      type=kind, timezone=series.timezone or "Etc/UTC")


def _as_bars(rows: list[tuple]) -> Bars:
    data = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return Bars(time_ms=data[:, 0].astype(np.int64), open=data[:, 1], high=data[:, 2], low=data[:, 3],
                close=data[:, 4], volume=data[:, 5])


def history_bars(series_id: int, limit: int, until: dt.datetime | None = None) -> Bars:
    """The most recent ``limit`` stored bars (up to ``until`` inclusive), oldest first."""
    table = OHLCVBar._meta.db_table
    sql = (f"SELECT (extract(epoch from time) * 1000)::int8, open, high, low, close, volume FROM {table} "  # noqa: S608
           "WHERE series_id = %s")
    params: list = [series_id]
    if until is not None:
        sql += " AND time <= %s"
        params.append(until)
    sql += " ORDER BY time DESC LIMIT %s"
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    rows.reverse()
    return _as_bars(rows)


def bar_rows_after(series_id: int, after: dt.datetime | None, limit: int = 1000) -> tuple[list[tuple], int]:
    """Up to ``limit`` stored bars after ``after``, oldest first, as ``(time_ms, open, high, low, close, volume)``
    tuples, and how many bars follow ``after`` in all."""
    table = OHLCVBar._meta.db_table
    where = "WHERE series_id = %s" + (" AND time > %s" if after is not None else "")
    params: list = [series_id] + ([after] if after is not None else [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (extract(epoch from time) * 1000)::int8, open, high, low, close, volume FROM {table} "  # noqa: S608
            f"{where} ORDER BY time LIMIT %s", [*params, limit])
        rows = [(int(t), float(o), float(h), float(lo), float(c), float(v)) for t, o, h, lo, c, v in cursor.fetchall()]
        total = len(rows)
        if total == limit:
            cursor.execute(f"SELECT count(*) FROM {table} {where}", params)  # noqa: S608
            total = cursor.fetchone()[0]
    return rows, total


def latest_backtest(user, version_id: int | str):
    """The user's most recent backtest of a strategy version (any status), with its result summary; or None."""
    from backtests.models import BacktestRun

    try:
        version_id = int(version_id)
    except (TypeError, ValueError):
        return None
    return (BacktestRun.objects.filter(owner=user, strategy_version_id=version_id, sweep__isnull=True)
            .select_related("result", "strategy_version").order_by("-created_at").first())


def deployments_for(user) -> QuerySet[Deployment]:
    return (Deployment.objects.filter(owner=user)
            .select_related("strategy_version__strategy", "series").order_by("-created_at"))


def deployment_for(user, pk: int) -> Deployment:
    return deployments_for(user).get(pk=pk)


def active_deployment_ids_for_series(series_id: int) -> list[int]:
    return list(Deployment.objects.filter(series_id=series_id, status=Deployment.Status.RUNNING)
                .values_list("pk", flat=True))


def active_count(user) -> int:
    return Deployment.objects.filter(owner=user, status__in=Deployment.ACTIVE).count()


def recent_signals(deployment: Deployment, limit: int = 20) -> list[DeploymentSignal]:
    return list(deployment.signals.order_by("-sequence")[:limit])


def recent_orders(deployment: Deployment, limit: int = 20) -> list[Order]:
    return list(Order.objects.filter(execution__signal__deployment_id=deployment.pk).order_by("-created_at")[:limit])


def order_count(deployment: Deployment) -> int:
    return Order.objects.filter(execution__signal__deployment_id=deployment.pk).count()


def recent_events(deployment: Deployment, limit: int = 100) -> list[DeploymentEvent]:
    return list(deployment.events.select_related("actor")[:limit])


def signal_records(deployment: Deployment) -> QuerySet[SignalRecord]:
    return SignalRecord.objects.filter(deployment_id=deployment.pk)
