"""Numeric kernels shared by the vectorized and streaming `ta.*` implementations.

Conventions: series are numpy float64 arrays, `na` is NaN.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

NA = math.nan


def as_float_array(values: object) -> np.ndarray:
    """Return `values` as a 1-D float64 array (bools become 0/1)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        raise TypeError("ta functions expect a 1-D series, got a scalar")
    if arr.ndim != 1:
        raise TypeError(f"ta functions expect a 1-D series, got shape {arr.shape}")
    return arr


def as_bool_array(values: object) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == np.bool_:
        return arr
    farr = np.asarray(arr, dtype=np.float64)
    # Pine v6 bools are never na; a numeric condition is true when non-zero and not na.
    return np.where(np.isnan(farr), False, farr != 0)


def check_length(length: object, name: str = "length", minimum: int = 1) -> int:
    if isinstance(length, bool) or length is None:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {length!r}")
    if isinstance(length, float):
        if math.isnan(length) or not length.is_integer():
            raise ValueError(f"{name} must be an integer >= {minimum}, got {length!r}")
        length = int(length)
    try:
        n = int(length)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {length!r}") from None
    if n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {length!r}")
    return n


def is_na(value: float) -> bool:
    return value != value


def shift(x: np.ndarray, k: int = 1) -> np.ndarray:
    """`x[k]` in Pine terms: value k bars ago, na where unavailable."""
    out = np.full(x.shape[0], np.nan)
    if k <= 0:
        return x.astype(np.float64, copy=True)
    if k < x.shape[0]:
        out[k:] = x[:-k]
    return out


def windows(x: np.ndarray, n: int) -> np.ndarray:
    """Sliding windows of length n; row j covers bars j..j+n-1 (result belongs to bar j+n-1)."""
    return sliding_window_view(x, n)


# Upper bound on the elements a window reducer materialises at once (rows x window length).
ROLLING_CHUNK_ELEMENTS = 262_144


def _chunk_elements() -> int:
    return ROLLING_CHUNK_ELEMENTS


def rolling_apply(x: np.ndarray, n: int, reducer) -> np.ndarray:
    """Apply `reducer(windows)` (one result per row) over full windows; na for the first n-1 bars.

    Rows are processed in chunks so reducers that copy their windows stay within bounded memory
    for long windows.
    """
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] < n:
        return out
    w = windows(x, n)
    rows = w.shape[0]
    chunk = max(1, _chunk_elements() // n)
    if rows <= chunk:
        out[n - 1 :] = reducer(w)
        return out
    for start in range(0, rows, chunk):
        stop = min(start + chunk, rows)
        out[n - 1 + start : n - 1 + stop] = reducer(w[start:stop])
    return out


def rolling_sum(x: np.ndarray, n: int) -> np.ndarray:
    """Sum over the last n bars (na when any is na). Exact window sums for short windows."""
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] < n:
        return out
    if n <= 64:
        out[n - 1 :] = windows(x, n).sum(axis=1)
        return out
    # Long windows: difference of a running sum, with na propagated through a separate count.
    finite = ~np.isnan(x)
    csum = np.concatenate(([0.0], np.cumsum(np.where(finite, x, 0.0))))
    ccount = np.concatenate(([0], np.cumsum(~finite)))
    out[n - 1 :] = csum[n:] - csum[:-n]
    out[n - 1 :][(ccount[n:] - ccount[:-n]) > 0] = np.nan
    return out


def compact_apply(x: np.ndarray, fn, hold: bool = True) -> np.ndarray:
    """Run `fn` on the non-na values only, then map results back to their bars.

    TradingView's moving averages ignore na inputs: they work on the last `length` non-na values.
    On a bar whose input is na, `hold=True` repeats the previous result (ta.sma and the other
    window averages) while `hold=False` gives na there (ta.ema / ta.rma).
    """
    valid = ~np.isnan(x)
    if valid.all():
        return fn(x)
    compact = x[valid]
    res = fn(compact) if compact.shape[0] else np.empty(0)
    out = np.full(x.shape[0], np.nan)
    if not hold:
        out[valid] = res
        return out
    pos = np.cumsum(valid) - 1
    has = pos >= 0
    if res.shape[0]:
        out[has] = res[pos[has]]
    return out


def matvec(rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise dot products without BLAS (whose threads stall on a loaded machine) and with a
    summation order that does not depend on the number of rows."""
    return np.einsum("ij,j->i", rows, weights)


def ffill_index(valid: np.ndarray) -> np.ndarray:
    """Index of the most recent True at or before each bar (-1 if none)."""
    idx = np.where(valid, np.arange(valid.shape[0]), -1)
    return np.maximum.accumulate(idx) if idx.shape[0] else idx


# ---------------------------------------------------------------- recursive scalar kernels


class ExpSmoother:
    """EMA/RMA state: seeded with the SMA of the first `length` non-na values, na before.

    An na input is skipped (neither counted in the seed nor applied) and returns na."""

    __slots__ = ("alpha", "beta", "count", "length", "seed_sum", "value")

    def __init__(self, length: int, alpha: float) -> None:
        self.length = length
        self.alpha = alpha
        self.beta = 1.0 - alpha
        self.count = 0
        self.seed_sum = 0.0
        self.value = NA

    def update(self, x: float) -> float:
        if x != x:
            # TradingView: an na input leaves the recursion untouched and yields na on that bar.
            return NA
        if self.count >= self.length:
            self.value = self.alpha * x + self.beta * self.value
            return self.value
        self.count += 1
        self.seed_sum += x
        if self.count == self.length:
            self.value = self.seed_sum / self.length
        return self.value


EXP_BLOCK = 32


def exp_smooth(x: np.ndarray, length: int, alpha: float) -> np.ndarray:
    """EMA/RMA over the non-na values (see `ExpSmoother`), computed block-wise with numpy.

    y[i] = alpha*x[i] + (1-alpha)*y[i-1] is evaluated for blocks of EXP_BLOCK bars at once: the
    inputs' contribution inside a block is a small matrix product, and only the carried value
    crosses block boundaries. Results agree with the bar-by-bar recursion to ~1e-15 relative.
    """
    return compact_apply(x, lambda v: _exp_smooth_compact(v, length, alpha), hold=False)


def _exp_smooth_compact(v: np.ndarray, length: int, alpha: float) -> np.ndarray:
    n = v.shape[0]
    if n < length:
        return np.full(n, np.nan)
    m = n - length  # values after the seed
    block = min(EXP_BLOCK, max(m, 1))
    nblocks = -(-m // block)
    # one buffer holds the result, with room to compute whole blocks in place
    buffer = np.empty(length + nblocks * block)
    out = buffer[:n]
    out[: length - 1] = np.nan
    seed = 0.0
    for value in v[:length].tolist():  # same summation order as the streaming seed
        seed += value
    prev = seed / length
    out[length - 1] = prev
    if m == 0:
        return out
    beta = 1.0 - alpha
    j = np.arange(block)
    lag = j[:, None] - j[None, :]
    with np.errstate(under="ignore"):
        weights = np.where(lag >= 0, alpha * beta ** np.maximum(lag, 0), 0.0)  # weights[j, k]
        carry_pow = beta ** (j + 1.0)
    rest = v[length:]
    if m % block:
        rest = np.concatenate((rest, np.zeros(nblocks * block - m)))
    blocks = buffer[length:].reshape(nblocks, block)
    np.einsum("ij,kj->ik", rest.reshape(nblocks, block), weights, out=blocks)
    # value carried into each block: a scalar recursion over blocks only
    last_pow = float(carry_pow[-1])
    carried = [0.0] * nblocks
    for b, block_last in enumerate(blocks[:, -1].tolist()):
        carried[b] = prev
        prev = block_last + last_pow * prev
    blocks += np.multiply.outer(np.array(carried), carry_pow)
    return out
