"""Backtest speed: compiled Pine MA-cross vs the same strategy hand-written in backtrader.

Prints bars/s of (1) the compiled Pine strategy through ``run_backtest`` (direct bar loop),
(2) the compiled Pine strategy driven by ``cerebro.run`` (``PineStrategy``), (3) the hand-written
backtrader strategy (bt.indicators.SMA + CrossOver, backtrader's own broker), (4) an empty backtrader
strategy, all on the same synthetic 100k-bar random walk (fixed seed), and the ratio
compiled time / hand-written time.

    .venv/bin/python benchmarks/backtest_speed.py [--bars 100000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

import backtrader as bt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from strategies.pine.compiler import compile_source
from strategies.pine.runtime.broker import SymbolInfo
from strategies.pine.runtime.bt_strategy import run_backtest_backtrader
from strategies.pine.runtime.engine import Bars, run_backtest
from strategies.pine.runtime.feed import NumpyFeed

PINE_MA_CROSS = """//@version=6
strategy("MA cross", overlay=true)
fast = ta.sma(close, 10)
slow = ta.sma(close, 30)
if ta.crossover(fast, slow)
    strategy.entry("Long", strategy.long)
if ta.crossunder(fast, slow)
    strategy.entry("Short", strategy.short)
"""


def synthetic_bars(n: int, seed: int = 42) -> Bars:
    rng = np.random.default_rng(seed)
    close = 1000.0 + np.cumsum(rng.normal(0.0, 1.0, n))
    close = np.maximum(close, 1.0)
    opens = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0.0, 0.5, n))
    high = np.maximum(opens, close) + spread
    low = np.minimum(opens, close) - spread
    t = 1_600_000_000_000 + np.arange(n, dtype=np.int64) * 60_000
    return Bars(t, opens, high, low, close, rng.uniform(1, 100, n))


class HandMACross(bt.Strategy):
    def __init__(self) -> None:
        fast = bt.indicators.SMA(self.data.close, period=10)
        slow = bt.indicators.SMA(self.data.close, period=30)
        self.cross = bt.indicators.CrossOver(fast, slow)

    def next(self) -> None:
        if self.cross[0] > 0:
            self.order_target_size(target=1)
        elif self.cross[0] < 0:
            self.order_target_size(target=-1)


class Empty(bt.Strategy):
    def next(self) -> None:
        pass


def run_bt(strategy: type, bars: Bars) -> tuple[float, float]:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(NumpyFeed.from_bars(bars))
    cerebro.addstrategy(strategy)
    start, cpu = time.perf_counter(), time.process_time()
    cerebro.run(runonce=False, preload=True, stdstats=False)
    return time.perf_counter() - start, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=100_000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    n = args.bars
    bars = synthetic_bars(n)
    symbol = SymbolInfo(ticker="BENCH:RANDOM", mintick=0.01, type="crypto")
    compiled = compile_source(PINE_MA_CROSS)
    assert compiled.ok, compiled.errors

    # compile+run once to warm imports
    run_backtest(compiled, bars.slice(0, 500), symbol, timeframe="1")

    start, cpu = time.perf_counter(), time.process_time()
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
    result = run_backtest(compiled, bars, symbol, timeframe="1")
    if args.profile:
        prof.disable()
    t_compiled, c_compiled = time.perf_counter() - start, time.process_time() - cpu

    start, cpu = time.perf_counter(), time.process_time()
    result_bt = run_backtest_backtrader(compiled, bars, symbol, timeframe="1")
    t_compiled_bt, c_compiled_bt = time.perf_counter() - start, time.process_time() - cpu

    t_hand, c_hand = run_bt(HandMACross, bars)
    t_empty, c_empty = run_bt(Empty, bars)

    print(f"bars: {n}  trades (compiled): {len(result.trades)}  trades (compiled in cerebro): {len(result_bt.trades)}")
    print("                                         wall clock              CPU time (robust to machine load)")
    rows = [("compiled Pine (run_backtest)", t_compiled, c_compiled),
            ("compiled Pine inside cerebro.run", t_compiled_bt, c_compiled_bt),
            ("hand-written backtrader SMA+CrossOver", t_hand, c_hand),
            ("empty backtrader strategy", t_empty, c_empty)]
    for label, wall, cpu_s in rows:
        print(f"{label:<38}: {n / wall:>10,.0f} bars/s ({wall:7.3f} s)   {n / cpu_s:>10,.0f} bars/s ({cpu_s:7.3f} s)")
    print(f"ratio compiled/hand-written time      : {t_compiled / t_hand:.3f} (wall)  {c_compiled / c_hand:.3f} (CPU)")
    print(f"ratio compiled-in-cerebro/hand-written: {t_compiled_bt / t_hand:.3f} (wall)  {c_compiled_bt / c_hand:.3f} (CPU)")
    if args.profile:
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
