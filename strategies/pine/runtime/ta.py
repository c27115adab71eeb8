"""TradingView Pine Script v6 `ta.*` built-ins.

Two APIs, both with TradingView's formulas and warm-up:

* vectorized functions (`sma(src, length) -> np.ndarray`) computed over whole bar arrays before the
  bar loop; functions that read bar data take the bar arrays first (`atr(high, low, close, length)`),
  then the Pine arguments in Pine's order;
* streaming classes (`SMA(length).update(x) -> float`) with per-call-site state, for calls whose
  arguments depend on per-bar script state. They live in `ta_stream` and are re-exported here.

`VECTOR_FUNCS`, `STREAM_CLASSES` and `SPECS` (in `ta_registry`) map Pine names to both.

na handling (documented choices):
* The moving averages ignore na inputs like TradingView: they work on the last `length` non-na
  values and an na input never enters the window or the recursion. On the na-input bar itself,
  the window averages (sma, wma, vwma, alma, hma, stdev, variance, dev) repeat their previous
  result, while ema and rma (and so rsi, atr, macd, ...) return na and resume on the next valid
  bar. This follows clean-room TradingView probes published for ta.sma/ta.ema/ta.rma; the
  reference exports here contain no na inputs to confirm it.
* highest/lowest (and their *bars variants) skip na values inside the window; na if all are na.
* cum, max, min and the cum-based volume indicators skip na inputs (na until the first value);
  vwap skips bars whose price or volume is na; valuewhen returns the source as it was on the
  matching bar, na included (checked against the valuewhen_na export).
* Everything else propagates na the way the Pine reference implementation does (comparisons with
  na are false, arithmetic with na is na, division by zero is na).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from . import ta_core
from .ta_core import (
    as_bool_array,
    as_float_array,
    check_length,
    compact_apply,
    exp_smooth,
    ffill_index,
    matvec,
    rolling_apply,
    rolling_sum,
    shift,
    windows,
)

# Tolerance TradingView's stdev/variance use to snap a deviation from the mean to zero.
STDEV_ZERO_EPS = 1e-10
# Windows whose variance is below this get the element-wise zero snapping (elsewhere its effect is
# below 1e-10 relative).
STDEV_TINY_VARIANCE = 1e-10
# Relative distance under which ta.rci ranks two prices as a tie.
RANK_TIE_RELATIVE_EPS = 1e-10


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Pine division: na when the divisor is zero or either side is na."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.true_divide(num, den)
    return np.where(np.asarray(den) == 0, np.nan, out)


def _bool_gt(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.greater(a, b)


# ======================================================================= moving averages


def sma(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    return compact_apply(x, lambda c: rolling_sum(c, n) / n)


def ema(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    return exp_smooth(x, n, 2.0 / (n + 1))


def rma(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    return exp_smooth(x, n, 1.0 / n)


def _wma_plain(x: np.ndarray, n: int) -> np.ndarray:
    weights = np.arange(1, n + 1, dtype=np.float64)
    norm = n * (n + 1) / 2.0
    return rolling_apply(x, n, lambda w: matvec(w, weights) / norm)


def wma(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    return compact_apply(x, lambda c: _wma_plain(c, n))


def vwma(volume: np.ndarray, src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    v = as_float_array(volume)
    return _div(sma(x * v, length), sma(v, length))


def hma(src: np.ndarray, length: int) -> np.ndarray:
    n = check_length(length, minimum=2)
    x = as_float_array(src)
    raw = 2.0 * wma(x, n // 2) - wma(x, n)
    return wma(raw, math.floor(math.sqrt(n)))


SWMA_WEIGHTS = np.array([1.0, 2.0, 2.0, 1.0]) / 6.0


def swma(src: np.ndarray) -> np.ndarray:
    x = as_float_array(src)
    return rolling_apply(x, 4, lambda w: matvec(w, SWMA_WEIGHTS))


def alma_weights(length: int, offset: float, sigma: float, floor: bool = False) -> np.ndarray:
    """Gaussian weights, oldest bar first."""
    m = offset * (length - 1)
    if floor:
        m = math.floor(m)
    s = length / sigma
    i = np.arange(length, dtype=np.float64)
    return np.exp(-((i - m) ** 2) / (2.0 * s * s))


def alma(src: np.ndarray, length: int, offset: float, sigma: float, floor: bool = False) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    w = alma_weights(n, offset, sigma, floor)
    norm = w.sum()
    return compact_apply(x, lambda c: rolling_apply(c, n, lambda win: matvec(win, w) / norm))


def linreg(src: np.ndarray, length: int, offset: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    return rolling_apply(x, n, lambda w: linreg_window(w, offset))


def linreg_window(w: np.ndarray, offset: int) -> np.ndarray:
    """Least-squares line over each row (oldest first), evaluated `offset` bars before the newest."""
    n = w.shape[-1]
    xs = np.arange(n, dtype=np.float64)
    sx = xs.sum()
    sxx = (xs * xs).sum()
    sy = w.sum(axis=-1)
    sxy = matvec(w, xs)
    den = n * sxx - sx * sx
    slope = (n * sxy - sx * sy) / den if den != 0 else np.zeros_like(sy)
    intercept = (sy - slope * sx) / n
    return intercept + slope * (n - 1 - offset)


# ======================================================================= oscillators


def change(src: np.ndarray, length: int = 1) -> np.ndarray:
    arr = np.asarray(src)
    n = check_length(length, minimum=0)
    if arr.dtype == np.bool_:
        # Pine v6 bools are never na: history before the first bar reads as false.
        prev = np.zeros(arr.shape[0], dtype=np.bool_)
        if n < arr.shape[0]:
            prev[n:] = arr[: arr.shape[0] - n]
        return arr != prev
    x = as_float_array(arr)
    return x - shift(x, n)


def mom(src: np.ndarray, length: int) -> np.ndarray:
    return change(as_float_array(src), check_length(length))


def roc(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    prev = shift(x, check_length(length))
    return 100.0 * _div(x - prev, prev)


def rsi_from_rma(up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """100 - 100/(1 + up/down), with TradingView's cases: down == 0 -> 100, up == 0 -> 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        res = up / down
        res += 1.0
        np.divide(100.0, res, out=res)
        np.subtract(100.0, res, out=res)
    res[up == 0] = 0.0
    res[down == 0] = 100.0  # na up/down stay na: comparisons with NaN are false
    return res


def rsi(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    if x.shape[0] > 1 and not np.isnan(x).any():
        # Common case without na: smooth the n-1 bar-to-bar moves directly (bar 0 has none).
        d = np.diff(x)
        up = np.full(x.shape[0], np.nan)
        down = np.full(x.shape[0], np.nan)
        up[1:] = exp_smooth(np.maximum(d, 0.0), n, 1.0 / n)
        down[1:] = exp_smooth(np.maximum(-d, 0.0), n, 1.0 / n)
        return rsi_from_rma(up, down)
    d = change(x)
    up = rma(np.maximum(d, 0.0), n)
    down = rma(np.maximum(-d, 0.0), n)
    return rsi_from_rma(up, down)


def macd(src: np.ndarray, fast_length: int, slow_length: int, signal_length: int):
    """Returns `(macd, signal, hist)`: ema(fast) - ema(slow), its ema(signal) and their difference."""
    x = as_float_array(src)
    line = ema(x, fast_length) - ema(x, slow_length)
    signal = ema(line, signal_length)
    return line, signal, line - signal


def highest(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    with np.errstate(invalid="ignore"):
        return rolling_apply(x, n, lambda w: np.fmax.reduce(w, axis=1))


def lowest(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    with np.errstate(invalid="ignore"):
        return rolling_apply(x, n, lambda w: np.fmin.reduce(w, axis=1))


def _extreme_bars(x: np.ndarray, n: int, sign: float) -> np.ndarray:
    def reducer(w: np.ndarray) -> np.ndarray:
        oldest_first = sign * w
        all_na = np.isnan(oldest_first).all(axis=1)
        filled = np.where(np.isnan(oldest_first), -np.inf, oldest_first)
        # argmax returns the first hit, i.e. the oldest bar among ties (TradingView's choice)
        res = (np.argmax(filled, axis=1) - (n - 1)).astype(np.float64)
        res[all_na] = np.nan
        return res

    return rolling_apply(x, n, reducer)


def highestbars(src: np.ndarray, length: int) -> np.ndarray:
    """Offset (0 or negative) to the highest value of the last `length` bars; the oldest bar wins ties."""
    return _extreme_bars(as_float_array(src), check_length(length), 1.0)


def lowestbars(src: np.ndarray, length: int) -> np.ndarray:
    """Offset (0 or negative) to the lowest value of the last `length` bars; the oldest bar wins ties."""
    return _extreme_bars(as_float_array(src), check_length(length), -1.0)


def stoch(src: np.ndarray, high: np.ndarray, low: np.ndarray, length: int) -> np.ndarray:
    """100 * (src - lowest(low)) / (highest(high) - lowest(low)); na when the range is zero."""
    n = check_length(length)
    lo = lowest(low, n)
    hi = highest(high, n)
    return 100.0 * _div(as_float_array(src) - lo, hi - lo)


def _variance_window(w: np.ndarray, biased: bool) -> np.ndarray:
    """TradingView's variance: squared deviations from the window mean, where a deviation within
    STDEV_ZERO_EPS of zero counts as exactly zero (so a flat window gives exactly 0)."""
    n = w.shape[-1]
    mean = w.sum(axis=-1) / n
    dev = w - mean[:, None]
    ss = np.einsum("ij,ij->i", dev, dev)
    # Zeroing deviations below 1e-10 changes the sum by at most n*1e-20: only rows with a tiny
    # sum of squares can notice, so only those are recomputed element by element.
    tiny = ss <= n * STDEV_TINY_VARIANCE
    if tiny.any():
        d = dev[tiny]
        d = np.where(np.abs(d) <= STDEV_ZERO_EPS, 0.0, d)
        ss[tiny] = (d * d).sum(axis=-1)
    return ss / (n if biased else n - 1)


def variance(src: np.ndarray, length: int, biased: bool = True) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length, minimum=1 if biased else 2)
    return compact_apply(x, lambda c: rolling_apply(c, n, lambda w: _variance_window(w, biased)))


def stdev(src: np.ndarray, length: int, biased: bool = True) -> np.ndarray:
    return np.sqrt(variance(src, length, biased))


def dev(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)

    def reducer(w: np.ndarray) -> np.ndarray:
        mean = w.sum(axis=1, keepdims=True) / n
        return np.abs(w - mean).sum(axis=1) / n

    return compact_apply(x, lambda c: rolling_apply(c, n, reducer))


def cci(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    return _div(x - sma(x, n), 0.015 * dev(x, n))


def mfi(volume: np.ndarray, src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    v = as_float_array(volume)
    n = check_length(length)
    d = change(x)
    with np.errstate(invalid="ignore"):
        upper_flow = np.where(d <= 0.0, 0.0, x) * v
        lower_flow = np.where(d >= 0.0, 0.0, x) * v
    upper = rolling_sum(upper_flow, n)
    lower = rolling_sum(lower_flow, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        res = 100.0 - 100.0 / (1.0 + upper / lower)
    # upper/lower with lower == 0 is +inf in IEEE; Pine yields na for x/0
    return np.where(lower == 0, np.nan, res)


def tr(high: np.ndarray, low: np.ndarray, close: np.ndarray, handle_na: bool = False) -> np.ndarray:
    """True range. On the first bar (no previous close) it is na, or high - low with `handle_na`."""
    h = as_float_array(high)
    lo = as_float_array(low)
    pc = shift(as_float_array(close), 1)
    res = np.maximum(np.maximum(h - lo, np.abs(h - pc)), np.abs(lo - pc))
    if handle_na:
        res = np.where(np.isnan(pc), h - lo, res)
    return res


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, length: int) -> np.ndarray:
    """rma(tr(handle_na=true), length): the first bar's high - low counts toward the seed."""
    return rma(tr(high, low, close, True), length)


def bb(src: np.ndarray, length: int, mult: float):
    """Returns `(middle, upper, lower)`: sma and sma +/- mult * stdev (biased)."""
    x = as_float_array(src)
    basis = sma(x, length)
    d = mult * stdev(x, length)
    return basis, basis + d, basis - d


def bbw(src: np.ndarray, length: int, mult: float) -> np.ndarray:
    """Bollinger band width in percent of the middle band: (upper - lower) / middle * 100."""
    basis, upper, lower = bb(src, length, mult)
    return _div(upper - lower, basis) * 100.0


def kc(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    src: np.ndarray,
    length: int,
    mult: float,
    use_true_range: bool = True,
):
    """Returns `(middle, upper, lower)`: ema(src) +/- mult * ema(true range, or high - low)."""
    x = as_float_array(src)
    basis = ema(x, length)
    span = tr(high, low, close, False) if use_true_range else as_float_array(high) - as_float_array(low)
    band = ema(span, length)
    return basis, basis + band * mult, basis - band * mult


def kcw(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    src: np.ndarray,
    length: int,
    mult: float,
    use_true_range: bool = True,
) -> np.ndarray:
    """Keltner channel width as a fraction of the middle band: (upper - lower) / middle."""
    basis, upper, lower = kc(high, low, close, src, length, mult, use_true_range)
    return _div(upper - lower, basis)


def fixnan(x: np.ndarray) -> np.ndarray:
    idx = ffill_index(~np.isnan(x))
    out = np.full(x.shape[0], np.nan)
    ok = idx >= 0
    out[ok] = x[idx[ok]]
    return out


def dmi(high: np.ndarray, low: np.ndarray, close: np.ndarray, di_length: int, adx_smoothing: int):
    """Returns `(+DI, -DI, ADX)` (TradingView's reference: rma smoothing, DIs carried over na)."""
    h = as_float_array(high)
    lo = as_float_array(low)
    up = change(h)
    down = -change(lo)
    with np.errstate(invalid="ignore"):
        plus_dm = np.where((up > down) & (up > 0), up, 0.0)
        minus_dm = np.where((down > up) & (down > 0), down, 0.0)
    plus_dm[np.isnan(up)] = np.nan
    minus_dm[np.isnan(down)] = np.nan
    trur = rma(tr(h, lo, close, False), di_length)
    plus = fixnan(100.0 * _div(rma(plus_dm, di_length), trur))
    minus = fixnan(100.0 * _div(rma(minus_dm, di_length), trur))
    total = plus + minus
    adx = 100.0 * rma(np.abs(plus - minus) / np.where(total == 0, 1.0, total), adx_smoothing)
    return plus, minus, adx


def supertrend(high: np.ndarray, low: np.ndarray, close: np.ndarray, factor: float, atr_period: int):
    """Returns `(supertrend, direction)`; direction -1 is an uptrend (line below price), 1 a downtrend.

    Same recursion as `ta_stream.SupertrendState.step`, inlined for speed (tests assert equality).
    """
    h = as_float_array(high)
    lo = as_float_array(low)
    c = as_float_array(close).tolist()
    atr_values = atr(h, lo, close, atr_period)
    mid = (h + lo) / 2.0
    basic_upper = (mid + factor * atr_values).tolist()
    basic_lower = (mid - factor * atr_values).tolist()
    atr_list = atr_values.tolist()
    n = len(c)
    st = [0.0] * n
    direction = [0.0] * n
    prev_upper = prev_lower = prev_close = prev_st = prev_atr = math.nan
    i = 0
    for upper, lower, ci, atr_i in zip(basic_upper, basic_lower, c, atr_list, strict=True):
        pl = 0.0 if prev_lower != prev_lower else prev_lower
        pu = 0.0 if prev_upper != prev_upper else prev_upper
        if not (lower > pl or prev_close < pl):
            lower = pl
        if not (upper < pu or prev_close > pu):
            upper = pu
        if prev_atr != prev_atr:
            d = 1.0
        elif prev_st == pu:
            d = -1.0 if ci > upper else 1.0
        else:
            d = 1.0 if ci < lower else -1.0
        prev_st = lower if d == -1.0 else upper
        st[i] = prev_st
        direction[i] = d
        prev_upper = upper
        prev_lower = lower
        prev_close = ci
        prev_atr = atr_i
        i += 1
    return np.array(st, dtype=np.float64), np.array(direction, dtype=np.float64)


def sar(high: np.ndarray, low: np.ndarray, close: np.ndarray, start: float, inc: float, maximum: float):
    """Parabolic SAR (TradingView's reference algorithm); same steps as `ta_stream.SAR.update`,
    inlined over local variables for speed (tests assert equality)."""
    h = as_float_array(high).tolist()
    lo = as_float_array(low).tolist()
    c = as_float_array(close).tolist()
    n = len(c)
    out = [math.nan] * n
    nan = math.nan
    result = max_min = acceleration = nan
    is_below = False
    for bar in range(1, n):
        high_i, low_i = h[bar], lo[bar]
        first_trend_bar = False
        if bar == 1:
            if c[1] > c[0]:
                is_below, max_min, result = True, high_i, lo[0]
            else:
                is_below, max_min, result = False, low_i, h[0]
            first_trend_bar = True
            acceleration = start
        result = result + acceleration * (max_min - result)
        if is_below:
            if result > low_i:
                first_trend_bar = True
                is_below = False
                result = max(high_i, max_min)
                max_min = low_i
                acceleration = start
        elif result < high_i:
            first_trend_bar = True
            is_below = True
            result = min(low_i, max_min)
            max_min = high_i
            acceleration = start
        if not first_trend_bar:
            if is_below:
                if high_i > max_min:
                    max_min = high_i
                    acceleration = min(acceleration + inc, maximum)
            elif low_i < max_min:
                max_min = low_i
                acceleration = min(acceleration + inc, maximum)
        if is_below:
            result = _nan_min(result, lo[bar - 1])
            if bar > 1:
                result = _nan_min(result, lo[bar - 2])
        else:
            result = _nan_max(result, h[bar - 1])
            if bar > 1:
                result = _nan_max(result, h[bar - 2])
        out[bar] = result
    return np.array(out, dtype=np.float64)


def _nan_max(a: float, b: float) -> float:
    """Pine math.max: na if either side is na."""
    return math.nan if a != a or b != b else max(a, b)


def _nan_min(a: float, b: float) -> float:
    return math.nan if a != a or b != b else min(a, b)


# ======================================================================= boolean / event helpers


def crossover(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x = as_float_array(a)
    y = as_float_array(b)
    with np.errstate(invalid="ignore"):
        return (x > y) & (shift(x) <= shift(y))


def crossunder(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x = as_float_array(a)
    y = as_float_array(b)
    with np.errstate(invalid="ignore"):
        return (x < y) & (shift(x) >= shift(y))


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return crossover(a, b) | crossunder(a, b)


def _monotonic(x: np.ndarray, n: int, up: bool) -> np.ndarray:
    """True when each of the last n bar-to-bar moves is strictly up (or down)."""
    d = x - shift(x)
    with np.errstate(invalid="ignore"):
        step = d > 0 if up else d < 0
    # count of consecutive qualifying moves ending at each bar
    run_start = ffill_index(~step)
    run = np.arange(x.shape[0]) - run_start
    return run >= n


def rising(src: np.ndarray, length: int) -> np.ndarray:
    """TradingView: the source has risen on each of the last `length` bars."""
    return _monotonic(as_float_array(src), check_length(length), True)


def falling(src: np.ndarray, length: int) -> np.ndarray:
    return _monotonic(as_float_array(src), check_length(length), False)


def cum(src: np.ndarray) -> np.ndarray:
    """Running total; na values add nothing, and the result is na until the first non-na value."""
    x = as_float_array(src)
    valid = ~np.isnan(x)
    out = np.cumsum(np.where(valid, x, 0.0))
    out[np.cumsum(valid) == 0] = np.nan
    return out


def barssince(condition: np.ndarray) -> np.ndarray:
    cond = as_bool_array(condition)
    idx = ffill_index(cond)
    out = (np.arange(cond.shape[0]) - idx).astype(np.float64)
    out[idx < 0] = np.nan
    return out


def valuewhen(condition: np.ndarray, src: np.ndarray, occurrence: int) -> np.ndarray:
    """Value of `src` on the bar where `condition` was true for the `occurrence`-th most recent time."""
    cond = as_bool_array(condition)
    x = as_float_array(src)
    k = check_length(occurrence, "occurrence", minimum=0)
    hits = np.flatnonzero(cond)
    count = np.cumsum(cond)  # number of true bars up to and including each bar
    target = count - 1 - k
    out = np.full(x.shape[0], np.nan)
    ok = target >= 0
    out[ok] = x[hits[target[ok]]]
    return out


def pivothigh(src: np.ndarray, leftbars: int, rightbars: int) -> np.ndarray:
    return _pivot(as_float_array(src), leftbars, rightbars, 1.0)


def pivotlow(src: np.ndarray, leftbars: int, rightbars: int) -> np.ndarray:
    return _pivot(as_float_array(src), leftbars, rightbars, -1.0)


def _pivot(x: np.ndarray, leftbars: int, rightbars: int, sign: float) -> np.ndarray:
    left = check_length(leftbars, "leftbars", minimum=0)
    right = check_length(rightbars, "rightbars", minimum=0)
    width = left + right + 1

    def reducer(raw: np.ndarray) -> np.ndarray:
        # The pivot bar must be strictly above (below) every other bar of the window.
        w = sign * raw
        centre = w[:, left]
        with np.errstate(invalid="ignore"):
            before = np.all(w[:, :left] < centre[:, None], axis=1)
            after = np.all(w[:, left + 1 :] < centre[:, None], axis=1)
        ok = before & after & ~np.isnan(centre)
        return np.where(ok, sign * centre, np.nan)

    return rolling_apply(x, width, reducer)


# ======================================================================= statistics over windows


def percentrank(src: np.ndarray, length: int) -> np.ndarray:
    """Percent of the previous `length` values that are <= the current one (first value on bar `length`)."""
    x = as_float_array(src)
    n = check_length(length)

    def reducer(w: np.ndarray) -> np.ndarray:
        # share of the previous n values that are <= the current one
        with np.errstate(invalid="ignore"):
            count = (w[:, :-1] <= w[:, -1:]).sum(axis=1)
        res = 100.0 * count / n
        res[np.isnan(w).any(axis=1)] = np.nan
        return res

    return rolling_apply(x, n + 1, reducer)


def correlation(a: np.ndarray, b: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(a)
    y = as_float_array(b)
    n = check_length(length)
    if x.shape != y.shape:
        raise ValueError(f"correlation sources differ in length: {x.shape[0]} vs {y.shape[0]}")
    # Deviations from each window's mean avoid the cancellation of E[xy] - E[x]E[y] on prices
    # with a small variance.
    total = x.shape[0]
    out = np.full(total, np.nan)
    if total < n:
        return out
    wx_all = windows(x, n)
    wy_all = windows(y, n)
    chunk = max(1, ta_core.ROLLING_CHUNK_ELEMENTS // n)
    for start in range(0, wx_all.shape[0], chunk):
        wx = wx_all[start : start + chunk]
        wy = wy_all[start : start + chunk]
        dx = wx - wx.mean(axis=1, keepdims=True)
        dy = wy - wy.mean(axis=1, keepdims=True)
        cov = np.einsum("ij,ij->i", dx, dy)
        den = np.sqrt(np.einsum("ij,ij->i", dx, dx) * np.einsum("ij,ij->i", dy, dy))
        with np.errstate(divide="ignore", invalid="ignore"):
            out[n - 1 + start : n - 1 + start + wx.shape[0]] = np.where(den == 0, np.nan, cov / den)
    return out


def median(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    return rolling_apply(x, n, lambda w: np.median(w, axis=1))


def mode(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)

    def reducer(w: np.ndarray) -> np.ndarray:
        """Most frequent value per row; the smallest among equally frequent ones; na if any na."""
        s = np.sort(w, axis=1)
        # run length of equal values ending at each position of the sorted row
        eq = s[:, 1:] == s[:, :-1]
        runs = np.zeros(s.shape, dtype=np.int64)
        for j in range(1, n):
            runs[:, j] = np.where(eq[:, j - 1], runs[:, j - 1] + 1, 0)
        best = np.argmax(runs, axis=1)  # first (smallest value) position with the longest run
        res = s[np.arange(s.shape[0]), best]
        res[np.isnan(s).any(axis=1)] = np.nan
        return res

    return rolling_apply(x, n, reducer)


def percentile_nearest_rank(src: np.ndarray, length: int, percentage: float) -> np.ndarray:
    """Sorted window value at rank ceil(percentage/100 * length) (at least 1)."""
    x = as_float_array(src)
    n = check_length(length)
    rank = max(math.ceil(percentage / 100.0 * n), 1)
    rank = min(rank, n)

    def reducer(w: np.ndarray) -> np.ndarray:
        res = np.sort(w, axis=1)[:, rank - 1]
        res[np.isnan(w).any(axis=1)] = np.nan
        return res

    return rolling_apply(x, n, reducer)


def percentile_linear_interpolation(src: np.ndarray, length: int, percentage: float) -> np.ndarray:
    """Linear interpolation of the sorted window at 0-based position length*percentage/100 - 0.5."""
    x = as_float_array(src)
    n = check_length(length)

    # TradingView interpolates between the sorted values around 0-based position n*p/100 - 0.5
    position = min(max(n * percentage / 100.0 - 0.5, 0.0), n - 1.0)
    lower_index = math.floor(position)
    upper_index = min(lower_index + 1, n - 1)
    fraction = position - lower_index

    def reducer(w: np.ndarray) -> np.ndarray:
        s = np.sort(w, axis=1)
        lo = s[:, lower_index]
        res = lo + (s[:, upper_index] - lo) * fraction
        res[np.isnan(w).any(axis=1)] = np.nan
        return res

    return rolling_apply(x, n, reducer)


def range_(src: np.ndarray, length: int) -> np.ndarray:
    return highest(src, length) - lowest(src, length)


def cog(src: np.ndarray, length: int) -> np.ndarray:
    """Center of gravity: -sum(src[i] * (i + 1)) / sum(src) over the last `length` bars."""
    x = as_float_array(src)
    n = check_length(length)
    # weight 1 for the newest bar, n for the oldest
    weights = np.arange(n, 0, -1, dtype=np.float64)
    num = rolling_apply(x, n, lambda w: matvec(w, weights))
    return -_div(num, rolling_sum(x, n))


def cmo(src: np.ndarray, length: int) -> np.ndarray:
    x = as_float_array(src)
    n = check_length(length)
    m = change(x)
    with np.errstate(invalid="ignore"):
        gains = np.where(m >= 0, m, 0.0)
        losses = np.where(m >= 0, 0.0, -m)
    gains[np.isnan(m)] = np.nan
    losses[np.isnan(m)] = np.nan
    sm1 = rolling_sum(gains, n)
    sm2 = rolling_sum(losses, n)
    return 100.0 * _div(sm1 - sm2, sm1 + sm2)


def tsi(src: np.ndarray, short_length: int, long_length: int) -> np.ndarray:
    """True strength index in [-1, 1] (TradingView does not scale it by 100)."""
    x = as_float_array(src)
    pc = change(x)
    num = ema(ema(pc, long_length), short_length)
    den = ema(ema(np.abs(pc), long_length), short_length)
    return _div(num, den)


def wpr(high: np.ndarray, low: np.ndarray, close: np.ndarray, length: int) -> np.ndarray:
    hi = highest(high, length)
    lo = lowest(low, length)
    return 100.0 * _div(as_float_array(close) - hi, hi - lo)


def rci_window(w: np.ndarray) -> np.ndarray:
    """Rank correlation (x100) of time rank (newest = 1) and price rank (highest = 1).

    TradingView gives tied prices their average rank and takes the Pearson correlation of the two
    rank vectors (so ties do not follow the 1 - 6*sum(d^2)/(n^3-n) shortcut). Prices a rounding
    error apart (e.g. two hl2 results) count as tied.
    """
    rows, n = w.shape
    newest_first = w[:, ::-1]
    order = np.argsort(-newest_first, axis=1, kind="stable")
    ordered = np.take_along_axis(newest_first, order, axis=1)
    gap = np.abs(np.diff(ordered, axis=1))
    scale = np.maximum(np.abs(ordered[:, 1:]), np.abs(ordered[:, :-1]))
    starts_group = np.ones((rows, n), dtype=bool)
    starts_group[:, 1:] = ~(gap <= RANK_TIE_RELATIVE_EPS * scale)
    ends_group = np.ones((rows, n), dtype=bool)
    ends_group[:, :-1] = starts_group[:, 1:]
    positions = np.broadcast_to(np.arange(n), (rows, n))
    group_start = np.maximum.accumulate(np.where(starts_group, positions, 0), axis=1)
    group_end = np.minimum.accumulate(np.where(ends_group, positions, n - 1)[:, ::-1], axis=1)[:, ::-1]
    average_rank = (group_start + group_end) / 2.0 + 1.0
    price_rank = np.empty((rows, n))
    np.put_along_axis(price_rank, order, average_rank, axis=1)
    time_rank = np.arange(1, n + 1, dtype=np.float64)
    mean = (n + 1) / 2.0
    dt = time_rank - mean
    dp = price_rank - mean  # average ranks keep the mean at (n+1)/2
    num = matvec(dp, dt)
    den = np.sqrt((dp * dp).sum(axis=1) * float(np.dot(dt, dt)))
    with np.errstate(divide="ignore", invalid="ignore"):
        res = np.where(den == 0, np.nan, num / den * 100.0)
    res[np.isnan(w).any(axis=1)] = np.nan
    return res


def rci(src: np.ndarray, length: int) -> np.ndarray:
    """Rank correlation index in [-100, 100]; first value one bar after the first full window."""
    x = as_float_array(src)
    n = check_length(length, minimum=2)
    out = rolling_apply(x, n, rci_window)
    # TradingView's first value comes one bar after the first full window.
    out[: min(n, out.shape[0])] = np.nan
    return out


def max_(src: np.ndarray) -> np.ndarray:
    """All-time running maximum (na values skipped)."""
    x = as_float_array(src)
    with np.errstate(invalid="ignore"):
        return np.fmax.accumulate(x) if x.shape[0] else x.copy()


def min_(src: np.ndarray) -> np.ndarray:
    x = as_float_array(src)
    with np.errstate(invalid="ignore"):
        return np.fmin.accumulate(x) if x.shape[0] else x.copy()


# ======================================================================= volume indicators


def obv(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    return cum(np.sign(change(as_float_array(close))) * as_float_array(volume))


def accdist(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    h, lo, c, v = (as_float_array(a) for a in (high, low, close, volume))
    with np.errstate(divide="ignore", invalid="ignore"):
        mfm = ((c - lo) - (h - c)) / (h - lo)
    flat = ((c == h) & (c == lo)) | (h == lo)
    return cum(np.where(flat, 0.0, mfm * v))


def pvt(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    c = as_float_array(close)
    return cum(_div(change(c), shift(c)) * as_float_array(volume))


def _volume_index(close: np.ndarray, volume: np.ndarray, positive: bool) -> np.ndarray:
    from .ta_stream import VolumeIndex

    state = VolumeIndex(positive)
    c = as_float_array(close).tolist()
    v = as_float_array(volume).tolist()
    step = state.update
    return np.array([step(c[i], v[i]) for i in range(len(c))], dtype=np.float64)


def nvi(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    return _volume_index(close, volume, positive=False)


def pvi(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    return _volume_index(close, volume, positive=True)


def wad(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    h, lo, c = (as_float_array(a) for a in (high, low, close))
    pc = shift(c)
    true_high = np.fmax(h, pc)
    true_low = np.fmin(lo, pc)
    m = c - pc
    with np.errstate(invalid="ignore"):
        gain = np.where(m > 0, c - true_low, np.where(m < 0, c - true_high, 0.0))
    return cum(gain)


def wvad(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray):
    o, h, lo, c, v = (as_float_array(a) for a in (open_, high, low, close, volume))
    return _div(c - o, h - lo) * v


def iii(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    h, lo, c, v = (as_float_array(a) for a in (high, low, close, volume))
    return _div(2.0 * c - h - lo, (h - lo) * v)


def vwap(volume: np.ndarray, src: np.ndarray, anchor: np.ndarray | None = None, stdev_mult: float | None = None):
    """Anchored VWAP. `anchor[i]` true starts a new period at bar i; with `anchor=None` the whole
    history is one period. Before the first anchor the result is na. With `stdev_mult`, returns
    `(vwap, upper_band, lower_band)`. Bars with an na price or volume add nothing.

    Each period is summed with its own running (sequential) sums, as `ta_stream.VWAP` does.
    """
    x = as_float_array(src)
    v = as_float_array(volume)
    n = x.shape[0]
    if anchor is None:
        starts = np.zeros(n, dtype=bool)
        if n:
            starts[0] = True
    else:
        starts = as_bool_array(anchor).copy()
    usable = ~(np.isnan(x) | np.isnan(v))
    vol = np.where(usable, v, 0.0)
    pv = np.where(usable, v * x, 0.0)
    pv2 = np.where(usable, v * x * x, 0.0)
    bounds = [*np.flatnonzero(starts).tolist(), n]
    sum_v = np.full(n, np.nan)
    sum_pv = np.full(n, np.nan)
    sum_pv2 = np.full(n, np.nan)
    for a, b in itertools.pairwise(bounds):
        sum_v[a:b] = np.cumsum(vol[a:b])
        sum_pv[a:b] = np.cumsum(pv[a:b])
        sum_pv2[a:b] = np.cumsum(pv2[a:b])
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(sum_v == 0, np.nan, sum_pv / sum_v)
        if stdev_mult is None:
            return value
        var = sum_pv2 / sum_v - value * value
        from .ta_stream import VWAP_ZERO_VARIANCE

        dev = np.where(var > VWAP_ZERO_VARIANCE * value * value, np.sqrt(np.maximum(var, 0.0)), 0.0)
    dev = np.where(np.isnan(value), np.nan, dev)
    return value, value + stdev_mult * dev, value - stdev_mult * dev


# ======================================================================= pivot point levels

PIVOT_LEVEL_NAMES = ("P", "R1", "S1", "R2", "S2", "R3", "S3", "R4", "S4", "R5", "S5")
PIVOT_TYPES = ("Traditional", "Fibonacci", "Woodie", "Classic", "DM", "Camarilla")


def pivot_point_levels(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    type_: str,
    anchor: np.ndarray,
    developing: bool = False,
) -> np.ndarray:
    """Rows of 11 levels `[P, R1, S1, R2, S2, R3, S3, R4, S4, R5, S5]` per bar (na where the type
    has no such level or no complete period exists yet)."""
    from .ta_stream import PivotPointLevels, pivot_levels

    if type_ not in PIVOT_TYPES:
        raise ValueError(f"unknown pivot type {type_!r}; expected one of {', '.join(PIVOT_TYPES)}")
    o, h, lo, c = (as_float_array(a) for a in (open_, high, low, close))
    n = c.shape[0]
    width = len(PIVOT_LEVEL_NAMES)
    if developing:
        state = PivotPointLevels(type_, developing)
        a = as_bool_array(anchor).tolist()
        ol, hl, ll, cl = o.tolist(), h.tolist(), lo.tolist(), c.tolist()
        step = state.update
        rows = [step(ol[i], hl[i], ll[i], cl[i], a[i]) for i in range(n)]
        return np.array(rows, dtype=np.float64).reshape(n, width)
    out = np.full((n, width), np.nan)
    if n == 0:
        return out
    starts = as_bool_array(anchor).copy()
    starts[0] = True  # the first bar opens a period even without an anchor
    first = np.flatnonzero(starts)
    last = np.append(first[1:], n) - 1
    with np.errstate(invalid="ignore"):
        period_high = np.fmax.reduceat(h, first)
        period_low = np.fmin.reduceat(lo, first)
    period_open = o[first].tolist()
    period_close = c[last].tolist()
    period_high_l, period_low_l = period_high.tolist(), period_low.tolist()
    open_list = o.tolist()
    for k in range(1, first.shape[0]):
        levels = pivot_levels(
            type_, period_open[k - 1], period_high_l[k - 1], period_low_l[k - 1], period_close[k - 1],
            open_list[first[k]],
        )  # fmt: skip
        out[first[k] : last[k] + 1] = levels
    return out


_LAZY_REGISTRY = ("SPECS", "STREAM_CLASSES", "VECTOR_FUNCS", "FuncSpec")


def __getattr__(name: str):
    """Expose the streaming classes (`ta.SMA`) and the registries without an import cycle."""
    if name in _LAZY_REGISTRY:
        from . import ta_registry

        return getattr(ta_registry, name)
    from . import ta_stream

    if name in ta_stream.__all__:
        return getattr(ta_stream, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
