"""The streaming classes give the same results as the vectorized functions, bar for bar.

Every registered `ta.*` function is run both ways through its `FuncSpec` on real OHLCV
(backtesting's GOOG and EURUSD) and on a source with na gaps; na positions must be identical and
values equal to 1e-12 relative (window functions may sum in a different order, the vectorized
EMA family works block-wise), with an absolute allowance of 1e-13 x the price scale.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from backtesting.test import EURUSD, GOOG

from strategies.pine.runtime import ta
from strategies.pine.runtime.ta_registry import SPECS, FuncSpec

Bars = dict[str, np.ndarray]


def _bars(frame) -> Bars:
    bars = {
        "open": frame["Open"].to_numpy(dtype=np.float64),
        "high": frame["High"].to_numpy(dtype=np.float64),
        "low": frame["Low"].to_numpy(dtype=np.float64),
        "close": frame["Close"].to_numpy(dtype=np.float64),
        "volume": frame["Volume"].to_numpy(dtype=np.float64),
    }
    n = bars["close"].shape[0]
    gappy = bars["close"].copy()
    gappy[[3, 4, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 200]] = np.nan
    gappy[n // 2 : n // 2 + 3] = np.nan
    bars["gappy"] = gappy
    bars["open_gappy"] = np.where(np.isnan(gappy), np.nan, bars["open"])
    i = np.arange(n)
    bars["every_7th"] = i % 7 == 0
    bars["anchor"] = i % 24 == 0
    return bars


DATASETS = {"GOOG": _bars(GOOG), "EURUSD": _bars(EURUSD.iloc[:1500])}

# Pine arguments per case: a str names a series from the bars, anything else is passed as-is.
CASES: dict[str, list[tuple]] = {
    "sma": [("close", 14), ("gappy", 10)],
    "ema": [("close", 20), ("gappy", 9)],
    "rma": [("close", 14), ("gappy", 5)],
    "wma": [("close", 9), ("gappy", 20)],
    "vwma": [("close", 20), ("gappy", 5)],
    "hma": [("close", 9), ("gappy", 16)],
    "swma": [("close",), ("gappy",)],
    "alma": [("close", 9, 0.85, 6.0, False), ("gappy", 10, 0.55, 12.0, True)],
    "linreg": [("close", 20, 0), ("gappy", 14, 3)],
    "rsi": [("close", 14), ("gappy", 7)],
    "macd": [("close", 12, 26, 9), ("gappy", 5, 13, 4)],
    "stoch": [("close", "high", "low", 14), ("gappy", "high", "low", 5)],
    "cci": [("close", 20), ("gappy", 10)],
    "mfi": [("close", 14), ("gappy", 10)],
    "cmo": [("close", 9), ("gappy", 20)],
    "tsi": [("close", 13, 25), ("gappy", 5, 10)],
    "wpr": [(14,)],
    "rci": [("close", 10), ("gappy", 5)],
    "cog": [("close", 10), ("gappy", 7)],
    "change": [("close", 1), ("gappy", 3), ("every_7th", 1)],
    "mom": [("close", 10), ("gappy", 2)],
    "roc": [("close", 9), ("gappy", 4)],
    "tr": [(False,), (True,)],
    "atr": [(14,), (5,)],
    "bb": [("close", 20, 2.0), ("gappy", 10, 1.5)],
    "bbw": [("close", 20, 2.0), ("gappy", 10, 1.5)],
    "kc": [("close", 20, 2.0, True), ("gappy", 10, 1.5, False)],
    "kcw": [("close", 20, 2.0, True), ("gappy", 10, 1.5, False)],
    "dmi": [(14, 14), (17, 9)],
    "supertrend": [(3.0, 10), (2.0, 7)],
    "sar": [(0.02, 0.02, 0.2), (0.01, 0.03, 0.3)],
    "highest": [("close", 10), ("gappy", 5)],
    "lowest": [("close", 10), ("gappy", 5)],
    "highestbars": [("close", 10), ("gappy", 5)],
    "lowestbars": [("close", 10), ("gappy", 5)],
    "stdev": [("close", 20, True), ("gappy", 10, False)],
    "variance": [("close", 20, True), ("gappy", 10, False)],
    "dev": [("close", 20), ("gappy", 10)],
    "percentrank": [("close", 20), ("gappy", 10)],
    "correlation": [("close", "open", 20), ("gappy", "volume", 10)],
    "median": [("close", 20), ("gappy", 9)],
    "mode": [("close", 20), ("gappy", 9)],
    "range": [("close", 20), ("gappy", 9)],
    "percentile_linear_interpolation": [("close", 20, 30.0), ("gappy", 9, 75.0)],
    "percentile_nearest_rank": [("close", 20, 30.0), ("gappy", 9, 75.0)],
    "max": [("close",), ("gappy",)],
    "min": [("close",), ("gappy",)],
    "cross": [("close", "open"), ("gappy", "open_gappy")],
    "crossover": [("close", "open"), ("gappy", "open_gappy")],
    "crossunder": [("close", "open"), ("gappy", "open_gappy")],
    "rising": [("close", 3), ("gappy", 2)],
    "falling": [("close", 3), ("gappy", 2)],
    "cum": [("close",), ("gappy",)],
    "barssince": [("every_7th",)],
    "valuewhen": [("every_7th", "close", 0), ("every_7th", "gappy", 2)],
    "pivothigh": [("high", 5, 5), ("gappy", 3, 2)],
    "pivotlow": [("low", 5, 5), ("gappy", 3, 2)],
    "vwap": [("close", "anchor", None), ("gappy", "anchor", 2.0)],
    "pivot_point_levels": [(t, "anchor", dev) for t in ta.PIVOT_TYPES for dev in (False, True)],
    "obv": [()],
    "accdist": [()],
    "pvt": [()],
    "nvi": [()],
    "pvi": [()],
    "wad": [()],
    "wvad": [()],
    "iii": [()],
}


def _resolve(args: tuple, bars: Bars) -> list:
    return [bars[a] if isinstance(a, str) and a in bars else a for a in args]


def run_vector(spec: FuncSpec, args: tuple, bars: Bars):
    return spec.vector(*(bars[b] for b in spec.bar_inputs), *_resolve(args, bars))


def run_stream(spec: FuncSpec, args: tuple, bars: Bars) -> list:
    resolved = _resolve(args, bars)
    simple = [a for a, p in zip(resolved, spec.params, strict=False) if p.kind == "simple"]
    series = [a for a, p in zip(resolved, spec.params, strict=False) if p.kind == "series"]
    obj = spec.stream(*simple)
    bar_arrays = [bars[b] for b in spec.bar_inputs]
    n = bars["close"].shape[0]
    update: Callable = obj.update
    out = []
    for i in range(n):
        values = [arr[i].item() for arr in bar_arrays]
        values += [s[i].item() for s in series]
        out.append(update(*values))
    return out


def _as_matrix(result, n: int) -> np.ndarray:
    """Vector or streamed output as an (n, k) float matrix."""
    if isinstance(result, tuple):
        return np.column_stack([np.asarray(r, dtype=np.float64) for r in result])
    arr = np.asarray(result, dtype=np.float64)
    return arr.reshape(n, -1)


def _case_ids() -> list:
    params = []
    for name, cases in CASES.items():
        for k, args in enumerate(cases):
            for dataset in DATASETS:
                params.append(pytest.param(name, args, dataset, id=f"{name}-{k}-{dataset}"))
    return params


def test_every_registered_function_has_stream_cases() -> None:
    assert set(CASES) == set(SPECS)


@pytest.mark.parametrize(("name", "args", "dataset"), _case_ids())
def test_stream_equals_vector(name: str, args: tuple, dataset: str) -> None:
    spec = SPECS[name]
    bars = DATASETS[dataset]
    n = bars["close"].shape[0]
    vector = _as_matrix(run_vector(spec, args, bars), n)
    streamed_raw = run_stream(spec, args, bars)
    if isinstance(streamed_raw[0], tuple | list):
        streamed = np.array([list(r) for r in streamed_raw], dtype=np.float64)
    else:
        streamed = np.array(streamed_raw, dtype=np.float64).reshape(n, -1)
    if spec.result_type == "bool":
        assert all(isinstance(v, bool) for v in streamed_raw)
    assert streamed.shape == vector.shape
    np.testing.assert_array_equal(np.isnan(streamed), np.isnan(vector))
    # The vectorized EMA family evaluates the recursion block-wise, so differences of two
    # smoothed series (macd hist, tsi) may differ by a few ulps of the price scale.
    price_scale = float(np.nanmax(np.abs(bars["close"])))
    np.testing.assert_allclose(streamed, vector, rtol=1e-12, atol=1e-13 * price_scale, equal_nan=True)
    # the comparison must not be vacuous
    assert np.isfinite(vector).any()


SERIES_LENGTH_FUNCS = sorted(name for name, spec in SPECS.items() if spec.series_length)


@pytest.mark.parametrize("name", SERIES_LENGTH_FUNCS)
def test_series_length_recomputes_over_the_requested_window(name: str) -> None:
    """A per-bar length gives, on each bar, the vectorized result for that bar's length."""
    spec = SPECS[name]
    x = DATASETS["GOOG"]["close"]
    lengths = [5 + (i * 7) % 11 for i in range(x.shape[0])]
    obj = spec.stream(None)
    got = np.array([obj.update(x[i].item(), length=lengths[i]) for i in range(x.shape[0])], dtype=np.float64)
    by_length = {n: np.asarray(spec.vector(x, n), dtype=np.float64) for n in set(lengths)}
    want = np.array([by_length[lengths[i]][i] for i in range(x.shape[0])])
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


def test_series_length_longer_than_history_is_rejected() -> None:
    sma = ta.SMA(None, max_history=10)
    with pytest.raises(ValueError, match="exceeds the kept history"):
        sma.update(1.0, length=11)


def test_stream_without_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="length is required"):
        ta.Highest().update(1.0)


def test_vwap_stream_without_anchor_starts_on_the_first_bar_like_the_vector():
    bars = DATASETS["GOOG"]
    stream = ta.VWAP()
    got = [stream.update(v, x) for v, x in zip(bars["volume"].tolist(), bars["close"].tolist(), strict=True)]
    np.testing.assert_allclose(got, ta.vwap(bars["volume"], bars["close"]), rtol=1e-12)


@pytest.mark.parametrize("length", [1, 2, 5, 31, 32, 33])
def test_block_wise_ema_matches_the_bar_by_bar_recursion_at_every_size(length):
    """The vectorized EMA works in blocks of 32 bars: check sizes around the block edges."""
    closes = DATASETS["GOOG"]["close"]
    for size in sorted({0, 1, length - 1, length, length + 1, length + 31, length + 32, length + 33, 500}):
        x = closes[:size]
        stream = ta.EMA(length)
        streamed = np.array([stream.update(v) for v in x.tolist()], dtype=np.float64)
        np.testing.assert_allclose(ta.ema(x, length), streamed, rtol=1e-13, equal_nan=True)
