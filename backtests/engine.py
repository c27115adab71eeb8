"""The seam between stored data/runs and the Pine runtime (strategies.pine.runtime.engine)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backtests.marketdata.models import MarketSeries
from strategies.pine.runtime.broker import BacktestResult as EngineBacktest
from strategies.pine.runtime.broker import StrategyConfig, SymbolInfo, Trade
from strategies.pine.runtime.engine import ENGINE_VERSION, Bars, PineCompileError, RunResult, run_backtest
from strategies.pine.runtime.errors import PineCancelled, PineRuntimeError

__all__ = [
    "ENGINE_VERSION",
    "EngineFailure",
    "RunCancelled",
    "engine_trades",
    "run_strategy",
    "symbol_info_for",
]


class RunCancelled(Exception):
    pass


@dataclass
class EngineFailure(Exception):
    """The script could not run: `line`/`column` point into the Pine source when known."""

    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}:{self.column}: " if self.line else ""
        return f"{where}{self.message}"


def symbol_info_for(series: MarketSeries, symbol: str | None = None) -> SymbolInfo:
    return SymbolInfo(
        ticker=symbol or series.symbol,
        mintick=float(series.mintick),
        pointvalue=float(series.pointvalue),
        type=series.effective_asset_type,
        timezone=series.timezone or "Etc/UTC",
        session_start=series.session_start or "0000",
    )


def run_strategy(
    source: str,
    bars: dict[str, np.ndarray],
    symbol: SymbolInfo,
    *,
    timeframe: str,
    inputs: dict[str, Any] | None = None,
    initial_capital: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    max_bars: int | None = None,
) -> RunResult:
    """Run a Pine strategy on column bars; Pine errors become EngineFailure with the source position."""
    engine_bars = Bars(bars["time"], bars["open"], bars["high"], bars["low"], bars["close"], bars["volume"])
    try:
        return run_backtest(
            source,
            engine_bars,
            symbol,
            timeframe=timeframe,
            inputs=inputs or None,
            initial_capital=initial_capital,
            progress=progress,
            should_cancel=should_cancel,
            max_bars=max_bars,
        )
    except PineCancelled as cancelled:
        raise RunCancelled() from cancelled
    except PineCompileError as error:
        first = error.diagnostics[0] if error.diagnostics else None
        raise EngineFailure(
            first.message if first else str(error), getattr(first, "line", None), getattr(first, "col", None)
        ) from error
    except PineRuntimeError as error:
        raise EngineFailure(error.message, error.line or None, error.col or None) from error
    except ValueError as error:
        raise EngineFailure(str(error)) from error


def engine_trades(rows: list[dict], symbol: SymbolInfo, initial_capital: float) -> EngineBacktest:
    """Stored trade rows rebuilt as the runtime's objects, for its TradingView-layout CSV export."""
    trades = [
        Trade(
            trade_num=r["number"], direction=r["direction"], entry_id=r["entry_signal"], entry_comment=None,
            entry_time=r["entry_time"], entry_price=r["entry_price"], entry_bar=0, qty=r["quantity"],
            exit_id=None if r["is_open"] else r["exit_signal"], exit_comment=None, exit_time=r["exit_time"],
            exit_price=r["exit_price"], exit_bar=r["bars_held"], profit=r["profit"], profit_pct=r["profit_percent"],
            runup=r["run_up"], runup_pct=r["run_up_percent"], drawdown=r["drawdown"],
            drawdown_pct=r["drawdown_percent"], cum_profit=r["cumulative_profit"], commission=r["commission"],
            is_open=r["is_open"],
        )
        for r in rows
    ]
    return EngineBacktest(
        trades=trades, equity=np.zeros(0), drawdown=np.zeros(0), events=[], symbol=symbol,
        config=StrategyConfig(initial_capital=initial_capital),
    )
