"""Pine front-end speed: compile time of a 200-line strategy and of the whole test corpus.

Run: .venv/bin/python benchmarks/pine_compile.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from strategies.pine import compile_source  # noqa: E402

CORPUS = ROOT / "tests" / "pine" / "corpus"

HEADER = """//@version=6
strategy("Benchmark 200 lines", overlay=true, initial_capital=100000, default_qty_type=strategy.percent_of_equity, default_qty_value=10, commission_type=strategy.commission.percent, commission_value=0.05, slippage=1)

type Level
    float price = na
    int born = 0
    bool active = true

method touch(Level l, float px) =>
    l.active and math.abs(px - l.price) / l.price < 0.001

smoothed(src, len) =>
    e = ta.ema(src, len)
    s = ta.sma(src, len)
    [e, s, e - s]

var levels = array.new<Level>()
"""

BLOCK = """// ---- block {i}
len{i} = input.int({n}, "Length {i}", minval=1, group="Block {i}")
mult{i} = input.float(2.0, "Mult {i}", step=0.1, group="Block {i}")
[e{i}, s{i}, d{i}] = smoothed(close, len{i})
dev{i} = mult{i} * ta.stdev(close, len{i})
up{i} = s{i} + dev{i}
lo{i} = s{i} - dev{i}
var int count{i} = 0
regime{i} = switch
    close > up{i} => 1
    close < lo{i} => -1
    => 0
if ta.crossover(e{i}, s{i}) and regime{i} >= 0
    count{i} += 1
    levels.push(Level.new(close, bar_index))
    strategy.entry("L{i}", strategy.long, comment="long {i}")
else if ta.crossunder(e{i}, s{i}) and regime{i} <= 0
    strategy.entry("S{i}", strategy.short, comment="short {i}")
for j = 0 to math.min(levels.size(), 5) - 1
    if levels.get(j).touch(close)
        count{i} := count{i} + 1
strategy.exit("X{i}", from_entry="L{i}", stop=lo{i}, limit=up{i} + (d{i} > 0 ? dev{i} : 0.0))
plot(d{i}[1], "Diff {i}", color=d{i} > 0 ? color.green : color.red)
"""


def build_script(target_lines: int = 200) -> str:
    parts = [HEADER]
    i = 0
    while sum(p.count("\n") for p in parts) < target_lines:
        parts.append(BLOCK.format(i=i, n=10 + i))
        i += 1
    text = "".join(parts)
    return "\n".join(text.split("\n")[:target_lines]) + "\n"


def time_compile(src: str, repeat: int, clock=time.perf_counter) -> list[float]:
    times = []
    for _ in range(repeat):
        start = clock()
        res = compile_source(src)
        times.append((clock() - start) * 1000)
        if not res.ok:
            raise SystemExit("benchmark script does not compile: " + "; ".join(d.format() for d in res.errors))
    return times


def main() -> None:
    script = build_script(200)
    compile_source(script)  # warm-up (imports, builtin tables)
    times = time_compile(script, 30)
    cpu = time_compile(script, 30, time.process_time)
    print(f"200-line strategy ({script.count(chr(10))} lines): wall median {statistics.median(times):.2f} ms, "
          f"min {min(times):.2f} ms, max {max(times):.2f} ms; CPU median {statistics.median(cpu):.2f} ms (30 runs)")
    files = sorted(CORPUS.glob("*.pine"))
    per_file = []
    total_lines = 0
    for f in files:
        src = f.read_text()
        total_lines += src.count("\n")
        per_file.append(statistics.median(time_compile(src, 5)))
    print(f"corpus: {len(files)} files, {total_lines} lines, total {sum(per_file):.1f} ms, "
          f"mean {statistics.mean(per_file):.2f} ms/file, max {max(per_file):.2f} ms")


if __name__ == "__main__":
    main()
