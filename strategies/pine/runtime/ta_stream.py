"""Streaming (bar-by-bar) versions of the `ta.*` built-ins.

One instance per Pine call site; call `update(...)` exactly once per bar, in bar order. Arguments
that are bar data come first (`ATR(length).update(high, low, close)`), then the series arguments in
Pine order. Results equal the vectorized functions in `ta` (tests assert it):

* recursive indicators (ema, rma, rsi, atr, macd, dmi, tsi, kc, supertrend, sar, cum-based ones,
  vwap, nvi/pvi, pivot_point_levels) step the recursion bar by bar with the same formulas the
  vectorized versions evaluate (the EMA family there block-wise, equal to ~1e-15 relative);
* window indicators keep the last bars they need in a bounded deque and evaluate the vectorized
  function on that tail, so both APIs share one formula.

Window classes whose length Pine allows to be a series (`SMA`, `WMA`, `Highest`, `Lowest`, ...)
accept `update(..., length=n)` per bar; they then keep `max_history` bars (like TradingView's
max_bars_back) and recompute over the requested window.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable

import numpy as np

from . import ta as _ta
from .ta_core import NA, ExpSmoother, check_length

DEFAULT_MAX_HISTORY = 5000
VWAP_ZERO_VARIANCE = 1e-14  # relative to vwap^2

__all__ = [
    "ALMA",
    "ATR",
    "BB",
    "BBW",
    "CCI",
    "CMO",
    "COG",
    "DMI",
    "EMA",
    "HMA",
    "III",
    "KC",
    "KCW",
    "MACD",
    "MFI",
    "MOM",
    "NVI",
    "OBV",
    "PVI",
    "PVT",
    "RCI",
    "RMA",
    "ROC",
    "RSI",
    "SAR",
    "SMA",
    "SWMA",
    "TR",
    "TSI",
    "VWAP",
    "VWMA",
    "WAD",
    "WMA",
    "WPR",
    "WVAD",
    "AccDist",
    "BarsSince",
    "Change",
    "Correlation",
    "Cross",
    "Crossover",
    "Crossunder",
    "Cum",
    "Dev",
    "Falling",
    "Highest",
    "HighestBars",
    "LinReg",
    "Lowest",
    "LowestBars",
    "Max",
    "Median",
    "Min",
    "Mode",
    "PercentRank",
    "PercentileLinearInterpolation",
    "PercentileNearestRank",
    "PivotHigh",
    "PivotLow",
    "PivotPointLevels",
    "Range",
    "Rising",
    "Stdev",
    "Stoch",
    "Supertrend",
    "SupertrendState",
    "ValueWhen",
    "Variance",
    "VolumeIndex",
]


def _nz(x: float, replacement: float = 0.0) -> float:
    return replacement if x != x else x


# ======================================================================= generic window machinery


class _NaSkippingWindow:
    """Keeps the last non-na values; the result is recomputed only when a non-na value arrives.

    Used by the moving-average family, which ignores na inputs like TradingView does.
    """

    def __init__(self, length: int | None, max_history: int | None, minimum: int = 1) -> None:
        self.minimum = minimum
        self.length = None if length is None else check_length(length, minimum=minimum)
        size = max_history or (self.length if self.length is not None else DEFAULT_MAX_HISTORY)
        if self.length is not None and max_history is not None:
            size = max(size, self.length)
        self.buf: deque[float] = deque(maxlen=size)
        self.value = NA

    def _length_for(self, length: int | None) -> int:
        if length is None:
            if self.length is None:
                raise ValueError("length is required: give it to the constructor or to update()")
            return self.length
        n = check_length(length, minimum=self.minimum)
        if n > self.buf.maxlen:  # type: ignore[operator]
            raise ValueError(f"length {n} exceeds the kept history of {self.buf.maxlen} bars")
        return n

    def push(self, x: float, length: int | None) -> np.ndarray | None:
        """Append x; return the window of the last n values, or None when the result is unchanged/na."""
        n = self._length_for(length)
        if x != x:
            return None
        self.buf.append(x)
        if len(self.buf) < n:
            self.value = NA
            return None
        if n == len(self.buf):
            return np.fromiter(self.buf, dtype=np.float64, count=n)
        return np.array(list(self.buf)[-n:], dtype=np.float64)


class _VectorTail:
    """Evaluates a vectorized function on the last `lookback` bars of its series inputs."""

    def __init__(self, n_inputs: int, lookback: int, fn: Callable[..., object]) -> None:
        self.bufs = [deque(maxlen=lookback) for _ in range(n_inputs)]
        self.fn = fn

    def update(self, *values: float):
        for buf, v in zip(self.bufs, values, strict=True):
            buf.append(v)
        arrays = [np.fromiter(b, dtype=np.float64, count=len(b)) for b in self.bufs]
        res = self.fn(*arrays)
        if isinstance(res, tuple):
            return tuple(_last(r) for r in res)
        return _last(res)


def _last(arr: np.ndarray):
    v = arr[-1]
    if arr.dtype == np.bool_:
        return bool(v)
    return float(v)


class _WindowTail:
    """Single-source window indicator with an optional per-bar (series) length."""

    extra = 0  # bars needed beyond `length` (e.g. 1 when the formula uses change())

    def __init__(self, length: int | None = None, max_history: int | None = None) -> None:
        self.length = None if length is None else check_length(length, minimum=self._minimum())
        size = max_history or (self.length + self.extra if self.length is not None else DEFAULT_MAX_HISTORY)
        self.buf: deque[float] = deque(maxlen=size)

    def _minimum(self) -> int:
        return 1

    def _compute(self, arr: np.ndarray, n: int):
        raise NotImplementedError

    def update(self, x: float, length: int | None = None):
        n = self.length if length is None else check_length(length, minimum=self._minimum())
        if n is None:
            raise ValueError("length is required: give it to the constructor or to update()")
        self.buf.append(x)
        need = n + self.extra
        if need > self.buf.maxlen:  # type: ignore[operator]
            raise ValueError(f"length {n} exceeds the kept history of {self.buf.maxlen} bars")
        items = list(self.buf)[-need:] if len(self.buf) > need else list(self.buf)
        return _last(self._compute(np.array(items, dtype=np.float64), n))


# ======================================================================= moving averages


class SMA(_NaSkippingWindow):
    def __init__(self, length: int | None = None, max_history: int | None = None) -> None:
        super().__init__(length, max_history)

    def update(self, x: float, length: int | None = None) -> float:
        n = self._length_for(length)
        if x != x:
            return self.value
        buf = self.buf
        buf.append(x)
        size = len(buf)
        if size < n:
            self.value = NA
        elif n == size:
            self.value = sum(buf) / n
        else:
            self.value = sum(itertools.islice(buf, size - n, size)) / n
        return self.value


class _ArrayWindow(_NaSkippingWindow):
    """na-skipping window whose result is `fn(window_array, n)[-1]`."""

    def _fn(self, arr: np.ndarray, n: int) -> float:
        raise NotImplementedError

    def update(self, x: float, length: int | None = None) -> float:
        window = self.push(x, length)
        if window is not None:
            self.value = float(self._fn(window, window.shape[0]))
        return self.value


class WMA(_ArrayWindow):
    def __init__(self, length: int | None = None, max_history: int | None = None) -> None:
        super().__init__(length, max_history)

    def _fn(self, arr: np.ndarray, n: int) -> float:
        return _ta.wma(arr, n)[-1]


class ALMA(_ArrayWindow):
    def __init__(self, length: int, offset: float, sigma: float, floor: bool = False) -> None:
        super().__init__(length, None)
        self.offset, self.sigma, self.floor = offset, sigma, floor

    def _fn(self, arr: np.ndarray, n: int) -> float:
        return _ta.alma(arr, n, self.offset, self.sigma, self.floor)[-1]


class Variance(_ArrayWindow):
    def __init__(self, length: int | None = None, biased: bool = True, max_history: int | None = None) -> None:
        super().__init__(length, max_history, minimum=1 if biased else 2)
        self.biased = biased

    def _fn(self, arr: np.ndarray, n: int) -> float:
        return _ta.variance(arr, n, self.biased)[-1]


class Stdev(Variance):
    def update(self, x: float, length: int | None = None) -> float:
        return math.sqrt(super().update(x, length))


class Dev(_ArrayWindow):
    def __init__(self, length: int | None = None, max_history: int | None = None) -> None:
        super().__init__(length, max_history)

    def _fn(self, arr: np.ndarray, n: int) -> float:
        return _ta.dev(arr, n)[-1]


class EMA:
    def __init__(self, length: int) -> None:
        n = check_length(length)
        self._s = ExpSmoother(n, 2.0 / (n + 1))

    def update(self, x: float) -> float:
        return self._s.update(x)


class RMA:
    def __init__(self, length: int) -> None:
        n = check_length(length)
        self._s = ExpSmoother(n, 1.0 / n)

    def update(self, x: float) -> float:
        return self._s.update(x)


class VWMA:
    def __init__(self, length: int) -> None:
        self._num = SMA(length)
        self._den = SMA(length)

    def update(self, volume: float, x: float) -> float:
        num = self._num.update(x * volume)
        den = self._den.update(volume)
        return NA if den == 0 or num != num or den != den else num / den


class HMA:
    def __init__(self, length: int) -> None:
        n = check_length(length, minimum=2)
        self._half = WMA(n // 2)
        self._full = WMA(n)
        self._outer = WMA(math.floor(math.sqrt(n)))

    def update(self, x: float) -> float:
        raw = 2.0 * self._half.update(x) - self._full.update(x)
        return self._outer.update(raw)


class SWMA:
    def __init__(self) -> None:
        self._t = _VectorTail(1, 4, _ta.swma)

    def update(self, x: float) -> float:
        return self._t.update(x)


class LinReg:
    def __init__(self, length: int, offset: int) -> None:
        n = check_length(length)
        self._t = _VectorTail(1, n, lambda a: _ta.linreg(a, n, offset))

    def update(self, x: float) -> float:
        return self._t.update(x)


# ======================================================================= oscillators


class Change:
    def __init__(self, length: int = 1) -> None:
        self.length = check_length(length, minimum=0)
        self.buf: deque = deque(maxlen=self.length + 1)

    def update(self, x):
        self.buf.append(x)
        if isinstance(x, bool | np.bool_):
            # Pine v6 bools are never na: history before the first bar reads as false.
            if len(self.buf) <= self.length:
                return bool(x)
            return bool(x != self.buf[0])
        if len(self.buf) <= self.length:
            return NA
        return x - self.buf[0]


class MOM(Change):
    def __init__(self, length: int) -> None:
        super().__init__(check_length(length))


class ROC:
    def __init__(self, length: int) -> None:
        self._c = Change(check_length(length))

    def update(self, x: float) -> float:
        d = self._c.update(x)
        prev = self._c.buf[0] if len(self._c.buf) > self._c.length else NA
        if prev == 0 or prev != prev:
            return NA
        return 100.0 * (d / prev)


def _rsi_value(up: float, down: float) -> float:
    if up != up or down != down:
        return NA
    if down == 0:
        return 100.0
    if up == 0:
        return 0.0
    return 100.0 - 100.0 / (1.0 + up / down)


class RSI:
    def __init__(self, length: int) -> None:
        n = check_length(length)
        self._up = ExpSmoother(n, 1.0 / n)
        self._down = ExpSmoother(n, 1.0 / n)
        self._prev = NA

    def update(self, x: float) -> float:
        d = x - self._prev
        self._prev = x
        if d != d:
            up = self._up.update(NA)
            down = self._down.update(NA)
        else:
            up = self._up.update(d if d > 0.0 else 0.0)
            down = self._down.update(-d if -d > 0.0 else 0.0)
        return _rsi_value(up, down)


class MACD:
    def __init__(self, fast_length: int, slow_length: int, signal_length: int) -> None:
        self._fast = EMA(fast_length)
        self._slow = EMA(slow_length)
        self._signal = EMA(signal_length)

    def update(self, x: float) -> tuple[float, float, float]:
        line = self._fast.update(x) - self._slow.update(x)
        signal = self._signal.update(line)
        return line, signal, line - signal


class Highest(_WindowTail):
    def _compute(self, arr: np.ndarray, n: int):
        return _ta.highest(arr, n)


class Lowest(_WindowTail):
    def _compute(self, arr: np.ndarray, n: int):
        return _ta.lowest(arr, n)


class HighestBars(_WindowTail):
    def _compute(self, arr: np.ndarray, n: int):
        return _ta.highestbars(arr, n)


class LowestBars(_WindowTail):
    def _compute(self, arr: np.ndarray, n: int):
        return _ta.lowestbars(arr, n)


class Range(_WindowTail):
    def _compute(self, arr: np.ndarray, n: int):
        return _ta.range_(arr, n)


class Median(_WindowTail):
    def _compute(self, arr: np.ndarray, n: int):
        return _ta.median(arr, n)


class Mode(_WindowTail):
    def _compute(self, arr: np.ndarray, n: int):
        return _ta.mode(arr, n)


class PercentRank(_WindowTail):
    extra = 1

    def _compute(self, arr: np.ndarray, n: int):
        return _ta.percentrank(arr, n)


class COG(_WindowTail):
    def _compute(self, arr: np.ndarray, n: int):
        return _ta.cog(arr, n)


class CMO(_WindowTail):
    extra = 1

    def _compute(self, arr: np.ndarray, n: int):
        return _ta.cmo(arr, n)


class RCI(_WindowTail):
    extra = 1  # TradingView's first value is one bar after the first full window

    def _minimum(self) -> int:
        return 2

    def _compute(self, arr: np.ndarray, n: int):
        return _ta.rci(arr, n)


class Rising(_WindowTail):
    extra = 1

    def _compute(self, arr: np.ndarray, n: int):
        return _ta.rising(arr, n)


class Falling(_WindowTail):
    extra = 1

    def _compute(self, arr: np.ndarray, n: int):
        return _ta.falling(arr, n)


class PercentileNearestRank:
    def __init__(self, length: int, percentage: float) -> None:
        n = check_length(length)
        self._t = _VectorTail(1, n, lambda a: _ta.percentile_nearest_rank(a, n, percentage))

    def update(self, x: float) -> float:
        return self._t.update(x)


class PercentileLinearInterpolation:
    def __init__(self, length: int, percentage: float) -> None:
        n = check_length(length)
        self._t = _VectorTail(1, n, lambda a: _ta.percentile_linear_interpolation(a, n, percentage))

    def update(self, x: float) -> float:
        return self._t.update(x)


class Stoch:
    def __init__(self, length: int) -> None:
        n = check_length(length)
        self._t = _VectorTail(3, n, lambda s, h, lo: _ta.stoch(s, h, lo, n))

    def update(self, x: float, high: float, low: float) -> float:
        return self._t.update(x, high, low)


class WPR:
    def __init__(self, length: int) -> None:
        n = check_length(length)
        self._t = _VectorTail(3, n, lambda h, lo, c: _ta.wpr(h, lo, c, n))

    def update(self, high: float, low: float, close: float) -> float:
        return self._t.update(high, low, close)


class MFI:
    def __init__(self, length: int) -> None:
        n = check_length(length)
        self._t = _VectorTail(2, n + 1, lambda v, s: _ta.mfi(v, s, n))

    def update(self, volume: float, x: float) -> float:
        return self._t.update(volume, x)


class Correlation:
    def __init__(self, length: int) -> None:
        n = check_length(length)
        self._t = _VectorTail(2, n, lambda a, b: _ta.correlation(a, b, n))

    def update(self, a: float, b: float) -> float:
        return self._t.update(a, b)


class _NumpySMA(_ArrayWindow):
    """SMA summed by numpy like the vectorized one; CCI divides by a tiny deviation, so the mean
    must match the vectorized mean to the last bit."""

    def _fn(self, arr: np.ndarray, n: int) -> float:
        return _ta.sma(arr, n)[-1]


class CCI:
    def __init__(self, length: int) -> None:
        self._sma = _NumpySMA(length, None)
        self._dev = Dev(length)

    def update(self, x: float) -> float:
        mean = self._sma.update(x)
        d = self._dev.update(x)
        den = 0.015 * d
        if den == 0 or den != den:
            return NA
        return (x - mean) / den


class TR:
    def __init__(self, handle_na: bool = False) -> None:
        self.handle_na = handle_na
        self._prev_close = NA

    def update(self, high: float, low: float, close: float) -> float:
        pc = self._prev_close
        self._prev_close = close
        if pc != pc:
            return high - low if self.handle_na else NA
        return max(max(high - low, abs(high - pc)), abs(low - pc))


class ATR:
    def __init__(self, length: int) -> None:
        self._tr = TR(True)
        self._rma = RMA(length)

    def update(self, high: float, low: float, close: float) -> float:
        return self._rma.update(self._tr.update(high, low, close))


class BB:
    def __init__(self, length: int, mult: float) -> None:
        self._sma = SMA(length)
        self._stdev = Stdev(length)
        self.mult = mult

    def update(self, x: float) -> tuple[float, float, float]:
        basis = self._sma.update(x)
        d = self.mult * self._stdev.update(x)
        return basis, basis + d, basis - d


class BBW:
    def __init__(self, length: int, mult: float) -> None:
        self._bb = BB(length, mult)

    def update(self, x: float) -> float:
        basis, upper, lower = self._bb.update(x)
        if basis == 0 or basis != basis:
            return NA
        return (upper - lower) / basis * 100.0


class KC:
    def __init__(self, length: int, mult: float, use_true_range: bool = True) -> None:
        self._basis = EMA(length)
        self._band = EMA(length)
        self._tr = TR(False)
        self.mult = mult
        self.use_true_range = use_true_range

    def update(self, high: float, low: float, close: float, x: float) -> tuple[float, float, float]:
        basis = self._basis.update(x)
        t = self._tr.update(high, low, close)
        band = self._band.update(t if self.use_true_range else high - low)
        return basis, basis + band * self.mult, basis - band * self.mult


class KCW:
    def __init__(self, length: int, mult: float, use_true_range: bool = True) -> None:
        self._kc = KC(length, mult, use_true_range)

    def update(self, high: float, low: float, close: float, x: float) -> float:
        basis, upper, lower = self._kc.update(high, low, close, x)
        if basis == 0 or basis != basis:
            return NA
        return (upper - lower) / basis


class DMI:
    def __init__(self, di_length: int, adx_smoothing: int) -> None:
        self._tr = TR(False)
        self._trur = RMA(di_length)
        self._plus = RMA(di_length)
        self._minus = RMA(di_length)
        self._adx = RMA(adx_smoothing)
        self._prev_high = NA
        self._prev_low = NA
        self._last_plus = NA
        self._last_minus = NA

    def update(self, high: float, low: float, close: float) -> tuple[float, float, float]:
        up = high - self._prev_high
        down = -(low - self._prev_low)
        self._prev_high, self._prev_low = high, low
        plus_dm = NA if up != up else (up if (up > down and up > 0) else 0.0)
        minus_dm = NA if down != down else (down if (down > up and down > 0) else 0.0)
        trur = self._trur.update(self._tr.update(high, low, close))
        p = self._plus.update(plus_dm)
        m = self._minus.update(minus_dm)
        plus = NA if trur == 0 else 100.0 * (p / trur)
        minus = NA if trur == 0 else 100.0 * (m / trur)
        if plus == plus:
            self._last_plus = plus
        if minus == minus:
            self._last_minus = minus
        plus, minus = self._last_plus, self._last_minus
        total = plus + minus
        adx = 100.0 * self._adx.update(abs(plus - minus) / (1.0 if total == 0 else total))
        return plus, minus, adx


class SupertrendState:
    """TradingView's supertrend recursion given the bar's ATR (`ta.supertrend` reference code)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self.prev_upper = NA
        self.prev_lower = NA
        self.prev_close = NA
        self.prev_st = NA
        self.prev_atr = NA

    def step(self, high: float, low: float, close: float, atr: float) -> tuple[float, float]:
        src = (high + low) / 2.0
        upper = src + self.factor * atr
        lower = src - self.factor * atr
        prev_lower = _nz(self.prev_lower)
        prev_upper = _nz(self.prev_upper)
        prev_close = self.prev_close
        if not (lower > prev_lower or prev_close < prev_lower):
            lower = prev_lower
        if not (upper < prev_upper or prev_close > prev_upper):
            upper = prev_upper
        if self.prev_atr != self.prev_atr:
            direction = 1.0
        elif self.prev_st == prev_upper:
            direction = -1.0 if close > upper else 1.0
        else:
            direction = 1.0 if close < lower else -1.0
        st = lower if direction == -1.0 else upper
        self.prev_upper, self.prev_lower, self.prev_close = upper, lower, close
        self.prev_st, self.prev_atr = st, atr
        return st, direction


class Supertrend:
    def __init__(self, factor: float, atr_period: int) -> None:
        self._atr = ATR(atr_period)
        self._state = SupertrendState(factor)

    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        return self._state.step(high, low, close, self._atr.update(high, low, close))


class SAR:
    """Parabolic SAR, TradingView's reference algorithm."""

    def __init__(self, start: float, inc: float, maximum: float) -> None:
        self.start, self.inc, self.maximum = start, inc, maximum
        self.result = NA
        self.max_min = NA
        self.acceleration = NA
        self.is_below = False
        self.bar_index = -1
        self.h1 = self.h2 = self.l1 = self.l2 = self.c1 = NA

    def update(self, high: float, low: float, close: float) -> float:
        self.bar_index += 1
        bar = self.bar_index
        first_trend_bar = False
        if bar == 1:
            if close > self.c1:
                self.is_below = True
                self.max_min = high
                self.result = self.l1
            else:
                self.is_below = False
                self.max_min = low
                self.result = self.h1
            first_trend_bar = True
            self.acceleration = self.start
        result = self.result + self.acceleration * (self.max_min - self.result)
        if self.is_below:
            if result > low:
                first_trend_bar = True
                self.is_below = False
                result = max(high, self.max_min)
                self.max_min = low
                self.acceleration = self.start
        elif result < high:
            first_trend_bar = True
            self.is_below = True
            result = min(low, self.max_min)
            self.max_min = high
            self.acceleration = self.start
        if not first_trend_bar:
            if self.is_below:
                if high > self.max_min:
                    self.max_min = high
                    self.acceleration = min(self.acceleration + self.inc, self.maximum)
            elif low < self.max_min:
                self.max_min = low
                self.acceleration = min(self.acceleration + self.inc, self.maximum)
        if self.is_below:
            result = _pine_min(result, self.l1)
            if bar > 1:
                result = _pine_min(result, self.l2)
        else:
            result = _pine_max(result, self.h1)
            if bar > 1:
                result = _pine_max(result, self.h2)
        self.result = result
        self.h2, self.h1 = self.h1, high
        self.l2, self.l1 = self.l1, low
        self.c1 = close
        return result


def _pine_max(a: float, b: float) -> float:
    return NA if a != a or b != b else max(a, b)


def _pine_min(a: float, b: float) -> float:
    return NA if a != a or b != b else min(a, b)


class TSI:
    def __init__(self, short_length: int, long_length: int) -> None:
        self._num1, self._num2 = EMA(long_length), EMA(short_length)
        self._den1, self._den2 = EMA(long_length), EMA(short_length)
        self._prev = NA

    def update(self, x: float) -> float:
        pc = x - self._prev
        self._prev = x
        num = self._num2.update(self._num1.update(pc))
        den = self._den2.update(self._den1.update(abs(pc)))
        if den == 0 or den != den:
            return NA
        return num / den


# ======================================================================= events


def _pair_tail(fn):
    class _Pair:
        def __init__(self) -> None:
            self._a = NA
            self._b = NA

        def update(self, a: float, b: float) -> bool:
            prev_a, prev_b = self._a, self._b
            self._a, self._b = a, b
            return fn(a, b, prev_a, prev_b)

    return _Pair


def _crossover(a: float, b: float, pa: float, pb: float) -> bool:
    return a > b and pa <= pb


def _crossunder(a: float, b: float, pa: float, pb: float) -> bool:
    return a < b and pa >= pb


Crossover = _pair_tail(_crossover)
Crossover.__name__ = Crossover.__qualname__ = "Crossover"
Crossunder = _pair_tail(_crossunder)
Crossunder.__name__ = Crossunder.__qualname__ = "Crossunder"
Cross = _pair_tail(lambda a, b, pa, pb: _crossover(a, b, pa, pb) or _crossunder(a, b, pa, pb))
Cross.__name__ = Cross.__qualname__ = "Cross"


class Cum:
    def __init__(self) -> None:
        self.total = 0.0
        self.seen = False

    def update(self, x: float) -> float:
        if x == x:
            self.total += x
            self.seen = True
        return self.total if self.seen else NA


class BarsSince:
    def __init__(self) -> None:
        self.count = NA

    def update(self, condition: bool) -> float:
        if condition:
            self.count = 0.0
        elif self.count == self.count:
            self.count += 1.0
        return self.count


class ValueWhen:
    def __init__(self, occurrence: int) -> None:
        self.occurrence = check_length(occurrence, "occurrence", minimum=0)
        self.hits: deque[float] = deque(maxlen=self.occurrence + 1)

    def update(self, condition: bool, x: float) -> float:
        if condition:
            self.hits.append(x)
        if len(self.hits) <= self.occurrence:
            return NA
        return self.hits[-1 - self.occurrence]


class _Pivot:
    fn = staticmethod(_ta.pivothigh)

    def __init__(self, leftbars: int, rightbars: int) -> None:
        left = check_length(leftbars, "leftbars", minimum=0)
        right = check_length(rightbars, "rightbars", minimum=0)
        fn = self.fn
        self._t = _VectorTail(1, left + right + 1, lambda a: fn(a, left, right))

    def update(self, x: float) -> float:
        return self._t.update(x)


class PivotHigh(_Pivot):
    fn = staticmethod(_ta.pivothigh)


class PivotLow(_Pivot):
    fn = staticmethod(_ta.pivotlow)


class Max:
    def __init__(self) -> None:
        self.value = NA

    def update(self, x: float) -> float:
        if x == x and not (self.value >= x):
            self.value = x
        return self.value


class Min:
    def __init__(self) -> None:
        self.value = NA

    def update(self, x: float) -> float:
        if x == x and not (self.value <= x):
            self.value = x
        return self.value


# ======================================================================= volume


class OBV:
    def __init__(self) -> None:
        self._prev = NA
        self._cum = Cum()

    def update(self, close: float, volume: float) -> float:
        d = close - self._prev
        self._prev = close
        sign = NA if d != d else (1.0 if d > 0 else (-1.0 if d < 0 else 0.0))
        return self._cum.update(sign * volume)


class AccDist:
    def __init__(self) -> None:
        self._cum = Cum()

    def update(self, high: float, low: float, close: float, volume: float) -> float:
        if (close == high and close == low) or high == low:
            flow = 0.0
        else:
            flow = ((close - low) - (high - close)) / (high - low) * volume
        return self._cum.update(flow)


class PVT:
    def __init__(self) -> None:
        self._prev = NA
        self._cum = Cum()

    def update(self, close: float, volume: float) -> float:
        prev = self._prev
        self._prev = close
        flow = NA if prev == 0 or prev != prev else (close - prev) / prev * volume
        return self._cum.update(flow)


class VolumeIndex:
    """Shared recursion of ta.nvi (positive=False) and ta.pvi (positive=True)."""

    def __init__(self, positive: bool) -> None:
        self.positive = positive
        self.value = NA
        self.prev_close = NA
        self.prev_volume = NA

    def update(self, close: float, volume: float) -> float:
        prev_value = 1.0 if _nz(self.value) == 0.0 else self.value
        prev_close, prev_volume = self.prev_close, self.prev_volume
        self.prev_close, self.prev_volume = close, volume
        if _nz(close) == 0.0 or _nz(prev_close) == 0.0:
            value = prev_value
        else:
            moved = volume > _nz(prev_volume) if self.positive else volume < _nz(prev_volume)
            value = prev_value + ((close - prev_close) / prev_close) * prev_value if moved else prev_value
        self.value = value
        return value


class NVI(VolumeIndex):
    def __init__(self) -> None:
        super().__init__(positive=False)


class PVI(VolumeIndex):
    def __init__(self) -> None:
        super().__init__(positive=True)


class WAD:
    def __init__(self) -> None:
        self._prev = NA
        self._cum = Cum()

    def update(self, high: float, low: float, close: float) -> float:
        pc = self._prev
        self._prev = close
        m = close - pc
        if m > 0:
            gain = close - (low if pc != pc else min(low, pc))
        elif m < 0:
            gain = close - (high if pc != pc else max(high, pc))
        else:
            gain = 0.0
        return self._cum.update(gain)


class WVAD:
    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> float:
        rng = high - low
        return NA if rng == 0 or rng != rng else (close - open_) / rng * volume


class III:
    def update(self, high: float, low: float, close: float, volume: float) -> float:
        den = (high - low) * volume
        return NA if den == 0 or den != den else (2.0 * close - high - low) / den


class VWAP:
    """Anchored VWAP; `update(volume, src, anchor)` returns a float, or a `(vwap, upper, lower)`
    tuple when built with `stdev_mult`.

    `anchor` true starts a new period on this bar; before the first anchor the result is na.
    `anchor=None` (no anchor series at all) makes the first bar start the only period, like the
    vectorized `vwap(..., anchor=None)`. For Pine's default session anchor pass the session-start
    flags (true on the first bar too).
    """

    def __init__(self, stdev_mult: float | None = None) -> None:
        self.stdev_mult = stdev_mult
        self.started = False
        self.sum_v = 0.0
        self.sum_vx = 0.0
        self.sum_vx2 = 0.0

    def update(self, volume: float, x: float, anchor: bool | None = None):
        if anchor is None:
            anchor = not self.started
        if anchor:
            self.started = True
            self.sum_v = self.sum_vx = self.sum_vx2 = 0.0
        if not self.started:
            return NA if self.stdev_mult is None else (NA, NA, NA)
        if volume == volume and x == x:
            self.sum_v += volume
            self.sum_vx += volume * x
            self.sum_vx2 += volume * x * x
        value = NA if self.sum_v == 0 else self.sum_vx / self.sum_v
        if self.stdev_mult is None:
            return value
        if value != value:
            return NA, NA, NA
        var = self.sum_vx2 / self.sum_v - value * value
        # E[x^2] - E[x]^2 leaves rounding noise when all prices are equal; TradingView shows 0 there.
        dev = math.sqrt(var) if var > VWAP_ZERO_VARIANCE * value * value else 0.0
        return value, value + self.stdev_mult * dev, value - self.stdev_mult * dev


class PivotPointLevels:
    """`ta.pivot_point_levels(type, anchor, developing)`; `update(open, high, low, close, anchor)`
    returns the 11 levels `[P, R1, S1, R2, S2, R3, S3, R4, S4, R5, S5]`."""

    def __init__(self, type_: str, developing: bool = False) -> None:
        if type_ not in _ta.PIVOT_TYPES:
            raise ValueError(f"unknown pivot type {type_!r}; expected one of {', '.join(_ta.PIVOT_TYPES)}")
        self.type = type_
        self.developing = developing
        self.period: list[float] | None = None  # open, high, low, close of the running period
        self.levels = [NA] * 11

    def update(self, open_: float, high: float, low: float, close: float, anchor: bool) -> list[float]:
        if self.period is None:
            # The first bar opens a period even without an anchor, as TradingView does.
            self.period = [open_, high, low, close]
        elif anchor:
            if not self.developing:
                o, h, lo, c = self.period
                self.levels = pivot_levels(self.type, o, h, lo, c, open_)
            self.period = [open_, high, low, close]
        else:
            p = self.period
            # na-skipping like np.fmax/np.fmin
            if p[1] != p[1] or high > p[1]:
                p[1] = high
            if p[2] != p[2] or low < p[2]:
                p[2] = low
            p[3] = close
        if self.developing and self.period is not None:
            o, h, lo, c = self.period
            self.levels = pivot_levels(self.type, o, h, lo, c, o)
        return list(self.levels)


def pivot_levels(type_: str, o: float, h: float, lo: float, c: float, current_open: float) -> list[float]:
    """Levels `[P, R1, S1, R2, S2, R3, S3, R4, S4, R5, S5]` from one period's OHLC."""
    na = NA
    rng = h - lo
    if type_ == "Traditional":
        p = (h + lo + c) / 3.0
        return [
            p, p * 2 - lo, p * 2 - h, p + rng, p - rng, h + 2 * (p - lo), lo - 2 * (h - p),
            p * 3 + (h - 3 * lo), p * 3 - (3 * h - lo), p * 4 + (h - 4 * lo), p * 4 - (4 * h - lo),
        ]  # fmt: skip
    if type_ == "Fibonacci":
        p = (h + lo + c) / 3.0
        return [
            p, p + 0.382 * rng, p - 0.382 * rng, p + 0.618 * rng, p - 0.618 * rng,
            p + rng, p - rng, na, na, na, na,
        ]  # fmt: skip
    if type_ == "Woodie":
        p = (h + lo + 2 * current_open) / 4.0
        r3 = h + 2 * (p - lo)
        s3 = lo - 2 * (h - p)
        return [p, 2 * p - lo, 2 * p - h, p + rng, p - rng, r3, s3, r3 + rng, s3 - rng, na, na]
    if type_ == "Classic":
        p = (h + lo + c) / 3.0
        return [
            p, 2 * p - lo, 2 * p - h, p + rng, p - rng, p + 2 * rng, p - 2 * rng,
            p + 3 * rng, p - 3 * rng, na, na,
        ]  # fmt: skip
    if type_ == "DM":
        if c < o:
            x = h + 2 * lo + c
        elif c > o:
            x = 2 * h + lo + c
        else:
            x = h + lo + 2 * c
        return [x / 4.0, x / 2.0 - lo, x / 2.0 - h, na, na, na, na, na, na, na, na]
    # Camarilla
    p = (h + lo + c) / 3.0
    r5 = (h / lo) * c if lo != 0 else na
    return [
        p, c + 1.1 * rng / 12.0, c - 1.1 * rng / 12.0, c + 1.1 * rng / 6.0, c - 1.1 * rng / 6.0,
        c + 1.1 * rng / 4.0, c - 1.1 * rng / 4.0, c + 1.1 * rng / 2.0, c - 1.1 * rng / 2.0,
        r5, c - (r5 - c),
    ]  # fmt: skip
