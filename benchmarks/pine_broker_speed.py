"""Broker-emulator speed: bars per second for a few order patterns on EURUSD-like hourly bars.

Run: .venv/bin/python benchmarks/pine_broker_speed.py
Prints microseconds per bar for the emulator alone (no Pine evaluation).
"""

from __future__ import annotations

import time

import numpy as np

from strategies.pine.runtime.broker import StrategyConfig, StrategyEmulator, SymbolInfo

N = 100_000
SYMBOL = SymbolInfo(ticker="EURUSD", mintick=0.00001, type="forex", timezone="America/New_York",
                    session_start="1700")


def bars(n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(7)
    close = 1.1 + np.cumsum(rng.normal(0, 0.0008, n))
    open_ = np.concatenate([[close[0]], close[:-1]]) + rng.normal(0, 0.0001, n)
    high = np.maximum(open_, close) + np.abs(rng.normal(0, 0.0005, n))
    low = np.minimum(open_, close) - np.abs(rng.normal(0, 0.0005, n))
    t = 1_640_995_200_000 + np.arange(n, dtype=np.int64) * 3_600_000
    return t, open_, high, low, close


def run(name: str, script, config: StrategyConfig) -> None:
    t, o, h, lo, c = bars(N)
    emu = StrategyEmulator(config, SYMBOL)
    start = time.perf_counter()
    for i in range(N):
        emu.process_bar(i, int(t[i]), o[i], h[i], lo[i], c[i])
        script(emu, i, c)
        emu.after_script(i)
    res = emu.finish()
    dt = time.perf_counter() - start
    print(f"{name:<34} {N} bars {dt:6.2f} s  {dt / N * 1e6:6.1f} us/bar  {len(res.trades):6d} trades")


def flip_market(emu: StrategyEmulator, i: int, c: np.ndarray) -> None:
    if i % 7 == 0:
        emu.entry("L" if (i // 7) % 2 == 0 else "S", "long" if (i // 7) % 2 == 0 else "short")


def breakout_stops(emu: StrategyEmulator, i: int, c: np.ndarray) -> None:
    if i >= 5:
        w = c[i - 5 : i + 1]
        emu.entry("LE", "long", stop=float(w.max()) + 0.00001)
        emu.entry("SE", "short", stop=float(w.min()) - 0.00001)


def bracket_exits(emu: StrategyEmulator, i: int, c: np.ndarray) -> None:
    if emu.position_size == 0 and i % 5 == 0:
        emu.entry("L", "long", limit=float(c[i]) - 0.0003)
    emu.exit("X", "L", profit=60, loss=40, comment_profit="tp", comment_loss="sl")


def trailing(emu: StrategyEmulator, i: int, c: np.ndarray) -> None:
    if emu.position_size == 0 and i % 5 == 0:
        emu.entry("L", "long")
    emu.exit("T", "L", trail_points=30, trail_offset=20)


if __name__ == "__main__":
    pct = StrategyConfig(default_qty_type="percent_of_equity", default_qty_value=10,
                         commission_type="percent", commission_value=0.05, slippage=2)
    run("market reversals, % of equity", flip_market, pct)
    run("stop breakouts both sides", breakout_stops, StrategyConfig())
    run("limit entry + TP/SL bracket", bracket_exits, StrategyConfig())
    run("trailing stop exits", trailing, StrategyConfig())
