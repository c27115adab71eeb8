"""Pine name -> implementation tables for the evaluator.

For every `ta.<name>` the spec says which arguments are series (per-bar values: numpy arrays in the
vectorized API, `update()` arguments in the streaming API) and which are simple (constants:
scalars in the vectorized API, constructor arguments of the streaming class).

Calling conventions, with `spec = SPECS[name]`:

* vectorized: `spec.vector(*bar_arrays, *pine_args)` where `bar_arrays` follow `spec.bar_inputs`
  (names among "open", "high", "low", "close", "volume") and `pine_args` follow `spec.params`;
* streaming: `obj = spec.stream(*simple_args)` once per call site (simple params in Pine order),
  then per bar `obj.update(*bar_values, *series_args)` (series params in Pine order).
  When `spec.series_length` is true the class also accepts a per-bar `length=` keyword in
  `update()` (Pine allows a series length there).

Optional leading sources: `ta.highest(10)` means `ta.highest(high, 10)`; a param whose default is
a `BarDefault` may be omitted from the front of the call, and the evaluator then passes that bar
array/value. `ta.vwap(source)` defaults its anchor to the start of each trading session
(`BarDefault("session_start")`: the evaluator supplies the session-change flags).

Variables (`ta.obv`, `ta.accdist`, `ta.tr`, ...) are listed with `is_variable=True` and no params.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from . import ta, ta_stream

REQUIRED = object()


@dataclass(frozen=True)
class BarDefault:
    """Default value taken from bar data (e.g. `high`) or from the session calendar."""

    source: str


@dataclass(frozen=True)
class Param:
    name: str
    kind: Literal["series", "simple"]
    type: Literal["float", "int", "bool", "string"] = "float"
    default: object = REQUIRED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class FuncSpec:
    name: str
    vector: Callable[..., object]
    stream: type
    bar_inputs: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    returns: tuple[str, ...] | None = None  # element names of a tuple result, Pine order
    result_type: Literal["float", "int", "bool", "float[]"] = "float"
    series_length: bool = False
    is_variable: bool = False
    also_function: bool = False  # a variable that can also be called (ta.tr / ta.tr(handle_na))
    notes: str = ""

    @property
    def simple_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.kind == "simple")

    @property
    def series_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.kind == "series")


def _src(name: str = "source", default: object = REQUIRED) -> Param:
    return Param(name, "series", "float", default)


def _int(name: str, default: object = REQUIRED) -> Param:
    return Param(name, "simple", "int", default)


def _float(name: str, default: object = REQUIRED) -> Param:
    return Param(name, "simple", "float", default)


def _bool(name: str, default: object = REQUIRED) -> Param:
    return Param(name, "simple", "bool", default)


HLC = ("high", "low", "close")
_s = ta_stream

_SPEC_LIST: list[FuncSpec] = [
    # moving averages
    FuncSpec("sma", ta.sma, _s.SMA, params=(_src(), _int("length")), series_length=True),
    FuncSpec("ema", ta.ema, _s.EMA, params=(_src(), _int("length"))),
    FuncSpec("rma", ta.rma, _s.RMA, params=(_src(), _int("length"))),
    FuncSpec("wma", ta.wma, _s.WMA, params=(_src(), _int("length")), series_length=True),
    FuncSpec("vwma", ta.vwma, _s.VWMA, bar_inputs=("volume",), params=(_src(), _int("length"))),
    FuncSpec("hma", ta.hma, _s.HMA, params=(_src(), _int("length"))),
    FuncSpec("swma", ta.swma, _s.SWMA, params=(_src(),)),
    FuncSpec(
        "alma",
        ta.alma,
        _s.ALMA,
        params=(_src("series"), _int("length"), _float("offset"), _float("sigma"), _bool("floor", False)),
    ),
    FuncSpec("linreg", ta.linreg, _s.LinReg, params=(_src(), _int("length"), _int("offset"))),
    # oscillators
    FuncSpec("rsi", ta.rsi, _s.RSI, params=(_src(), _int("length"))),
    FuncSpec(
        "macd",
        ta.macd,
        _s.MACD,
        params=(_src(), _int("fastlen"), _int("slowlen"), _int("siglen")),
        returns=("macd", "signal", "hist"),
    ),
    FuncSpec(
        "stoch", ta.stoch, _s.Stoch, params=(_src(), _src("high"), _src("low"), _int("length"))
    ),
    FuncSpec("cci", ta.cci, _s.CCI, params=(_src(), _int("length"))),
    FuncSpec("mfi", ta.mfi, _s.MFI, bar_inputs=("volume",), params=(_src("series"), _int("length"))),
    FuncSpec("cmo", ta.cmo, _s.CMO, params=(_src("series"), _int("length")), series_length=True),
    FuncSpec("tsi", ta.tsi, _s.TSI, params=(_src(), _int("short_length"), _int("long_length"))),
    FuncSpec("wpr", ta.wpr, _s.WPR, bar_inputs=HLC, params=(_int("length"),)),
    FuncSpec("rci", ta.rci, _s.RCI, params=(_src(), _int("length")), series_length=True),
    FuncSpec("cog", ta.cog, _s.COG, params=(_src(), _int("length")), series_length=True),
    FuncSpec("change", ta.change, _s.Change, params=(_src(), _int("length", 1)),
             notes="bool source -> bool result (true when the value differs from `length` bars ago)"),
    FuncSpec("mom", ta.mom, _s.MOM, params=(_src(), _int("length"))),
    FuncSpec("roc", ta.roc, _s.ROC, params=(_src(), _int("length"))),
    # volatility
    FuncSpec("tr", ta.tr, _s.TR, bar_inputs=HLC, params=(_bool("handle_na", False),),
             is_variable=True, also_function=True,
             notes="the variable `ta.tr` is tr(false): na on the first bar"),
    FuncSpec("atr", ta.atr, _s.ATR, bar_inputs=HLC, params=(_int("length"),)),
    FuncSpec(
        "bb", ta.bb, _s.BB, params=(_src("series"), _int("length"), _float("mult")),
        returns=("middle", "upper", "lower"),
    ),
    FuncSpec("bbw", ta.bbw, _s.BBW, params=(_src("series"), _int("length"), _float("mult"))),
    FuncSpec(
        "kc", ta.kc, _s.KC, bar_inputs=HLC,
        params=(_src("series"), _int("length"), _float("mult"), _bool("useTrueRange", True)),
        returns=("middle", "upper", "lower"),
    ),
    FuncSpec(
        "kcw", ta.kcw, _s.KCW, bar_inputs=HLC,
        params=(_src("series"), _int("length"), _float("mult"), _bool("useTrueRange", True)),
    ),
    FuncSpec(
        "dmi", ta.dmi, _s.DMI, bar_inputs=HLC, params=(_int("diLength"), _int("adxSmoothing")),
        returns=("plus", "minus", "adx"),
    ),
    FuncSpec(
        "supertrend", ta.supertrend, _s.Supertrend, bar_inputs=HLC,
        params=(_float("factor"), _int("atrPeriod")), returns=("supertrend", "direction"),
    ),
    FuncSpec("sar", ta.sar, _s.SAR, bar_inputs=HLC, params=(_float("start"), _float("inc"), _float("max"))),
    # windows
    FuncSpec("highest", ta.highest, _s.Highest, params=(_src(default=BarDefault("high")), _int("length")),
             series_length=True),
    FuncSpec("lowest", ta.lowest, _s.Lowest, params=(_src(default=BarDefault("low")), _int("length")),
             series_length=True),
    FuncSpec("highestbars", ta.highestbars, _s.HighestBars,
             params=(_src(default=BarDefault("high")), _int("length")), result_type="int", series_length=True),
    FuncSpec("lowestbars", ta.lowestbars, _s.LowestBars,
             params=(_src(default=BarDefault("low")), _int("length")), result_type="int", series_length=True),
    FuncSpec("stdev", ta.stdev, _s.Stdev, params=(_src(), _int("length"), _bool("biased", True)),
             series_length=True),
    FuncSpec("variance", ta.variance, _s.Variance, params=(_src(), _int("length"), _bool("biased", True)),
             series_length=True),
    FuncSpec("dev", ta.dev, _s.Dev, params=(_src(), _int("length")), series_length=True),
    FuncSpec("percentrank", ta.percentrank, _s.PercentRank, params=(_src(), _int("length")),
             series_length=True),
    FuncSpec("correlation", ta.correlation, _s.Correlation,
             params=(_src("source1"), _src("source2"), _int("length"))),
    FuncSpec("median", ta.median, _s.Median, params=(_src(), _int("length")), series_length=True),
    FuncSpec("mode", ta.mode, _s.Mode, params=(_src(), _int("length")), series_length=True),
    FuncSpec("range", ta.range_, _s.Range, params=(_src(), _int("length")), series_length=True),
    FuncSpec("percentile_linear_interpolation", ta.percentile_linear_interpolation,
             _s.PercentileLinearInterpolation, params=(_src(), _int("length"), _float("percentage"))),
    FuncSpec("percentile_nearest_rank", ta.percentile_nearest_rank, _s.PercentileNearestRank,
             params=(_src(), _int("length"), _float("percentage"))),
    FuncSpec("max", ta.max_, _s.Max, params=(_src(),), notes="all-time running maximum"),
    FuncSpec("min", ta.min_, _s.Min, params=(_src(),), notes="all-time running minimum"),
    # events
    FuncSpec("cross", ta.cross, _s.Cross, params=(_src("source1"), _src("source2")), result_type="bool"),
    FuncSpec("crossover", ta.crossover, _s.Crossover, params=(_src("source1"), _src("source2")),
             result_type="bool"),
    FuncSpec("crossunder", ta.crossunder, _s.Crossunder, params=(_src("source1"), _src("source2")),
             result_type="bool"),
    FuncSpec("rising", ta.rising, _s.Rising, params=(_src(), _int("length")), result_type="bool",
             series_length=True),
    FuncSpec("falling", ta.falling, _s.Falling, params=(_src(), _int("length")), result_type="bool",
             series_length=True),
    FuncSpec("cum", ta.cum, _s.Cum, params=(_src(),)),
    FuncSpec("barssince", ta.barssince, _s.BarsSince, params=(Param("condition", "series", "bool"),),
             result_type="int"),
    FuncSpec("valuewhen", ta.valuewhen, _s.ValueWhen,
             params=(Param("condition", "series", "bool"), _src(), _int("occurrence"))),
    FuncSpec("pivothigh", ta.pivothigh, _s.PivotHigh,
             params=(_src(default=BarDefault("high")), _int("leftbars"), _int("rightbars"))),
    FuncSpec("pivotlow", ta.pivotlow, _s.PivotLow,
             params=(_src(default=BarDefault("low")), _int("leftbars"), _int("rightbars"))),
    FuncSpec(
        "vwap", ta.vwap, _s.VWAP, bar_inputs=("volume",),
        params=(_src(), Param("anchor", "series", "bool", BarDefault("session_start")),
                _float("stdev_mult", None)),
        returns=("vwap", "upper_band", "lower_band"),
        notes="returns a single series unless stdev_mult is given",
    ),
    FuncSpec(
        "pivot_point_levels", ta.pivot_point_levels, _s.PivotPointLevels,
        bar_inputs=("open", "high", "low", "close"),
        params=(Param("type", "simple", "string"), Param("anchor", "series", "bool"),
                _bool("developing", False)),
        result_type="float[]",
        notes="11 levels [P, R1, S1, R2, S2, R3, S3, R4, S4, R5, S5]; vector result has shape (bars, 11)",
    ),
    # volume variables
    FuncSpec("obv", ta.obv, _s.OBV, bar_inputs=("close", "volume"), is_variable=True),
    FuncSpec("accdist", ta.accdist, _s.AccDist, bar_inputs=("high", "low", "close", "volume"),
             is_variable=True),
    FuncSpec("pvt", ta.pvt, _s.PVT, bar_inputs=("close", "volume"), is_variable=True),
    FuncSpec("nvi", ta.nvi, _s.NVI, bar_inputs=("close", "volume"), is_variable=True),
    FuncSpec("pvi", ta.pvi, _s.PVI, bar_inputs=("close", "volume"), is_variable=True),
    FuncSpec("wad", ta.wad, _s.WAD, bar_inputs=HLC, is_variable=True),
    FuncSpec("wvad", ta.wvad, _s.WVAD, bar_inputs=("open", "high", "low", "close", "volume"),
             is_variable=True),
    FuncSpec("iii", ta.iii, _s.III, bar_inputs=("high", "low", "close", "volume"), is_variable=True),
]

SPECS: dict[str, FuncSpec] = {spec.name: spec for spec in _SPEC_LIST}
VECTOR_FUNCS: dict[str, Callable[..., object]] = {spec.name: spec.vector for spec in _SPEC_LIST}
STREAM_CLASSES: dict[str, type] = {spec.name: spec.stream for spec in _SPEC_LIST}

__all__ = ["REQUIRED", "SPECS", "STREAM_CLASSES", "VECTOR_FUNCS", "BarDefault", "FuncSpec", "Param"]
