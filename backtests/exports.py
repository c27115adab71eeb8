"""CSV exports of a run: trades (plain or TradingView's "List of trades" layout) and statistics."""

from __future__ import annotations

import csv
import io

import pandas as pd

from backtests.marketdata import selectors as market
from strategies.pine.runtime.report import trades_csv

from . import engine, selectors
from .models import BacktestRun

PLAIN_TRADE_COLUMNS = [
    ("number", "Trade #"), ("direction", "Direction"), ("entry_time", "Entry time (UTC)"), ("entry_signal", "Entry signal"),
    ("entry_price", "Entry price"), ("exit_time", "Exit time (UTC)"), ("exit_signal", "Exit signal"),
    ("exit_price", "Exit price"), ("quantity", "Quantity"), ("profit", "Net P&L"), ("profit_percent", "Net P&L %"),
    ("run_up", "Run-up"), ("run_up_percent", "Run-up %"), ("drawdown", "Drawdown"), ("drawdown_percent", "Drawdown %"),
    ("cumulative_profit", "Cumulative P&L"), ("commission", "Commission"), ("bars_held", "Bars"), ("is_open", "Open"),
]


def _iso(ms: int | None) -> str:
    return "" if ms is None else pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def trades_plain_csv(run: BacktestRun) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([label for _, label in PLAIN_TRADE_COLUMNS])
    for row in selectors.trade_rows(run):
        writer.writerow([
            _iso(row[key]) if key in ("entry_time", "exit_time") else ("" if row[key] is None else row[key])
            for key, _ in PLAIN_TRADE_COLUMNS
        ])
    return buffer.getvalue()


def trades_tradingview_csv(run: BacktestRun) -> str:
    """The layout of TradingView's "List of trades" export (two rows per trade, exchange-time offsets)."""
    series = run.stored_series or market.source_series_for(run.symbol, run.timeframe)
    symbol = engine.symbol_info_for(series, run.symbol)
    capital = float(run.result.summary.get("initial_capital") or run.initial_capital or 0)
    return trades_csv(engine.engine_trades(selectors.trade_rows(run), symbol, capital))


def stats_csv(run: BacktestRun) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Statistic", "All", "Long", "Short"])
    for row in selectors.stats_table(run, selectors.open_trade_counts(run)):
        writer.writerow([row["label"], *("" if c["value"] is None else c["value"] for c in row["cells"])])
    return buffer.getvalue()
