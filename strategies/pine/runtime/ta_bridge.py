"""Binding of Pine ``ta.*`` calls to the ta library (``ta.py`` vectorized, ``ta_stream.py`` streaming).

For every Pine name the table says how its Pine arguments (in Pine signature order, defaults applied)
map to the vectorized function (bar arrays first), which arguments are *simple* (constructor
arguments of the streaming class, constant per call site), and how one streaming step is called.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import ta as T
from . import ta_stream as S

NA = math.nan


@dataclass(frozen=True)
class Bars:
    """Whole-series numpy arrays of one bar set (inputs of the vectorized functions)."""

    o: np.ndarray
    h: np.ndarray
    l: np.ndarray  # noqa: E741
    c: np.ndarray
    v: np.ndarray


@dataclass(frozen=True)
class TaSpec:
    simple: tuple[int, ...]  # Pine argument indices passed to the streaming constructor
    vec: Callable[[Bars, list], Any]
    make: Callable[[list], Any]
    step: Callable[[Any, tuple, list], Any]  # (instance, (o,h,l,c,v) at this bar, Pine args) -> value
    dyn_len: int | None = None  # index of a length the streaming class accepts per update
    returns_bool: bool = False


def _opt(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and v != v) else v


def _one(vec_fn: Callable, cls: Callable, dyn: bool = False) -> TaSpec:
    """f(source, length) with a streaming class taking length in the constructor."""
    return TaSpec(
        simple=(1,),
        vec=lambda B, a: vec_fn(a[0], int(a[1])),
        make=lambda a: cls(int(a[1])) if a[1] is not None else cls(None, S.DEFAULT_MAX_HISTORY),
        step=(lambda o, b, a: o.update(a[0])) if not dyn else (lambda o, b, a: o.update(a[0], int(a[1]))),
        dyn_len=1 if dyn else None,
    )


def _window(vec_fn: Callable, cls: Callable, src_default: int | None = None, returns_bool: bool = False) -> TaSpec:
    """f([source,] length) for `_WindowTail` classes (series length supported)."""
    return TaSpec(
        simple=(1,),
        vec=lambda B, a: vec_fn(a[0], int(a[1])),
        make=lambda a: cls(int(a[1])) if a[1] is not None else cls(None, S.DEFAULT_MAX_HISTORY),
        step=lambda o, b, a: o.update(a[0], int(a[1])),
        dyn_len=1,
        returns_bool=returns_bool,
    )


def _stdev_like(vec_fn: Callable, cls: Callable) -> TaSpec:
    return TaSpec(
        simple=(1, 2),
        vec=lambda B, a: vec_fn(a[0], int(a[1]), bool(a[2])),
        make=lambda a: cls(int(a[1]) if a[1] is not None else None, bool(a[2]) if a[2] is not None else True,
                           None if a[1] is not None else S.DEFAULT_MAX_HISTORY),
        step=lambda o, b, a: o.update(a[0], int(a[1])),
        dyn_len=1,
    )


SPECS: dict[str, TaSpec] = {
    "sma": _one(T.sma, S.SMA, dyn=True),
    "wma": _one(T.wma, S.WMA, dyn=True),
    "ema": _one(T.ema, S.EMA),
    "rma": _one(T.rma, S.RMA),
    "hma": _one(T.hma, S.HMA),
    "rsi": _one(T.rsi, S.RSI),
    "cci": _one(T.cci, S.CCI),
    "mom": _one(T.mom, S.MOM),
    "roc": _one(T.roc, S.ROC),
    "cmo": _window(T.cmo, S.CMO),
    "dev": TaSpec((1,), lambda B, a: T.dev(a[0], int(a[1])),
                  lambda a: S.Dev(int(a[1])) if a[1] is not None else S.Dev(None, S.DEFAULT_MAX_HISTORY),
                  lambda o, b, a: o.update(a[0], int(a[1])), dyn_len=1),
    "stdev": _stdev_like(T.stdev, S.Stdev),
    "variance": _stdev_like(T.variance, S.Variance),
    "highest": _window(T.highest, S.Highest),
    "lowest": _window(T.lowest, S.Lowest),
    "highestbars": _window(T.highestbars, S.HighestBars),
    "lowestbars": _window(T.lowestbars, S.LowestBars),
    "range": _window(T.range_, S.Range),
    "median": _window(T.median, S.Median),
    "mode": _window(T.mode, S.Mode),
    "percentrank": _window(T.percentrank, S.PercentRank),
    "cog": _window(T.cog, S.COG),
    "rci": _window(T.rci, S.RCI),
    "rising": _window(T.rising, S.Rising, returns_bool=True),
    "falling": _window(T.falling, S.Falling, returns_bool=True),
    "vwma": TaSpec((1,), lambda B, a: T.vwma(B.v, a[0], int(a[1])), lambda a: S.VWMA(int(a[1])),
                   lambda o, b, a: o.update(b[4], a[0])),
    "swma": TaSpec((), lambda B, a: T.swma(a[0]), lambda a: S.SWMA(), lambda o, b, a: o.update(a[0])),
    "alma": TaSpec((1, 2, 3, 4), lambda B, a: T.alma(a[0], int(a[1]), float(a[2]), float(a[3]), bool(a[4])),
                   lambda a: S.ALMA(int(a[1]), float(a[2]), float(a[3]), bool(a[4])),
                   lambda o, b, a: o.update(a[0])),
    "linreg": TaSpec((1, 2), lambda B, a: T.linreg(a[0], int(a[1]), int(a[2])),
                     lambda a: S.LinReg(int(a[1]), int(a[2])), lambda o, b, a: o.update(a[0])),
    "macd": TaSpec((1, 2, 3), lambda B, a: T.macd(a[0], int(a[1]), int(a[2]), int(a[3])),
                   lambda a: S.MACD(int(a[1]), int(a[2]), int(a[3])), lambda o, b, a: o.update(a[0])),
    "stoch": TaSpec((3,), lambda B, a: T.stoch(a[0], a[1], a[2], int(a[3])), lambda a: S.Stoch(int(a[3])),
                    lambda o, b, a: o.update(a[0], a[1], a[2])),
    "mfi": TaSpec((1,), lambda B, a: T.mfi(B.v, a[0], int(a[1])), lambda a: S.MFI(int(a[1])),
                  lambda o, b, a: o.update(b[4], a[0])),
    "atr": TaSpec((0,), lambda B, a: T.atr(B.h, B.l, B.c, int(a[0])), lambda a: S.ATR(int(a[0])),
                  lambda o, b, a: o.update(b[1], b[2], b[3])),
    "tr": TaSpec((0,), lambda B, a: T.tr(B.h, B.l, B.c, bool(a[0]) if a[0] is not None else False),
                 lambda a: S.TR(bool(a[0]) if a[0] is not None else False),
                 lambda o, b, a: o.update(b[1], b[2], b[3])),
    "bb": TaSpec((1, 2), lambda B, a: T.bb(a[0], int(a[1]), float(a[2])), lambda a: S.BB(int(a[1]), float(a[2])),
                 lambda o, b, a: o.update(a[0])),
    "bbw": TaSpec((1, 2), lambda B, a: T.bbw(a[0], int(a[1]), float(a[2])),
                  lambda a: S.BBW(int(a[1]), float(a[2])), lambda o, b, a: o.update(a[0])),
    "kc": TaSpec((1, 2, 3), lambda B, a: T.kc(B.h, B.l, B.c, a[0], int(a[1]), float(a[2]), bool(a[3])),
                 lambda a: S.KC(int(a[1]), float(a[2]), bool(a[3])),
                 lambda o, b, a: o.update(b[1], b[2], b[3], a[0])),
    "kcw": TaSpec((1, 2, 3), lambda B, a: T.kcw(B.h, B.l, B.c, a[0], int(a[1]), float(a[2]), bool(a[3])),
                  lambda a: S.KCW(int(a[1]), float(a[2]), bool(a[3])),
                  lambda o, b, a: o.update(b[1], b[2], b[3], a[0])),
    "dmi": TaSpec((0, 1), lambda B, a: T.dmi(B.h, B.l, B.c, int(a[0]), int(a[1])),
                  lambda a: S.DMI(int(a[0]), int(a[1])), lambda o, b, a: o.update(b[1], b[2], b[3])),
    "supertrend": TaSpec((0, 1), lambda B, a: T.supertrend(B.h, B.l, B.c, float(a[0]), int(a[1])),
                         lambda a: S.Supertrend(float(a[0]), int(a[1])),
                         lambda o, b, a: o.update(b[1], b[2], b[3])),
    "sar": TaSpec((0, 1, 2), lambda B, a: T.sar(B.h, B.l, B.c, float(a[0]), float(a[1]), float(a[2])),
                  lambda a: S.SAR(float(a[0]), float(a[1]), float(a[2])), lambda o, b, a: o.update(b[1], b[2], b[3])),
    "change": TaSpec((1,), lambda B, a: T.change(a[0], int(a[1])), lambda a: S.Change(int(a[1])),
                     lambda o, b, a: o.update(a[0])),
    "cross": TaSpec((), lambda B, a: T.cross(a[0], a[1]), lambda a: S.Cross(), lambda o, b, a: o.update(a[0], a[1]),
                    returns_bool=True),
    "crossover": TaSpec((), lambda B, a: T.crossover(a[0], a[1]), lambda a: S.Crossover(),
                        lambda o, b, a: o.update(a[0], a[1]), returns_bool=True),
    "crossunder": TaSpec((), lambda B, a: T.crossunder(a[0], a[1]), lambda a: S.Crossunder(),
                         lambda o, b, a: o.update(a[0], a[1]), returns_bool=True),
    "cum": TaSpec((), lambda B, a: T.cum(a[0]), lambda a: S.Cum(), lambda o, b, a: o.update(a[0])),
    "barssince": TaSpec((), lambda B, a: T.barssince(a[0]), lambda a: S.BarsSince(), lambda o, b, a: o.update(bool(a[0]))),
    "valuewhen": TaSpec((2,), lambda B, a: T.valuewhen(a[0], a[1], int(a[2])), lambda a: S.ValueWhen(int(a[2])),
                        lambda o, b, a: o.update(bool(a[0]), a[1])),
    "pivothigh": TaSpec((1, 2), lambda B, a: T.pivothigh(a[0], int(a[1]), int(a[2])),
                        lambda a: S.PivotHigh(int(a[1]), int(a[2])), lambda o, b, a: o.update(a[0])),
    "pivotlow": TaSpec((1, 2), lambda B, a: T.pivotlow(a[0], int(a[1]), int(a[2])),
                       lambda a: S.PivotLow(int(a[1]), int(a[2])), lambda o, b, a: o.update(a[0])),
    "percentile_linear_interpolation": TaSpec(
        (1, 2), lambda B, a: T.percentile_linear_interpolation(a[0], int(a[1]), float(a[2])),
        lambda a: S.PercentileLinearInterpolation(int(a[1]), float(a[2])), lambda o, b, a: o.update(a[0])),
    "percentile_nearest_rank": TaSpec(
        (1, 2), lambda B, a: T.percentile_nearest_rank(a[0], int(a[1]), float(a[2])),
        lambda a: S.PercentileNearestRank(int(a[1]), float(a[2])), lambda o, b, a: o.update(a[0])),
    "correlation": TaSpec((2,), lambda B, a: T.correlation(a[0], a[1], int(a[2])), lambda a: S.Correlation(int(a[2])),
                          lambda o, b, a: o.update(a[0], a[1])),
    "tsi": TaSpec((1, 2), lambda B, a: T.tsi(a[0], int(a[1]), int(a[2])), lambda a: S.TSI(int(a[1]), int(a[2])),
                  lambda o, b, a: o.update(a[0])),
    "wpr": TaSpec((0,), lambda B, a: T.wpr(B.h, B.l, B.c, int(a[0])), lambda a: S.WPR(int(a[0])),
                  lambda o, b, a: o.update(b[1], b[2], b[3])),
    "max": TaSpec((), lambda B, a: T.max_(a[0]), lambda a: S.Max(), lambda o, b, a: o.update(a[0])),
    "min": TaSpec((), lambda B, a: T.min_(a[0]), lambda a: S.Min(), lambda o, b, a: o.update(a[0])),
    "vwap": TaSpec((2,), lambda B, a: T.vwap(B.v, a[0], None if _is_na_arg(a[1]) else a[1], _opt(a[2])),
                   lambda a: S.VWAP(_opt(a[2])),
                   lambda o, b, a: o.update(b[4], a[0], bool(a[1]) if not _is_na_arg(a[1]) else False)),
    "pivot_point_levels": TaSpec(
        (0, 2), lambda B, a: None,  # returns an array per bar: always streamed
        lambda a: S.PivotPointLevels(str(a[0]), bool(a[2]) if a[2] is not None else False),
        lambda o, b, a: o.update(b[0], b[1], b[2], b[3], bool(a[1]))),
}

# built-in variables computed by ta (``ta.tr``, ``ta.obv`` ...)
VAR_SPECS: dict[str, TaSpec] = {
    "ta.tr": TaSpec((), lambda B, a: T.tr(B.h, B.l, B.c, False), lambda a: S.TR(False),
                    lambda o, b, a: o.update(b[1], b[2], b[3])),
    "ta.obv": TaSpec((), lambda B, a: T.obv(B.c, B.v), lambda a: S.OBV(), lambda o, b, a: o.update(b[3], b[4])),
    "ta.accdist": TaSpec((), lambda B, a: T.accdist(B.h, B.l, B.c, B.v), lambda a: S.AccDist(),
                         lambda o, b, a: o.update(b[1], b[2], b[3], b[4])),
    "ta.pvt": TaSpec((), lambda B, a: T.pvt(B.c, B.v), lambda a: S.PVT(), lambda o, b, a: o.update(b[3], b[4])),
    "ta.nvi": TaSpec((), lambda B, a: T.nvi(B.c, B.v), lambda a: S.NVI(), lambda o, b, a: o.update(b[3], b[4])),
    "ta.pvi": TaSpec((), lambda B, a: T.pvi(B.c, B.v), lambda a: S.PVI(), lambda o, b, a: o.update(b[3], b[4])),
    "ta.wad": TaSpec((), lambda B, a: T.wad(B.h, B.l, B.c), lambda a: S.WAD(),
                     lambda o, b, a: o.update(b[1], b[2], b[3])),
    "ta.wvad": TaSpec((), lambda B, a: T.wvad(B.o, B.h, B.l, B.c, B.v), lambda a: S.WVAD(),
                      lambda o, b, a: o.update(b[0], b[1], b[2], b[3], b[4])),
    "ta.iii": TaSpec((), lambda B, a: T.iii(B.h, B.l, B.c, B.v), lambda a: S.III(),
                     lambda o, b, a: o.update(b[1], b[2], b[3], b[4])),
    "ta.vwap": TaSpec((), lambda B, a: T.vwap(B.v, (B.h + B.l + B.c) / 3.0, None, None), lambda a: S.VWAP(None),
                      lambda o, b, a: o.update(b[4], (b[1] + b[2] + b[3]) / 3.0, False)),
}


def _is_na_arg(x: Any) -> bool:
    if x is None:
        return True
    return isinstance(x, float) and x != x


# Functions whose first Pine parameter (a source) may be omitted: the implicit bar series to use.
IMPLICIT_SOURCE = {
    "highest": "high", "lowest": "low", "highestbars": "high", "lowestbars": "low",
    "pivothigh": "high", "pivotlow": "low",
}  # fmt: skip
