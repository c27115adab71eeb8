"""Speed of the Pine `ta.*` built-ins.

Prints microseconds per 100k bars for the vectorized sma/ema/rsi/atr/supertrend/stdev and the
per-bar cost of the streaming SMA/EMA/RSI. Run: `.venv/bin/python benchmarks/ta_speed.py`.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from strategies.pine.runtime import ta

BARS = 100_000
REPEATS = 7


def synthetic_bars(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    spread = np.abs(rng.normal(0.0, 0.003, n)) * close
    high = close + spread * rng.random(n)
    low = close - spread * rng.random(n)
    return {"high": high, "low": low, "close": close}


def best_of(fn, repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    bars = synthetic_bars(BARS)
    h, lo, c = bars["high"], bars["low"], bars["close"]
    vector_cases = {
        "sma(close, 20)": lambda: ta.sma(c, 20),
        "sma(close, 200)": lambda: ta.sma(c, 200),
        "ema(close, 20)": lambda: ta.ema(c, 20),
        "rsi(close, 14)": lambda: ta.rsi(c, 14),
        "atr(14)": lambda: ta.atr(h, lo, c, 14),
        "supertrend(3, 10)": lambda: ta.supertrend(h, lo, c, 3.0, 10),
        "stdev(close, 20)": lambda: ta.stdev(c, 20),
    }
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, 1-minute load average {load:.1f}")
    print(f"vectorized, {BARS:,} bars (best of {REPEATS}):")
    for name, fn in vector_cases.items():
        seconds = best_of(fn)
        print(f"  ta.{name:<22} {seconds * 1e6:>10,.0f} us per 100k bars")

    stream_bars = 20_000
    values = c[:stream_bars].tolist()
    print(f"streaming, {stream_bars:,} updates (best of 3):")
    for name, factory in {
        "SMA(20)": lambda: ta.SMA(20),
        "EMA(20)": lambda: ta.EMA(20),
        "RSI(14)": lambda: ta.RSI(14),
    }.items():

        def run(factory=factory) -> None:
            update = factory().update
            for v in values:
                update(v)

        seconds = best_of(run, repeats=3)
        print(f"  ta.{name:<22} {seconds / stream_bars * 1e6:>10.2f} us per bar")


if __name__ == "__main__":
    main()
