"""End to end: Pine expressions compiled and run by the runtime reproduce TradingView's exported values.

``/work/shared/tv-reference/ta/*.csv`` name each column after the Pine expression that produced it.
Each such expression is compiled into ``plot(<expr>)`` (tuple members by position) and run through
``run_backtest`` -- vectorized (the default fast path) and in pure streaming mode (what the live
Runner uses) -- and compared with TradingView after warm-up.
"""

from __future__ import annotations

import csv
import html
import math
import re
from functools import cache

import numpy as np
import pytest

from strategies.pine.runtime.broker import SymbolInfo
from strategies.pine.runtime.engine import Bars, run_backtest
from tests.tv_reference import TA

REF = TA
EURUSD = SymbolInfo(ticker="OANDA:EURUSD", mintick=0.00001, type="forex", timezone="America/New_York",
                    session_start="1700")
WARMUP = 0
pytestmark = pytest.mark.skipif(not REF.exists(), reason="TradingView reference exports not present")

TUPLE_FIELDS = {
    "ta.bb": ("base", "upper", "lower"), "ta.kc": ("base", "upper", "lower"),
    "ta.macd": ("macd", "signal", "hist"), "ta.dmi": ("dip", "dim", "adx"),
    "ta.vwap": ("vwap", "upper_band", "lower_band"),
}  # fmt: skip
PRELUDES = {
    "cross.csv": "ema1 = ta.ema(close, 5)\nema2 = ta.ema(close, 11)\n",
    "falling+rising.csv": "ema = ta.ema(close, 20)\n",
    "valuewhen.csv": "slow = ta.sma(close, 7)\nfast = ta.sma(close, 14)\n",
}
SKIP_FILES = {"correlation.csv", "valuewhen_na.csv", "min+max+median+mode.csv", "pivot_point_levels.csv",
              "supertrend.csv"}
BASE_COLUMNS = {"time", "open", "high", "low", "close", "volume", "hl2"}
# the export's percentile columns were produced with percentage 20 whatever their titles say
# (see test_ta_tradingview.test_percentiles_match_export_with_percentage_20)
SKIP_TITLES = {"ta.percentile_linear_interpolation(close, 20, 30)", "ta.percentile_nearest_rank(close, 20, 0)"}
BOOL_PREFIXES = ("ta.cross", "ta.falling", "ta.rising")


@cache
def _load(name: str) -> tuple[Bars, list[str], dict[str, np.ndarray]]:
    with open(REF / name, newline="") as fh:
        rows = list(csv.reader(fh))
    header = [html.unescape(h) for h in rows[0]]
    data = rows[1:]

    def col(k: int) -> np.ndarray:
        return np.array([float(r[k]) if r[k] not in ("", "NaN") else math.nan for r in data])

    idx = {h.lower(): k for k, h in enumerate(header)}
    bars = Bars(np.array([int(float(r[idx["time"]])) * 1000 for r in data], dtype=np.int64), col(idx["open"]),
                col(idx["high"]), col(idx["low"]), col(idx["close"]),
                np.nan_to_num(col(idx["volume"])) if "volume" in idx else np.zeros(len(data)))
    cols = {h: col(k) for k, h in enumerate(header) if h.lower() not in BASE_COLUMNS}
    return bars, list(cols), cols


def _cases() -> list[tuple[str, str]]:
    if not REF.exists():
        return []
    out = []
    for path in sorted(REF.glob("*.csv")):
        if path.name in SKIP_FILES:
            continue
        _, titles, _ = _load(path.name)
        out.extend((path.name, t) for t in titles if t not in SKIP_TITLES)
    return out


def _pine_for(title: str) -> str:
    m = re.match(r"^(ta\.\w+)\((.*)\)\.(\w+)$", title)
    if m and m.group(1) in TUPLE_FIELDS:
        fields = TUPLE_FIELDS[m.group(1)]
        names = ", ".join(f"t{k}" for k in range(len(fields)))
        return f"[{names}] = {m.group(1)}({m.group(2)})\nplot(t{fields.index(m.group(3))}, 'v')\n"
    return f"v = {title}\nplot(v ? 1 : 0, 'v')\n" if title.startswith(BOOL_PREFIXES) else f"plot({title}, 'v')\n"


@pytest.mark.parametrize("vectorize", [True, False], ids=["vectorized", "streaming"])
@pytest.mark.parametrize(("file", "title"), _cases())
def test_pine_expression_matches_tradingview_export(file: str, title: str, vectorize: bool) -> None:
    bars, _, cols = _load(file)
    src = '//@version=6\nindicator("t")\n' + PRELUDES.get(file, "") + _pine_for(title)
    got = run_backtest(src, bars, EURUSD, vectorize=vectorize).plots["v"]  # timeframe inferred from the bars
    want = cols[title]
    if title.startswith(BOOL_PREFIXES):  # exported as a plot offset (0.5, -1, 1) where true, 0 where false
        want = np.where(np.isnan(want), np.nan, (want != 0).astype(np.float64))
    k = np.arange(len(want))
    mask = (k >= WARMUP) & ~np.isnan(want)
    assert mask.sum() > 10, "nothing to compare"
    ours = got[mask]
    assert not np.isnan(ours).any(), f"na where TradingView has values at bars {np.flatnonzero(np.isnan(got) & mask)[:5]}"
    close = np.isclose(ours, want[mask], rtol=1e-8, atol=1e-10)
    bad = np.flatnonzero(~close)
    assert not len(bad), (f"{len(bad)} of {mask.sum()} values differ; first at bar "
                          f"{np.flatnonzero(mask)[bad[0]]}: ours={ours[bad[0]]!r} tv={want[mask][bad[0]]!r}")
