"""Each `ta.*` function against an independent, straightforward formula written here.

The reference formulas are plain Python loops / pandas, written from the indicator definitions
(TradingView's Pine reference implementations), without calling the module under test. They run
on `backtesting.test.GOOG`, on GOOG with na gaps, and on small crafted sequences.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from backtesting.test import GOOG

from strategies.pine.runtime import ta

NAN = math.nan


def _goog() -> dict[str, np.ndarray]:
    return {
        "open": GOOG["Open"].to_numpy(dtype=np.float64),
        "high": GOOG["High"].to_numpy(dtype=np.float64),
        "low": GOOG["Low"].to_numpy(dtype=np.float64),
        "close": GOOG["Close"].to_numpy(dtype=np.float64),
        "volume": GOOG["Volume"].to_numpy(dtype=np.float64),
    }


BARS = _goog()
N = BARS["close"].shape[0]
GAPPY = BARS["close"].copy()
GAPPY[[0, 5, 6, 7, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 1000]] = NAN
SOURCES = {"close": BARS["close"], "gappy": GAPPY}


def assert_series_equal(actual, expected, rtol: float = 1e-9) -> None:
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg="na positions differ")
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-12, equal_nan=True)
    assert np.isfinite(expected).any(), "reference produced no values: the comparison would be vacuous"


# --------------------------------------------------------------------- reference formulas


def na_skipping(x: np.ndarray, compute, hold: bool = True) -> np.ndarray:
    """Apply `compute` to the non-na values; on na bars carry the last result (hold) or give na."""
    s = pd.Series(x)
    valid = s.dropna()
    res = pd.Series(np.asarray(compute(valid.to_numpy()), dtype=np.float64), index=valid.index)
    out = res.reindex(s.index)
    return (out.ffill() if hold else out).to_numpy()


def ref_sma(x, n):
    return na_skipping(x, lambda v: pd.Series(v).rolling(n).mean().to_numpy())


def _ref_exp(v, n, alpha):
    out = np.full(len(v), NAN)
    if len(v) < n:
        return out
    prev = float(np.mean(v[:n]))
    out[n - 1] = prev
    for i in range(n, len(v)):
        prev = alpha * v[i] + (1 - alpha) * prev
        out[i] = prev
    return out


def ref_ema(x, n):
    return na_skipping(x, lambda v: _ref_exp(v, n, 2 / (n + 1)), hold=False)


def ref_rma(x, n):
    return na_skipping(x, lambda v: _ref_exp(v, n, 1 / n), hold=False)


def ref_wma(x, n):
    weights = np.arange(1, n + 1)
    return na_skipping(
        x, lambda v: pd.Series(v).rolling(n).apply(lambda w: (w * weights).sum() / weights.sum(), raw=True)
    )


def rolling_loop(x, n, fn):
    out = np.full(len(x), NAN)
    for i in range(n - 1, len(x)):
        w = np.asarray(x[i - n + 1 : i + 1], dtype=np.float64)
        out[i] = fn(w)
    return out


def ref_stdev(x, n, biased=True):
    def var(v):
        return pd.Series(v).rolling(n).var(ddof=0 if biased else 1).to_numpy()

    return np.sqrt(na_skipping(x, var))


def ref_true_range(h, lo, c, handle_na):
    out = np.full(len(c), NAN)
    for i in range(len(c)):
        if i == 0:
            out[i] = h[i] - lo[i] if handle_na else NAN
        else:
            out[i] = max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1]))
    return out


def ref_change(x, n=1):
    return pd.Series(x).diff(n).to_numpy()


# --------------------------------------------------------------------- moving averages


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("length", [1, 5, 20, 100])
def test_sma_is_mean_of_last_length_values(source, length):
    assert_series_equal(ta.sma(SOURCES[source], length), ref_sma(SOURCES[source], length))


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("length", [1, 9, 26])
def test_ema_seeds_with_sma_then_smooths(source, length):
    assert_series_equal(ta.ema(SOURCES[source], length), ref_ema(SOURCES[source], length))


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("length", [2, 14])
def test_rma_is_wilder_smoothing_seeded_with_sma(source, length):
    assert_series_equal(ta.rma(SOURCES[source], length), ref_rma(SOURCES[source], length))


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("length", [3, 20])
def test_wma_weights_newest_bar_most(source, length):
    assert_series_equal(ta.wma(SOURCES[source], length), ref_wma(SOURCES[source], length))


def test_vwma_is_volume_weighted_sma():
    c, v = BARS["close"], BARS["volume"]
    expected = pd.Series(c * v).rolling(20).sum() / pd.Series(v).rolling(20).sum()
    assert_series_equal(ta.vwma(v, c, 20), expected)


@pytest.mark.parametrize("length", [9, 16, 21])
def test_hma_is_wma_of_twice_half_wma_minus_full_wma(length):
    c = BARS["close"]
    raw = 2 * ref_wma(c, length // 2) - ref_wma(c, length)
    assert_series_equal(ta.hma(c, length), ref_wma(raw, math.floor(math.sqrt(length))))


def test_swma_weights_one_two_two_one():
    c = BARS["close"]
    expected = (pd.Series(c).shift(3) + 2 * pd.Series(c).shift(2) + 2 * pd.Series(c).shift(1) + pd.Series(c)) / 6
    assert_series_equal(ta.swma(c), expected)


@pytest.mark.parametrize(("length", "offset", "sigma", "floor"), [(9, 0.85, 6, False), (10, 0.55, 12, True)])
def test_alma_gaussian_weights(length, offset, sigma, floor):
    c = BARS["close"]
    m = offset * (length - 1)
    if floor:
        m = math.floor(m)
    s = length / sigma

    def one(w):
        weights = [math.exp(-((i - m) ** 2) / (2 * s * s)) for i in range(length)]
        return sum(w[i] * weights[i] for i in range(length)) / sum(weights)

    assert_series_equal(ta.alma(c, length, offset, sigma, floor), rolling_loop(c, length, one))


@pytest.mark.parametrize("offset", [0, 5])
def test_linreg_is_least_squares_line_value(offset):
    c = BARS["close"]

    def one(w):
        slope, intercept = np.polyfit(np.arange(len(w)), w, 1)
        return intercept + slope * (len(w) - 1 - offset)

    assert_series_equal(ta.linreg(c, 20, offset), rolling_loop(c, 20, one), rtol=1e-7)


# --------------------------------------------------------------------- oscillators


@pytest.mark.parametrize("source", SOURCES)
def test_rsi_is_ratio_of_wilder_averaged_gains_and_losses(source):
    x = SOURCES[source]
    d = ref_change(x)
    up = ref_rma(np.where(np.isnan(d), NAN, np.maximum(d, 0)), 14)
    down = ref_rma(np.where(np.isnan(d), NAN, np.maximum(-d, 0)), 14)
    expected = np.where(down == 0, 100, np.where(up == 0, 0, 100 - 100 / (1 + up / down)))
    expected = np.where(np.isnan(up) | np.isnan(down), NAN, expected)
    assert_series_equal(ta.rsi(x, 14), expected)


def test_macd_line_signal_histogram():
    c = BARS["close"]
    line = ref_ema(c, 12) - ref_ema(c, 26)
    signal = ref_ema(line, 9)
    got = ta.macd(c, 12, 26, 9)
    assert_series_equal(got[0], line)
    assert_series_equal(got[1], signal)
    assert_series_equal(got[2], line - signal)


def test_stoch_position_within_high_low_range():
    h, lo, c = BARS["high"], BARS["low"], BARS["close"]
    hh = pd.Series(h).rolling(14).max()
    ll = pd.Series(lo).rolling(14).min()
    assert_series_equal(ta.stoch(c, h, lo, 14), 100 * (c - ll) / (hh - ll))


def test_cci_uses_mean_absolute_deviation():
    c = BARS["close"]
    mean = pd.Series(c).rolling(20).mean()
    mad = pd.Series(c).rolling(20).apply(lambda w: np.abs(w - w.mean()).mean(), raw=True)
    assert_series_equal(ta.cci(c, 20), (c - mean) / (0.015 * mad), rtol=1e-8)


def test_mfi_money_flow_ratio():
    c, v = BARS["close"], BARS["volume"]
    d = ref_change(c)
    up = np.array([v[i] * c[i] if not (d[i] <= 0) else 0.0 for i in range(N)])
    down = np.array([v[i] * c[i] if not (d[i] >= 0) else 0.0 for i in range(N)])
    upper = pd.Series(up).rolling(14).sum()
    lower = pd.Series(down).rolling(14).sum()
    assert_series_equal(ta.mfi(v, c, 14), 100 - 100 / (1 + upper / lower))


def test_cmo_sums_of_gains_and_losses():
    c = BARS["close"]
    d = pd.Series(ref_change(c))
    gains = d.clip(lower=0).rolling(9).sum()
    losses = (-d).clip(lower=0).rolling(9).sum()
    assert_series_equal(ta.cmo(c, 9), 100 * (gains - losses) / (gains + losses))


def test_tsi_double_smoothed_momentum_ratio():
    c = BARS["close"]
    pc = ref_change(c)
    expected = ref_ema(ref_ema(pc, 25), 13) / ref_ema(ref_ema(np.abs(pc), 25), 13)
    assert_series_equal(ta.tsi(c, 13, 25), expected)


def test_wpr_williams_percent_range():
    h, lo, c = BARS["high"], BARS["low"], BARS["close"]
    hh = pd.Series(h).rolling(14).max()
    ll = pd.Series(lo).rolling(14).min()
    assert_series_equal(ta.wpr(h, lo, c, 14), 100 * (c - hh) / (hh - ll))


def test_rci_is_rank_correlation_of_time_and_price():
    c = BARS["close"]

    def one(w):
        newest_first = pd.Series(w[::-1])
        price_rank = newest_first.rank(ascending=False, method="average")
        time_rank = pd.Series(np.arange(1, len(w) + 1, dtype=float))
        return price_rank.corr(time_rank) * 100

    expected = rolling_loop(c, 10, one)
    expected[9] = NAN  # TradingView's first value is one bar after the first full window
    assert_series_equal(ta.rci(c, 10), expected)


def test_cog_center_of_gravity():
    c = BARS["close"]

    def one(w):
        newest_first = w[::-1]
        return -sum(newest_first[i] * (i + 1) for i in range(len(w))) / sum(w)

    assert_series_equal(ta.cog(c, 10), rolling_loop(c, 10, one))


@pytest.mark.parametrize("source", SOURCES)
def test_change_mom_roc(source):
    x = SOURCES[source]
    prev = pd.Series(x).shift(3).to_numpy()
    assert_series_equal(ta.change(x, 3), x - prev)
    assert_series_equal(ta.mom(x, 3), x - prev)
    assert_series_equal(ta.roc(x, 3), 100 * (x - prev) / prev)


def test_change_of_bool_flags_a_flip():
    flags = np.array([True, True, False, False, True])
    # bool history before the first bar reads as false in Pine v6
    assert ta.change(flags).tolist() == [True, False, True, False, True]
    assert ta.change(flags, 2).tolist() == [True, True, True, True, True]


# --------------------------------------------------------------------- volatility


@pytest.mark.parametrize("handle_na", [False, True])
def test_true_range(handle_na):
    h, lo, c = BARS["high"], BARS["low"], BARS["close"]
    assert_series_equal(ta.tr(h, lo, c, handle_na), ref_true_range(h, lo, c, handle_na))


def test_atr_is_rma_of_true_range_counting_the_first_bar():
    h, lo, c = BARS["high"], BARS["low"], BARS["close"]
    assert_series_equal(ta.atr(h, lo, c, 14), ref_rma(ref_true_range(h, lo, c, True), 14))


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("biased", [True, False])
def test_stdev_and_variance(source, biased):
    x = SOURCES[source]
    expected = ref_stdev(x, 20, biased)
    assert_series_equal(ta.stdev(x, 20, biased), expected)
    assert_series_equal(ta.variance(x, 20, biased), expected**2)


def test_dev_mean_absolute_deviation():
    c = BARS["close"]
    assert_series_equal(ta.dev(c, 20), rolling_loop(c, 20, lambda w: np.abs(w - w.mean()).mean()))


def test_bb_and_bbw():
    c = BARS["close"]
    basis = ref_sma(c, 20)
    d = 2.5 * ref_stdev(c, 20)
    middle, upper, lower = ta.bb(c, 20, 2.5)
    assert_series_equal(middle, basis)
    assert_series_equal(upper, basis + d)
    assert_series_equal(lower, basis - d)
    assert_series_equal(ta.bbw(c, 20, 2.5), (2 * d) / basis * 100)


@pytest.mark.parametrize("use_true_range", [True, False])
def test_kc_and_kcw(use_true_range):
    h, lo, c = BARS["high"], BARS["low"], BARS["close"]
    basis = ref_ema(c, 20)
    span = ref_true_range(h, lo, c, False) if use_true_range else h - lo
    band = ref_ema(span, 20)
    middle, upper, lower = ta.kc(h, lo, c, c, 20, 1.5, use_true_range)
    assert_series_equal(middle, basis)
    assert_series_equal(upper, basis + 1.5 * band)
    assert_series_equal(lower, basis - 1.5 * band)
    assert_series_equal(ta.kcw(h, lo, c, c, 20, 1.5, use_true_range), 3 * band / basis)


def test_dmi_directional_movement_and_adx():
    h, lo, c = BARS["high"], BARS["low"], BARS["close"]
    up = ref_change(h)
    down = -ref_change(lo)
    plus_dm = np.where(np.isnan(up), NAN, np.where((up > down) & (up > 0), up, 0.0))
    minus_dm = np.where(np.isnan(down), NAN, np.where((down > up) & (down > 0), down, 0.0))
    trur = ref_rma(ref_true_range(h, lo, c, False), 14)
    plus = pd.Series(100 * ref_rma(plus_dm, 14) / trur).ffill().to_numpy()
    minus = pd.Series(100 * ref_rma(minus_dm, 14) / trur).ffill().to_numpy()
    total = plus + minus
    adx = 100 * ref_rma(np.abs(plus - minus) / np.where(total == 0, 1, total), 10)
    got = ta.dmi(h, lo, c, 14, 10)
    assert_series_equal(got[0], plus)
    assert_series_equal(got[1], minus)
    assert_series_equal(got[2], adx)


def test_supertrend_bands_ratchet_and_direction_flips():
    h, lo, c = BARS["high"], BARS["low"], BARS["close"]
    atr = ref_rma(ref_true_range(h, lo, c, True), 10)
    factor = 3.0
    upper_prev = lower_prev = NAN
    st_prev = NAN
    st_out, dir_out = np.full(N, NAN), np.full(N, NAN)
    for i in range(N):
        mid = (h[i] + lo[i]) / 2
        upper, lower = mid + factor * atr[i], mid - factor * atr[i]
        pl = 0.0 if math.isnan(lower_prev) else lower_prev
        pu = 0.0 if math.isnan(upper_prev) else upper_prev
        pc = c[i - 1] if i else NAN
        lower = lower if (lower > pl or pc < pl) else pl
        upper = upper if (upper < pu or pc > pu) else pu
        if i == 0 or math.isnan(atr[i - 1]):
            direction = 1
        elif st_prev == pu:
            direction = -1 if c[i] > upper else 1
        else:
            direction = 1 if c[i] < lower else -1
        st = lower if direction == -1 else upper
        st_out[i], dir_out[i] = st, direction
        upper_prev, lower_prev, st_prev = upper, lower, st
    st, direction = ta.supertrend(h, lo, c, factor, 10)
    assert_series_equal(st, st_out)
    assert_series_equal(direction, dir_out)
    assert {-1.0, 1.0} <= set(direction.tolist())


def test_sar_stays_on_the_far_side_of_price():
    h, lo, c = BARS["high"], BARS["low"], BARS["close"]
    sar = ta.sar(h, lo, c, 0.02, 0.02, 0.2)
    assert math.isnan(sar[0])
    below = sar[1:] < lo[1:]
    above = sar[1:] > h[1:]
    # On a reversal bar SAR is placed at the prior extreme, which can sit inside the bar's range.
    assert (below | above).mean() > 0.9
    assert below.any() and above.any()


# --------------------------------------------------------------------- windows


@pytest.mark.parametrize("source", SOURCES)
def test_highest_lowest_and_their_bar_offsets(source):
    x = SOURCES[source]
    n = 10

    def offset(w, pick):
        finite = [(v, k) for k, v in enumerate(w) if not math.isnan(v)]
        if not finite:
            return NAN
        best = pick(v for v, _ in finite)
        first = min(k for v, k in finite if v == best)  # oldest among ties
        return first - (n - 1)

    hi = rolling_loop(x, n, lambda w: np.nanmax(w) if np.isfinite(w).any() else NAN)
    lo = rolling_loop(x, n, lambda w: np.nanmin(w) if np.isfinite(w).any() else NAN)
    assert_series_equal(ta.highest(x, n), hi)
    assert_series_equal(ta.lowest(x, n), lo)
    assert_series_equal(ta.range_(x, n), hi - lo)
    assert_series_equal(ta.highestbars(x, n), rolling_loop(x, n, lambda w: offset(w, max)))
    assert_series_equal(ta.lowestbars(x, n), rolling_loop(x, n, lambda w: offset(w, min)))


def test_percentrank_counts_previous_values_not_above_current():
    c = BARS["close"]
    expected = np.full(N, NAN)
    for i in range(20, N):
        expected[i] = 100 * sum(c[i - k] <= c[i] for k in range(1, 21)) / 20
    assert_series_equal(ta.percentrank(c, 20), expected)


def test_correlation_is_pearson_over_window():
    c, o = BARS["close"], BARS["volume"]
    expected = pd.Series(c).rolling(20).corr(pd.Series(o))
    assert_series_equal(ta.correlation(c, o, 20), expected, rtol=1e-6)


def test_median_and_mode():
    c = np.round(BARS["close"], 0)  # rounding creates repeated values for mode

    def mode_one(w):
        counts = Counter(w.tolist())
        top = max(counts.values())
        return min(v for v, k in counts.items() if k == top)

    assert_series_equal(ta.median(c, 15), pd.Series(c).rolling(15).median())
    assert_series_equal(ta.mode(c, 15), rolling_loop(c, 15, mode_one))


def test_percentiles():
    c = BARS["close"]

    def nearest(w, p):
        s = sorted(w)
        return s[max(math.ceil(p / 100 * len(w)), 1) - 1]

    def linear(w, p):
        s = sorted(w)
        pos = min(max(len(w) * p / 100 - 0.5, 0), len(w) - 1)
        k = math.floor(pos)
        return s[k] + (s[min(k + 1, len(w) - 1)] - s[k]) * (pos - k)

    for p in (0, 10, 50, 99, 100):
        assert_series_equal(ta.percentile_nearest_rank(c, 20, p), rolling_loop(c, 20, lambda w, p=p: nearest(w, p)))
        assert_series_equal(
            ta.percentile_linear_interpolation(c, 20, p), rolling_loop(c, 20, lambda w, p=p: linear(w, p))
        )


@pytest.mark.parametrize("source", SOURCES)
def test_all_time_max_and_min(source):
    x = SOURCES[source]
    hi, lo, out_hi, out_lo = NAN, NAN, [], []
    for v in x:
        if not math.isnan(v):
            hi = v if math.isnan(hi) else max(hi, v)
            lo = v if math.isnan(lo) else min(lo, v)
        out_hi.append(hi)
        out_lo.append(lo)
    assert_series_equal(ta.max_(x), out_hi)
    assert_series_equal(ta.min_(x), out_lo)


# --------------------------------------------------------------------- events


def test_crossover_crossunder_cross():
    fast, slow = ref_sma(BARS["close"], 5), ref_sma(BARS["close"], 20)
    over = [i > 0 and fast[i] > slow[i] and fast[i - 1] <= slow[i - 1] for i in range(N)]
    under = [i > 0 and fast[i] < slow[i] and fast[i - 1] >= slow[i - 1] for i in range(N)]
    assert ta.crossover(fast, slow).tolist() == over
    assert ta.crossunder(fast, slow).tolist() == under
    assert ta.cross(fast, slow).tolist() == [a or b for a, b in zip(over, under, strict=True)]
    assert any(over) and any(under)


def test_rising_and_falling_need_consecutive_moves():
    c = BARS["close"]
    rising = [i >= 3 and all(c[i - k] > c[i - k - 1] for k in range(3)) for i in range(N)]
    falling = [i >= 3 and all(c[i - k] < c[i - k - 1] for k in range(3)) for i in range(N)]
    assert ta.rising(c, 3).tolist() == rising
    assert ta.falling(c, 3).tolist() == falling
    assert any(rising) and any(falling)


@pytest.mark.parametrize("source", SOURCES)
def test_cum_skips_na(source):
    x = SOURCES[source]
    total, seen, out = 0.0, False, []
    for v in x:
        if not math.isnan(v):
            total += v
            seen = True
        out.append(total if seen else NAN)
    assert_series_equal(ta.cum(x), out)


def test_barssince_and_valuewhen():
    c = BARS["close"]
    cond = ta.crossover(ref_sma(c, 5), ref_sma(c, 20))
    since, hits = [], []
    for i in range(N):
        if cond[i]:
            hits.append(c[i])
        last = max((k for k in range(i + 1) if cond[k]), default=None)
        since.append(NAN if last is None else i - last)
    assert_series_equal(ta.barssince(cond), since)
    for occurrence in (0, 2):
        expected, seen = [], []
        for i in range(N):
            if cond[i]:
                seen.append(c[i])
            expected.append(seen[-1 - occurrence] if len(seen) > occurrence else NAN)
        assert_series_equal(ta.valuewhen(cond, c, occurrence), expected)


def test_valuewhen_returns_na_source_values_as_they_were():
    cond = np.array([True, False, True, False, True])
    src = np.array([1.0, 2.0, NAN, 4.0, 5.0])
    assert np.allclose(ta.valuewhen(cond, src, 1), [NAN, NAN, 1.0, 1.0, NAN], equal_nan=True)


@pytest.mark.parametrize(("left", "right"), [(5, 5), (10, 2), (3, 0)])
def test_pivots_are_strict_extremes_confirmed_right_bars_later(left, right):
    h, lo = BARS["high"], BARS["low"]
    ph, pl = np.full(N, NAN), np.full(N, NAN)
    for i in range(left + right, N):
        centre = i - right
        others = [k for k in range(centre - left, centre + right + 1) if k != centre]
        if all(h[centre] > h[k] for k in others):
            ph[i] = h[centre]
        if all(lo[centre] < lo[k] for k in others):
            pl[i] = lo[centre]
    assert_series_equal(ta.pivothigh(h, left, right), ph)
    assert_series_equal(ta.pivotlow(lo, left, right), pl)


# --------------------------------------------------------------------- volume


def test_vwap_resets_on_anchor_with_bands():
    c, v = BARS["close"], BARS["volume"]
    anchor = np.arange(N) % 20 == 3
    group = np.cumsum(anchor)
    frame = pd.DataFrame({"pv": c * v, "v": v, "pv2": c * c * v, "g": group})
    sums = frame.groupby("g")[["pv", "v", "pv2"]].cumsum()
    vwap = np.array(sums["pv"] / sums["v"], dtype=np.float64)
    sd = np.sqrt(np.maximum(np.array(sums["pv2"] / sums["v"], dtype=np.float64) - vwap**2, 0))
    vwap[group == 0] = NAN
    sd[group == 0] = NAN
    assert_series_equal(ta.vwap(v, c, anchor), vwap)
    got = ta.vwap(v, c, anchor, 1.5)
    assert_series_equal(got[0], vwap)
    assert_series_equal(got[1], vwap + 1.5 * sd, rtol=1e-7)
    assert_series_equal(got[2], vwap - 1.5 * sd, rtol=1e-7)


def test_volume_indicators():
    o, h, lo, c, v = (BARS[k] for k in ("open", "high", "low", "close", "volume"))
    obv, acc, pvt, wad = [], [], [], []
    t_obv = t_acc = t_pvt = t_wad = 0.0
    nvi, pvi = [], []
    n_val = p_val = 1.0
    for i in range(N):
        if i > 0:
            t_obv += np.sign(c[i] - c[i - 1]) * v[i]
            t_pvt += (c[i] - c[i - 1]) / c[i - 1] * v[i]
            if c[i] > c[i - 1]:
                t_wad += c[i] - min(lo[i], c[i - 1])
            elif c[i] < c[i - 1]:
                t_wad += c[i] - max(h[i], c[i - 1])
            if v[i] < v[i - 1]:
                n_val += (c[i] - c[i - 1]) / c[i - 1] * n_val
            if v[i] > v[i - 1]:
                p_val += (c[i] - c[i - 1]) / c[i - 1] * p_val
        t_acc += 0.0 if h[i] == lo[i] else ((c[i] - lo[i]) - (h[i] - c[i])) / (h[i] - lo[i]) * v[i]
        obv.append(t_obv if i else NAN)
        pvt.append(t_pvt if i else NAN)
        wad.append(t_wad)
        acc.append(t_acc)
        nvi.append(n_val)
        pvi.append(p_val)
    assert_series_equal(ta.obv(c, v), obv)
    assert_series_equal(ta.pvt(c, v), pvt)
    assert_series_equal(ta.wad(h, lo, c), wad)
    assert_series_equal(ta.accdist(h, lo, c, v), acc)
    assert_series_equal(ta.nvi(c, v), nvi)
    assert_series_equal(ta.pvi(c, v), pvi)
    assert_series_equal(ta.wvad(o, h, lo, c, v), (c - o) / (h - lo) * v)
    assert_series_equal(ta.iii(h, lo, c, v), (2 * c - h - lo) / ((h - lo) * v))


@pytest.mark.parametrize("type_", ta.PIVOT_TYPES)
def test_pivot_point_levels_use_the_previous_period(type_):
    o, h, lo, c = (BARS[k] for k in ("open", "high", "low", "close"))
    anchor = np.arange(N) % 5 == 0
    levels = ta.pivot_point_levels(o, h, lo, c, type_, anchor, False)
    assert levels.shape == (N, 11)
    assert np.isnan(levels[:5]).all()
    i = 10  # second anchor after the first full period 5..9
    ph, pl, pc, po = h[5:10].max(), lo[5:10].min(), c[9], o[5]
    p = (ph + pl + pc) / 3
    rng = ph - pl
    expected_p = {
        "Traditional": p,
        "Fibonacci": p,
        "Classic": p,
        "Camarilla": p,
        "Woodie": (ph + pl + 2 * o[10]) / 4,
        "DM": (ph + 2 * pl + pc if pc < po else (2 * ph + pl + pc if pc > po else ph + pl + 2 * pc)) / 4,
    }[type_]
    assert levels[i, 0] == pytest.approx(expected_p, rel=1e-12)
    assert (levels[i:15] == levels[i]).all() or np.isnan(levels[i:15]).any()
    if type_ == "Traditional":
        assert levels[i, 1] == pytest.approx(2 * p - pl)
        assert levels[i, 2] == pytest.approx(2 * p - ph)
        assert levels[i, 3] == pytest.approx(p + rng)
    if type_ == "Fibonacci":
        assert levels[i, 1] == pytest.approx(p + 0.382 * rng)
        assert np.isnan(levels[i, 7:]).all()


# --------------------------------------------------------------------- crafted sequences


def test_window_averages_hold_their_value_over_na_inputs():
    x = np.array([1.0, 2.0, NAN, 3.0, 4.0])
    assert np.allclose(ta.sma(x, 2), [NAN, 1.5, 1.5, 2.5, 3.5], equal_nan=True)
    assert np.allclose(ta.wma(x, 2), [NAN, 5 / 3, 5 / 3, 8 / 3, 11 / 3], equal_nan=True)


def test_ema_and_rma_return_na_on_na_inputs_and_resume():
    x = np.array([1.0, 2.0, NAN, 3.0, 4.0])
    # alpha = 2/3: 2/3*3 + 1/3*1.5 = 2.5, then 2/3*4 + 1/3*2.5 = 3.5
    assert np.allclose(ta.ema(x, 2), [NAN, 1.5, NAN, 2.5, 3.5], equal_nan=True)
    # alpha = 1/2: 0.5*3 + 0.5*1.5 = 2.25, then 0.5*4 + 0.5*2.25 = 3.125
    assert np.allclose(ta.rma(x, 2), [NAN, 1.5, NAN, 2.25, 3.125], equal_nan=True)
    stream = ta.EMA(2)
    assert np.allclose([stream.update(v) for v in x], [NAN, 1.5, NAN, 2.5, 3.5], equal_nan=True)


def test_ema_first_value_is_sma_of_first_length_values():
    x = np.array([NAN, 2.0, 4.0, 6.0, 8.0])
    out = ta.ema(x, 3)
    assert np.isnan(out[:3]).all()
    assert out[3] == pytest.approx(4.0)
    assert out[4] == pytest.approx(0.5 * 8.0 + 0.5 * 4.0)


def test_series_shorter_than_length_is_all_na():
    x = np.array([1.0, 2.0, 3.0])
    for fn in (ta.sma, ta.ema, ta.rma, ta.wma, ta.stdev, ta.highest, ta.median, ta.rsi, ta.cci):
        assert np.isnan(fn(x, 5)).all(), fn.__name__
    assert np.isnan(ta.linreg(x, 5, 0)).all()


def test_stdev_of_constant_series_is_exactly_zero():
    x = np.full(30, 1.1)
    assert (ta.stdev(x, 10)[9:] == 0.0).all()


def test_rsi_of_only_rising_prices_is_100_and_only_falling_is_0():
    assert ta.rsi(np.arange(1.0, 30.0), 14)[-1] == 100.0
    assert ta.rsi(np.arange(30.0, 1.0, -1), 14)[-1] == 0.0


def test_division_by_zero_is_na():
    flat = np.full(25, 5.0)
    assert np.isnan(ta.stoch(flat, flat, flat, 10)[-1])
    assert np.isnan(ta.cci(flat, 10)[-1])


def test_invalid_length_is_rejected():
    with pytest.raises(ValueError, match="length must be an integer >= 1"):
        ta.sma(np.ones(5), 0)
    with pytest.raises(ValueError, match="length"):
        ta.ema(np.ones(5), 2.5)
    with pytest.raises(TypeError, match="1-D series"):
        ta.sma(np.ones((2, 2)), 2)


WINDOW_CALLS = {
    "wma": lambda x: ta.wma(x, 20),
    "alma": lambda x: ta.alma(x, 9, 0.85, 6),
    "linreg": lambda x: ta.linreg(x, 20, 2),
    "stdev": lambda x: ta.stdev(x, 20),
    "dev": lambda x: ta.dev(x, 20),
    "highest": lambda x: ta.highest(x, 20),
    "highestbars": lambda x: ta.highestbars(x, 20),
    "median": lambda x: ta.median(x, 20),
    "mode": lambda x: ta.mode(np.round(x), 20),
    "percentrank": lambda x: ta.percentrank(x, 20),
    "percentile_linear_interpolation": lambda x: ta.percentile_linear_interpolation(x, 20, 40),
    "rci": lambda x: ta.rci(x, 20),
    "cog": lambda x: ta.cog(x, 20),
    "pivothigh": lambda x: ta.pivothigh(x, 4, 3),
    "correlation": lambda x: ta.correlation(x, BARS["volume"], 20),
}


@pytest.mark.parametrize("name", WINDOW_CALLS)
def test_window_functions_give_the_same_result_when_evaluated_in_chunks(name, monkeypatch):
    from strategies.pine.runtime import ta_core

    whole = WINDOW_CALLS[name](GAPPY)
    monkeypatch.setattr(ta_core, "ROLLING_CHUNK_ELEMENTS", 97)
    chunked = WINDOW_CALLS[name](GAPPY)
    # BLAS may round a matrix product differently for other row counts: compare to 1e-12.
    assert_series_equal(chunked, whole, rtol=1e-12)


def test_long_windows_stay_correct():
    rng = np.random.default_rng(3)
    x = 100 + np.cumsum(rng.normal(0, 1, 30_000))
    n = 5_000
    assert_series_equal(ta.sma(x, n), pd.Series(x).rolling(n).mean(), rtol=1e-9)
    assert_series_equal(ta.stdev(x, n), pd.Series(x).rolling(n).std(ddof=0), rtol=1e-7)
    assert_series_equal(ta.highest(x, n), pd.Series(x).rolling(n).max())
