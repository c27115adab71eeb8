"""Reads for the backtests UI and API: runs, trade pages, chart payloads, statistics, sweeps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from accounts.models import User
from backtests.marketdata import selectors as market
from strategies.models import StrategyVersion

from .models import BacktestRun, BacktestTrade, ParameterSweep, RunStatus

TRADE_SORTS = {
    "number": "number", "entry": "entry_time", "exit": "exit_time", "direction": "direction",
    "profit": "profit", "profit_pct": "profit_percent", "runup": "run_up", "drawdown": "drawdown",
    "qty": "quantity", "bars": "bars_held",
}
TRADES_PER_PAGE = 50
CHART_MAX_BARS = 200_000


def runs_for(user: User) -> QuerySet[BacktestRun]:
    """The user's runs (retail users share a schema, so always scope by owner)."""
    return BacktestRun.objects.filter(owner_id=user.pk).select_related("strategy_version__strategy")


def run_for(user: User, pk: int) -> BacktestRun:
    return runs_for(user).get(pk=pk)


def sweeps_for(user: User) -> QuerySet[ParameterSweep]:
    return ParameterSweep.objects.filter(owner_id=user.pk).select_related("strategy_version__strategy")


def versions_for(user: User) -> QuerySet[StrategyVersion]:
    return StrategyVersion.objects.filter(strategy__owner_id=user.pk).select_related("strategy").order_by(
        "strategy__name", "-number"
    )


def trades_page(run: BacktestRun, sort: str = "number", page: int | str = 1) -> tuple[Page, str]:
    """A page of the run's trades; `sort` is a TRADE_SORTS key, '-' prefixed for descending."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in TRADE_SORTS:
        key, descending = "number", False
    field = TRADE_SORTS[key]
    order = [f"-{field}" if descending else field, "number"]
    paginator = Paginator(BacktestTrade.objects.filter(run=run).order_by(*order), TRADES_PER_PAGE)
    return paginator.get_page(page), ("-" if descending else "") + key


def trade_rows(run: BacktestRun) -> list[dict]:
    return list(BacktestTrade.objects.filter(run=run).order_by("number").values())


def _local_seconds(times_ms: np.ndarray, timezone: str) -> np.ndarray:
    """Epoch seconds shifted by the exchange's UTC offset, so the chart's axis reads exchange time."""
    if len(times_ms) == 0:
        return np.zeros(0, dtype=np.int64)
    stamps = pd.to_datetime(times_ms, unit="ms", utc=True)
    local = stamps.tz_convert(timezone or "UTC").tz_localize(None)
    return local.as_unit("s").asi8.astype(np.int64)


def _rounded(values: list, digits: int = 8) -> list:
    return [None if v is None else round(v, digits) for v in values]


def chart_payload(run: BacktestRun) -> dict[str, Any]:
    """Candles, trade markers, plot overlays, equity/buy-and-hold and drawdown for the results page.

    Times are seconds in the exchange's local time (lightweight-charts has no time zone support)."""
    result = run.result
    times = np.asarray(result.times, dtype=np.int64)
    keep = slice(max(0, len(times) - CHART_MAX_BARS), len(times))  # a browser chart of millions of bars is unusable
    times = times[keep]
    timezone = run.stored_series.timezone if run.stored_series else "UTC"
    if len(times):
        start = pd.Timestamp(int(times[0]), unit="ms", tz="UTC").to_pydatetime()
        end = pd.Timestamp(int(times[-1]), unit="ms", tz="UTC").to_pydatetime()
        _, bars = market.load_series_bars(run.symbol, run.timeframe, start, end)
    else:
        bars = {k: np.zeros(0) for k in market.BAR_FIELDS}
    local = _local_seconds(bars["time"], timezone)
    local_by_ms = dict(zip(bars["time"].tolist(), local.tolist(), strict=True))
    result_local = [local_by_ms.get(t) for t in times.tolist()]

    def to_local(ms: int | None) -> int | None:
        if ms is None:
            return None
        if ms in local_by_ms:
            return local_by_ms[ms]
        return int(_local_seconds(np.array([ms]), timezone)[0])

    markers = []
    trades = list(BacktestTrade.objects.filter(run=run).order_by("number").values(
        "number", "direction", "entry_time", "entry_price", "entry_signal", "exit_time", "exit_price",
        "exit_signal", "is_open", "profit", "quantity",
    ))
    for trade in trades:
        is_long = trade["direction"] == "long"
        markers.append({
            "time": to_local(trade["entry_time"]), "position": "belowBar" if is_long else "aboveBar",
            "color": "#16a34a" if is_long else "#dc2626", "shape": "arrowUp" if is_long else "arrowDown",
            "text": f"#{trade['number']} {trade['entry_signal']}", "id": f"e{trade['number']}",
        })
        if not trade["is_open"] and trade["exit_time"] is not None:
            markers.append({
                "time": to_local(trade["exit_time"]), "position": "aboveBar" if is_long else "belowBar",
                "color": "#64748b", "shape": "arrowDown" if is_long else "arrowUp",
                "text": f"#{trade['number']} {trade['exit_signal']}", "id": f"x{trade['number']}",
            })
    markers.sort(key=lambda m: (m["time"] or 0))
    capital = float(result.summary.get("initial_capital") or 0)
    drawdown_pct = []
    equity = result.equity[keep]
    for e, d in zip(equity, result.drawdown[keep], strict=False):
        peak = (e or 0) + (d or 0)
        drawdown_pct.append(None if e is None or d is None or not peak else round(-100.0 * d / peak, 4))
    return {
        "run": run.pk,
        "symbol": run.symbol,
        "timeframe": run.timeframe,
        "timezone": timezone,
        "mintick": float(run.stored_series.mintick) if run.stored_series else 0.01,
        "candles": {
            "time": local.tolist(),
            "open": bars["open"].tolist(), "high": bars["high"].tolist(),
            "low": bars["low"].tolist(), "close": bars["close"].tolist(),
        },
        "markers": [m for m in markers if m["time"] is not None and m["time"] >= (local[0] if len(local) else 0)],
        "plots": {title: _rounded(values[keep]) for title, values in result.plots.items()},
        "series_time": result_local,
        "equity": _rounded(equity, 4),
        "buy_and_hold": _rounded(result.buy_and_hold[keep], 4),
        "truncated_bars": keep.start,
        "drawdown_pct": drawdown_pct,
        "initial_capital": capital,
        "trades": [
            {"number": t["number"], "entry": to_local(t["entry_time"]), "exit": to_local(t["exit_time"])}
            for t in trades
        ],
    }


# ---------------------------------------------------------------- statistics (TradingView's list)


@dataclass(frozen=True)
class Stat:
    label: str
    key: str
    kind: str = "money"  # money | pct | ratio | int | bars
    pct_key: str | None = None
    total_only: bool = False


TRADINGVIEW_STATS = [
    Stat("Net Profit", "net_profit", pct_key="net_profit_pct"),
    Stat("Gross Profit", "gross_profit", pct_key="gross_profit_pct"),
    Stat("Gross Loss", "gross_loss", pct_key="gross_loss_pct"),
    Stat("Max Run-up", "max_runup", pct_key="max_runup_pct"),
    Stat("Max Drawdown", "max_drawdown", pct_key="max_drawdown_pct"),
    Stat("Buy & Hold Return", "buy_and_hold_return", pct_key="buy_and_hold_return_pct"),
    Stat("Sharpe Ratio", "sharpe_ratio", "ratio"),
    Stat("Sortino Ratio", "sortino_ratio", "ratio"),
    Stat("Profit Factor", "profit_factor", "ratio"),
    Stat("Max Contracts Held", "max_contracts_held", "int"),
    Stat("Open P&L", "open_pl", pct_key="open_pl_pct"),
    Stat("Commission Paid", "commission_paid"),
    Stat("Total Closed Trades", "total_closed_trades", "int"),
    Stat("Total Open Trades", "total_open_trades", "int"),
    Stat("Number Winning Trades", "winning_trades", "int"),
    Stat("Number Losing Trades", "losing_trades", "int"),
    Stat("Percent Profitable", "percent_profitable", "pct"),
    Stat("Avg Trade", "avg_trade", pct_key="avg_trade_pct"),
    Stat("Avg Winning Trade", "avg_winning_trade", pct_key="avg_winning_trade_pct"),
    Stat("Avg Losing Trade", "avg_losing_trade", pct_key="avg_losing_trade_pct"),
    Stat("Ratio Avg Win / Avg Loss", "ratio_avg_win_avg_loss", "ratio"),
    Stat("Largest Winning Trade", "largest_winning_trade", pct_key="largest_winning_trade_pct"),
    Stat("Largest Losing Trade", "largest_losing_trade", pct_key="largest_losing_trade_pct"),
    Stat("Avg # Bars in Trades", "avg_bars_in_trades", "bars"),
    Stat("Avg # Bars in Winning Trades", "avg_bars_in_winning_trades", "bars"),
    Stat("Avg # Bars in Losing Trades", "avg_bars_in_losing_trades", "bars"),
]


def _format(value: Any, kind: str, currency: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "bars":
        return f"{round(value):,}"
    if kind == "ratio":
        return f"{value:,.3f}"
    if kind == "pct":
        return f"{value:,.2f}%"
    return f"{value:,.2f} {currency}"


def stats_table(run: BacktestRun, open_trades: dict[str, int] | None = None) -> list[dict]:
    """Rows of TradingView's Performance Summary with All / Long / Short columns (formatted and raw)."""
    summary = run.result.summary
    currency = summary.get("currency") or "USD"
    groups = {name: dict(summary.get(name) or {}) for name in ("all", "long", "short")}
    for name, data in groups.items():
        for key, value in summary.items():
            if name == "all" and not isinstance(value, dict):
                data.setdefault(key, value)
        data.setdefault("total_open_trades", (open_trades or {}).get(name, 0))
    rows = []
    for stat in TRADINGVIEW_STATS:
        cells = []
        for name in ("all", "long", "short"):
            data = groups[name]
            value = data.get(stat.key)
            text = _format(value, stat.kind, currency)
            if stat.pct_key and data.get(stat.pct_key) is not None and text != "—":
                text += f" ({_format(data.get(stat.pct_key), 'pct', currency)})"
            cells.append({"text": text, "value": value, "negative": isinstance(value, (int, float)) and value < 0})
        rows.append({"label": stat.label, "key": stat.key, "cells": cells})
    return rows


def open_trade_counts(run: BacktestRun) -> dict[str, int]:
    open_trades = BacktestTrade.objects.filter(run=run, is_open=True)
    return {
        "all": open_trades.count(),
        "long": open_trades.filter(direction="long").count(),
        "short": open_trades.filter(direction="short").count(),
    }


# ---------------------------------------------------------------- sweeps


SWEEP_METRICS = {
    "net_profit": "Net profit",
    "net_profit_pct": "Net profit %",
    "profit_factor": "Profit factor",
    "max_drawdown": "Max drawdown",
    "percent_profitable": "Percent profitable",
    "sharpe_ratio": "Sharpe ratio",
    "total_closed_trades": "Trades",
}


def sweep_cells(sweep: ParameterSweep, sort: str | None = None) -> list[dict]:
    names = [p["name"] for p in sweep.parameters]
    cells = []
    for run in sweep.runs.select_related("result").defer("result__arrays").order_by("pk"):
        summary = run.result.summary if run.status == RunStatus.SUCCEEDED and hasattr(run, "result") else {}
        cells.append({
            "run": run,
            "values": [run.inputs.get(name) for name in names],
            "metrics": {key: summary.get(key) for key in SWEEP_METRICS},
        })
    if sort:
        key = sort.lstrip("-")
        if key in SWEEP_METRICS:
            present = [c for c in cells if c["metrics"][key] is not None]
            missing = [c for c in cells if c["metrics"][key] is None]
            present.sort(key=lambda c: c["metrics"][key], reverse=sort.startswith("-"))
            cells = present + missing
    return cells


def sweep_heatmap(sweep: ParameterSweep, metric: str, cells: list[dict] | None = None) -> dict | None:
    """A grid of `metric` over the first two swept inputs (others at their first value), with colours."""
    if len(sweep.parameters) < 2:
        return None
    cells = cells if cells is not None else sweep_cells(sweep)
    x_param, y_param = sweep.parameters[0], sweep.parameters[1]
    fixed = {p["name"]: p["values"][0] for p in sweep.parameters[2:]}
    grid: dict[tuple, dict] = {}
    for cell in cells:
        inputs = cell["run"].inputs
        if any(inputs.get(k) != v for k, v in fixed.items()):
            continue
        grid[(inputs.get(x_param["name"]), inputs.get(y_param["name"]))] = cell
    values = [c["metrics"][metric] for c in grid.values() if c["metrics"].get(metric) is not None]
    lo, hi = (min(values), max(values)) if values else (0, 0)
    rows = []
    for y in y_param["values"]:
        row = []
        for x in x_param["values"]:
            cell = grid.get((x, y))
            value = cell["metrics"].get(metric) if cell else None
            share = (value - lo) / (hi - lo) if value is not None and hi > lo else 0.5
            row.append({"cell": cell, "value": value, "hue": round(120 * share), "x": x, "y": y})
        rows.append({"y": y, "cells": row})
    return {"x": x_param, "y": y_param, "rows": rows, "fixed": fixed, "min": lo, "max": hi}
