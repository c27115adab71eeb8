"""Shared helpers for the runtime tests: crafted bars and one-call script runs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from strategies.pine.runtime.broker import SymbolInfo
from strategies.pine.runtime.engine import Bars, RunResult, run_backtest

CRYPTO = SymbolInfo(ticker="BINANCE:BTCUSDT", mintick=0.01, pointvalue=1.0, type="crypto", timezone="Etc/UTC")
HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def crafted_bars(closes: Sequence[float], *, start_ms: int = T0, step_ms: int = HOUR,
                 spread: float = 0.0) -> Bars:
    """Bars with open = previous close, high/low = max/min(open, close) +- spread."""
    c = np.asarray(closes, dtype=np.float64)
    o = np.concatenate(([c[0]], c[:-1])) if len(c) else c
    h = np.maximum(o, c) + spread
    low = np.minimum(o, c) - spread
    t = start_ms + np.arange(len(c), dtype=np.int64) * step_ms
    return Bars(t, o, h, low, c, np.ones(len(c)))


def run(src: str, bars: Bars | None = None, *, symbol: SymbolInfo = CRYPTO, timeframe: str = "60",
        **kwargs) -> RunResult:
    if bars is None:
        bars = crafted_bars([float(k) for k in range(1, 21)])
    return run_backtest(src, bars, symbol, timeframe=timeframe, **kwargs)


def plotted(src: str, title: str, bars: Bars | None = None, **kwargs) -> list:
    """The values a script plotted under ``title``, as a list (na -> None)."""
    res = run(src, bars, **kwargs)
    return [None if isinstance(v, float) and math.isnan(v) else v for v in res.plots[title].tolist()]


def header(kind: str = "indicator") -> str:
    if kind == "strategy":
        return '//@version=6\nstrategy("t", overlay=true)\n'
    return '//@version=6\nindicator("t")\n'
