"""Strategy editor speed: what a keystroke (debounced) and a builder change cost on the server.

Prints, as median / p95 over repeated runs: (1) validate + generate_pine for a small and a full builder state,
(2) compile_source of the generated Pine (what the live compile endpoint does), (3) compile of the largest
template, (4) the whole builder matrix (generate + compile + backtest) per case on GOOG daily.

    .venv/bin/python benchmarks/strategy_editor.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timings(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    from backtesting.test import GOOG

    from strategies.builder import default_state, generate_pine
    from strategies.examples import TEMPLATES
    from strategies.pine import compile_source
    from strategies.pine.runtime.broker import SymbolInfo
    from strategies.pine.runtime.engine import Bars, run_backtest
    from tests.strategies.builder_states import matrix
    from tests.strategies.test_builder_generator import full_featured_state

    small, full = default_state(), full_featured_state()
    full_source = generate_pine(full)
    largest = max(TEMPLATES.values(), key=lambda t: len(t.source))
    rows = [
        ("generate_pine, default state (3 indicators)", lambda: generate_pine(small)),
        ("generate_pine, full state (7 indicators, 4 rules)", lambda: generate_pine(full)),
        (f"compile_source, generated full state ({len(full_source.splitlines())} lines)", lambda: compile_source(full_source)),
        (f"compile_source, template {largest.key} ({len(largest.source.splitlines())} lines)",
         lambda: compile_source(largest.source)),
    ]
    print(f"{'what':70} {'median ms':>10} {'p95 ms':>8}")
    for label, fn in rows:
        median, p95 = timings(fn, args.repeat)
        print(f"{label:70} {median:10.2f} {p95:8.2f}")

    bars = Bars.from_dataframe(GOOG)
    symbol = SymbolInfo(ticker="GOOG", type="stock", mintick=0.01, timezone="America/New_York")
    cases = matrix()
    start = time.perf_counter()
    for _, state in cases:
        run_backtest(compile_source(generate_pine(state)), bars, symbol, timeframe="1D")
    total = time.perf_counter() - start
    print(f"builder matrix: {len(cases)} cases generate+compile+backtest on {len(bars)} GOOG bars: "
          f"{total:.1f} s total, {total / len(cases) * 1000:.0f} ms per case")


if __name__ == "__main__":
    main()
