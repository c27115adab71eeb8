"""Built-in namespace of Pine Script v5/v6 as data: function signatures, variables and constants.

Signatures are written in Pine notation and parsed once at import:
``name(param: [qualifier] type [= default], ...) -> return type``.
Types: ``int float bool string color`` plus ``number`` (int or float), ``any``, ``T`` (same type as the
first ``T`` argument), ``array<T>``, ``map<K,V>``, ``matrix<T>``, drawing types, ``void`` and tuples
``[series float, series float]``.  A parameter qualifier (``const``/``simple``/``series``) is the
*maximum* qualifier accepted; a return type without qualifier takes the strongest qualifier among the
arguments.  ``*name`` marks a variadic parameter.  Several lines with the same name are overloads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ParamSig:
    name: str
    type: str  # "float", "series int", "array<T>", ...
    qualifier: str | None
    base: str
    default: Any = None
    required: bool = True
    variadic: bool = False


@dataclass(frozen=True, slots=True)
class FuncSig:
    name: str
    params: tuple[ParamSig, ...]
    returns: str  # "series float", "[series float, series float]", "void", "T", ...

    @property
    def param_names(self) -> tuple[str, ...]:
        if any(p.variadic for p in self.params):
            return ()
        return tuple(p.name for p in self.params)


_SERIES_NUM = "series float"

SIGNATURES = r"""
# ---------------------------------------------------------------- declarations
strategy(title: const string, shorttitle: const string = na, overlay: const bool = false, format: const string = "inherit", precision: const int = na, scale: const string = na, pyramiding: const int = 0, calc_on_order_fills: const bool = false, calc_on_every_tick: const bool = false, max_bars_back: const int = na, backtest_fill_limits_assumption: const int = 0, default_qty_type: const string = "fixed", default_qty_value: const float = 1, initial_capital: const float = 1000000, currency: const string = "NONE", slippage: const int = 0, commission_type: const string = "percent", commission_value: const float = 0, process_orders_on_close: const bool = false, close_entries_rule: const string = "FIFO", margin_long: const float = 100, margin_short: const float = 100, explicit_plot_zorder: const bool = false, max_lines_count: const int = 50, max_labels_count: const int = 50, max_boxes_count: const int = 50, calc_bars_count: const int = 0, risk_free_rate: const float = 2, use_bar_magnifier: const bool = false, fill_orders_on_standard_ohlc: const bool = false, max_polylines_count: const int = 50, dynamic_requests: const bool = true, behind_chart: const bool = true) -> void
indicator(title: const string, shorttitle: const string = na, overlay: const bool = false, format: const string = "inherit", precision: const int = na, scale: const string = na, max_bars_back: const int = na, timeframe: const string = na, timeframe_gaps: const bool = true, explicit_plot_zorder: const bool = false, max_lines_count: const int = 50, max_labels_count: const int = 50, max_boxes_count: const int = 50, calc_bars_count: const int = 0, max_polylines_count: const int = 50, dynamic_requests: const bool = true, behind_chart: const bool = true) -> void
library(title: const string, overlay: const bool = false, dynamic_requests: const bool = true) -> void
# ---------------------------------------------------------------- inputs
input(defval: series any, title: const string = na, tooltip: const string = na, inline: const string = na, group: const string = na, display: const string = na, active: input bool = true, confirm: const bool = false) -> input T
input.int(defval: const int, title: const string = na, minval: const int = na, maxval: const int = na, step: const int = 1, options: any = na, tooltip: const string = na, inline: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input int
input.float(defval: const float, title: const string = na, minval: const float = na, maxval: const float = na, step: const float = na, options: any = na, tooltip: const string = na, inline: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input float
input.bool(defval: const bool, title: const string = na, tooltip: const string = na, inline: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input bool
input.string(defval: const string, title: const string = na, options: any = na, tooltip: const string = na, inline: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input string
input.text_area(defval: const string, title: const string = na, tooltip: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input string
input.source(defval: series float, title: const string = na, tooltip: const string = na, inline: const string = na, group: const string = na, display: const string = na, confirm: const bool = false, active: input bool = true) -> series float
input.timeframe(defval: const string, title: const string = na, options: any = na, tooltip: const string = na, inline: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input string
input.symbol(defval: const string, title: const string = na, tooltip: const string = na, inline: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input string
input.session(defval: const string, title: const string = na, options: any = na, tooltip: const string = na, inline: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input string
input.price(defval: const float, title: const string = na, tooltip: const string = na, inline: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input float
input.color(defval: const color, title: const string = na, tooltip: const string = na, inline: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input color
input.time(defval: const int, title: const string = na, tooltip: const string = na, inline: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input int
input.enum(defval: const any, title: const string = na, options: any = na, tooltip: const string = na, inline: const string = na, group: const string = na, confirm: const bool = false, display: const string = na, active: input bool = true) -> input T
# ---------------------------------------------------------------- outputs
plot(series: series number, title: const string = na, color: series color = na, linewidth: input int = 1, style: input string = "line", trackprice: input bool = false, histbase: input number = 0, offset: simple int = 0, join: input bool = false, editable: const bool = true, show_last: input int = na, display: input string = "all", format: input string = na, precision: input int = na, force_overlay: const bool = false, linestyle: input string = "solid", transp: input int = na) -> plot
plotshape(series: series any, title: const string = na, style: input string = "xcross", location: input string = "abovebar", color: series color = na, offset: simple int = 0, text: const string = na, textcolor: series color = na, editable: const bool = true, size: const string = "auto", show_last: input int = na, display: input string = "all", format: input string = na, precision: input int = na, force_overlay: const bool = false, transp: input int = na) -> void
plotchar(series: series any, title: const string = na, char: input string = "★", location: input string = "abovebar", color: series color = na, offset: simple int = 0, text: const string = na, textcolor: series color = na, editable: const bool = true, size: const string = "auto", show_last: input int = na, display: input string = "all", format: input string = na, precision: input int = na, force_overlay: const bool = false, transp: input int = na) -> void
plotarrow(series: series number, title: const string = na, colorup: series color = na, colordown: series color = na, offset: simple int = 0, minheight: input int = 5, maxheight: input int = 100, editable: const bool = true, show_last: input int = na, display: input string = "all", format: input string = na, precision: input int = na, force_overlay: const bool = false, transp: input int = na) -> void
plotcandle(open: series number, high: series number, low: series number, close: series number, title: const string = na, color: series color = na, wickcolor: series color = na, editable: const bool = true, show_last: input int = na, bordercolor: series color = na, display: input string = "all", format: input string = na, precision: input int = na, force_overlay: const bool = false) -> void
plotbar(open: series number, high: series number, low: series number, close: series number, title: const string = na, color: series color = na, editable: const bool = true, show_last: input int = na, display: input string = "all", format: input string = na, precision: input int = na, force_overlay: const bool = false) -> void
hline(price: input number, title: const string = na, color: input color = na, linestyle: input string = "solid", linewidth: input int = 1, editable: const bool = true, display: input string = "all") -> hline
bgcolor(color: series color, offset: simple int = 0, editable: const bool = true, show_last: input int = na, title: const string = na, display: input string = "all", force_overlay: const bool = false, transp: input int = na) -> void
barcolor(color: series color, offset: simple int = 0, editable: const bool = true, show_last: input int = na, title: const string = na, display: input string = "all", transp: input int = na) -> void
fill(plot1: any, plot2: any, color: series color = na, title: const string = na, editable: const bool = true, show_last: input int = na, fillgaps: const bool = false, display: input string = "all", top_value: series number = na, bottom_value: series number = na, top_color: series color = na, bottom_color: series color = na, transp: input int = na) -> void
fill(hline1: any, hline2: any, color: series color = na, title: const string = na, editable: const bool = true, fillgaps: const bool = false, display: input string = "all", transp: input int = na) -> void
alert(message: series string, freq: input string = "once_per_bar") -> void
alertcondition(condition: series bool, title: const string = na, message: const string = na) -> void
# ---------------------------------------------------------------- general
na(x: series any) -> bool
nz(source: series T, replacement: series T = na) -> T
fixnan(source: series T) -> series T
int(x: series any) -> int
float(x: series any) -> float
bool(x: series any) -> bool
string(x: series any) -> string
color(x: series any) -> color
line(x: series any) -> line
label(x: series any) -> label
box(x: series any) -> box
table(x: series any) -> table
linefill(x: series any) -> linefill
polyline(x: series any) -> polyline
max_bars_back(var: series any, num: const int) -> void
time(timeframe: series string, session: series string = na, timezone: series string = na, bars_back: series int = 0) -> series int
time_close(timeframe: series string, session: series string = na, timezone: series string = na, bars_back: series int = 0) -> series int
timestamp(dateString: const string) -> int
timestamp(year: series int, month: series int, day: series int, hour: series int = 0, minute: series int = 0, second: series int = 0) -> int
timestamp(timezone: series string, year: series int, month: series int, day: series int, hour: series int = 0, minute: series int = 0, second: series int = 0) -> int
year(time: series int, timezone: series string = na) -> series int
month(time: series int, timezone: series string = na) -> series int
weekofyear(time: series int, timezone: series string = na) -> series int
dayofmonth(time: series int, timezone: series string = na) -> series int
dayofweek(time: series int, timezone: series string = na) -> series int
hour(time: series int, timezone: series string = na) -> series int
minute(time: series int, timezone: series string = na) -> series int
second(time: series int, timezone: series string = na) -> series int
runtime.error(message: series string) -> void
log.info(message: series string, *args: series any) -> void
log.warning(message: series string, *args: series any) -> void
log.error(message: series string, *args: series any) -> void
request.security(symbol: series string, timeframe: series string, expression: series any, gaps: simple string = "gaps_off", lookahead: simple string = "lookahead_off", ignore_invalid_symbol: input bool = false, currency: series string = na, calc_bars_count: simple int = na) -> T
request.security_lower_tf(symbol: series string, timeframe: series string, expression: series any, ignore_invalid_symbol: input bool = false, currency: series string = na, ignore_invalid_timeframe: input bool = false, calc_bars_count: simple int = na) -> series any
ticker.new(prefix: series string, ticker: series string, session: series string = na, adjustment: series string = na, backadjustment: series string = na, settlement_as_close: series string = na) -> string
ticker.modify(tickerid: series string, session: series string = na, adjustment: series string = na, backadjustment: series string = na, settlement_as_close: series string = na) -> string
ticker.standard(symbol: series string = na) -> string
ticker.heikinashi(symbol: series string) -> string
timeframe.in_seconds(timeframe: series string = na) -> int
timeframe.from_seconds(seconds: series int) -> string
timeframe.change(timeframe: series string) -> series bool
# ---------------------------------------------------------------- color
color.new(color: series color, transp: series number) -> color
color.rgb(red: series number, green: series number, blue: series number, transp: series number = 0) -> color
color.r(color: series color) -> float
color.g(color: series color) -> float
color.b(color: series color) -> float
color.t(color: series color) -> float
color.from_gradient(value: series number, bottom_value: series number, top_value: series number, bottom_color: series color, top_color: series color) -> series color
# ---------------------------------------------------------------- ta
ta.sma(source: series number, length: series int) -> series float
ta.ema(source: series number, length: simple int) -> series float
ta.rma(source: series number, length: simple int) -> series float
ta.wma(source: series number, length: series int) -> series float
ta.vwma(source: series number, length: series int) -> series float
ta.hma(source: series number, length: simple int) -> series float
ta.swma(source: series number) -> series float
ta.alma(series: series number, length: series int, offset: simple float, sigma: simple float, floor: simple bool = false) -> series float
ta.linreg(source: series number, length: series int, offset: simple int) -> series float
ta.rsi(source: series number, length: simple int) -> series float
ta.macd(source: series number, fastlen: simple int, slowlen: simple int, siglen: simple int) -> [series float, series float, series float]
ta.stoch(source: series number, high: series number, low: series number, length: series int) -> series float
ta.cci(source: series number, length: series int) -> series float
ta.mfi(series: series number, length: series int) -> series float
ta.atr(length: simple int) -> series float
ta.tr(handle_na: simple bool) -> series float
ta.bb(series: series number, length: series int, mult: simple number) -> [series float, series float, series float]
ta.bbw(series: series number, length: series int, mult: simple number) -> series float
ta.kc(series: series number, length: simple int, mult: simple number, useTrueRange: simple bool = true) -> [series float, series float, series float]
ta.kcw(series: series number, length: simple int, mult: simple number, useTrueRange: simple bool = true) -> series float
ta.dmi(diLength: simple int, adxSmoothing: simple int) -> [series float, series float, series float]
ta.supertrend(factor: series number, atrPeriod: simple int) -> [series float, series float]
ta.sar(start: simple number, inc: simple number, max: simple number) -> series float
ta.highest(source: series number, length: series int) -> series float
ta.highest(length: series int) -> series float
ta.lowest(source: series number, length: series int) -> series float
ta.lowest(length: series int) -> series float
ta.highestbars(source: series number, length: series int) -> series int
ta.highestbars(length: series int) -> series int
ta.lowestbars(source: series number, length: series int) -> series int
ta.lowestbars(length: series int) -> series int
ta.change(source: series any, length: series int = 1) -> series T
ta.mom(source: series number, length: series int) -> series float
ta.roc(source: series number, length: series int) -> series float
ta.cross(source1: series number, source2: series number) -> series bool
ta.crossover(source1: series number, source2: series number) -> series bool
ta.crossunder(source1: series number, source2: series number) -> series bool
ta.rising(source: series number, length: series int) -> series bool
ta.falling(source: series number, length: series int) -> series bool
ta.cum(source: series number) -> series float
ta.vwap(source: series number) -> series float
ta.vwap(source: series number, anchor: series bool) -> series float
ta.vwap(source: series number, anchor: series bool, stdev_mult: series number) -> [series float, series float, series float]
ta.pivothigh(source: series number, leftbars: series int, rightbars: series int) -> series float
ta.pivothigh(leftbars: series int, rightbars: series int) -> series float
ta.pivotlow(source: series number, leftbars: series int, rightbars: series int) -> series float
ta.pivotlow(leftbars: series int, rightbars: series int) -> series float
ta.valuewhen(condition: series bool, source: series any, occurrence: series int) -> series T
ta.barssince(condition: series bool) -> series int
ta.stdev(source: series number, length: series int, biased: series bool = true) -> series float
ta.variance(source: series number, length: series int, biased: series bool = true) -> series float
ta.percentrank(source: series number, length: series int) -> series float
ta.percentile_linear_interpolation(source: series number, length: series int, percentage: simple number) -> series float
ta.percentile_nearest_rank(source: series number, length: series int, percentage: simple number) -> series float
ta.correlation(source1: series number, source2: series number, length: series int) -> series float
ta.median(source: series number, length: series int) -> series float
ta.mode(source: series number, length: series int) -> series float
ta.range(source: series number, length: series int) -> series float
ta.dev(source: series number, length: series int) -> series float
ta.cog(source: series number, length: series int) -> series float
ta.cmo(series: series number, length: series int) -> series float
ta.tsi(source: series number, short_length: simple int, long_length: simple int) -> series float
ta.wpr(length: series int) -> series float
ta.rci(source: series number, length: series int) -> series float
ta.pivot_point_levels(type: series string, anchor: series bool, developing: series bool = false) -> array<float>
ta.max(source: series number) -> series float
ta.min(source: series number) -> series float
# ---------------------------------------------------------------- math
math.abs(number: series number) -> T
math.acos(angle: series number) -> float
math.asin(angle: series number) -> float
math.atan(angle: series number) -> float
math.cos(angle: series number) -> float
math.sin(angle: series number) -> float
math.tan(angle: series number) -> float
math.exp(number: series number) -> float
math.log(number: series number) -> float
math.log10(number: series number) -> float
math.sqrt(number: series number) -> float
math.pow(base: series number, exponent: series number) -> float
math.ceil(number: series number) -> int
math.floor(number: series number) -> int
math.round(number: series number, precision: series int = na) -> T
math.round_to_mintick(number: series number) -> float
math.sign(number: series number) -> float
math.todegrees(radians: series number) -> float
math.toradians(degrees: series number) -> float
math.random(min: series number = 0, max: series number = 1, seed: simple int = na) -> series float
math.sum(source: series number, length: series int) -> series float
math.avg(*number: series number) -> float
math.max(*number: series number) -> T
math.min(*number: series number) -> T
# ---------------------------------------------------------------- str
str.tostring(value: series any, format: series string = na) -> string
str.tonumber(string: series string) -> float
str.format(formatString: series string, *arg: series any) -> string
str.format_time(time: series int, format: series string = na, timezone: series string = na) -> string
str.length(string: series string) -> int
str.contains(source: series string, str: series string) -> bool
str.startswith(source: series string, str: series string) -> bool
str.endswith(source: series string, str: series string) -> bool
str.pos(source: series string, str: series string) -> int
str.replace(source: series string, target: series string, replacement: series string, occurrence: series int = 0) -> string
str.replace_all(source: series string, target: series string, replacement: series string) -> string
str.split(string: series string, separator: series string) -> array<string>
str.substring(source: series string, begin_pos: series int, end_pos: series int = na) -> string
str.lower(source: series string) -> string
str.upper(source: series string) -> string
str.trim(source: series string) -> string
str.repeat(source: series string, repeat: series int, separator: series string = "") -> string
str.match(source: series string, regex: series string) -> string
# ---------------------------------------------------------------- array
array.new(size: series int = 0, initial_value: series any = na) -> array<T>
array.new_float(size: series int = 0, initial_value: series number = na) -> array<float>
array.new_int(size: series int = 0, initial_value: series int = na) -> array<int>
array.new_bool(size: series int = 0, initial_value: series bool = na) -> array<bool>
array.new_string(size: series int = 0, initial_value: series string = na) -> array<string>
array.new_color(size: series int = 0, initial_value: series color = na) -> array<color>
array.new_label(size: series int = 0, initial_value: series any = na) -> array<label>
array.new_line(size: series int = 0, initial_value: series any = na) -> array<line>
array.new_box(size: series int = 0, initial_value: series any = na) -> array<box>
array.new_table(size: series int = 0, initial_value: series any = na) -> array<table>
array.new_linefill(size: series int = 0, initial_value: series any = na) -> array<linefill>
array.from(*values: series any) -> array<T>
array.push(id: array<any>, value: series any) -> void
array.pop(id: array<any>) -> E
array.shift(id: array<any>) -> E
array.unshift(id: array<any>, value: series any) -> void
array.get(id: array<any>, index: series int) -> E
array.set(id: array<any>, index: series int, value: series any) -> void
array.size(id: array<any>) -> series int
array.clear(id: array<any>) -> void
array.insert(id: array<any>, index: series int, value: series any) -> void
array.remove(id: array<any>, index: series int) -> E
array.indexof(id: array<any>, value: series any) -> series int
array.lastindexof(id: array<any>, value: series any) -> series int
array.includes(id: array<any>, value: series any) -> series bool
array.sum(id: array<any>) -> E
array.avg(id: array<any>) -> series float
array.min(id: array<any>, nth: series int = 0) -> E
array.max(id: array<any>, nth: series int = 0) -> E
array.median(id: array<any>) -> series float
array.mode(id: array<any>) -> E
array.range(id: array<any>) -> E
array.stdev(id: array<any>, biased: series bool = true) -> series float
array.variance(id: array<any>, biased: series bool = true) -> series float
array.covariance(id1: array<any>, id2: array<any>, biased: series bool = true) -> series float
array.standardize(id: array<any>) -> array<float>
array.abs(id: array<any>) -> array<T>
array.sort(id: array<any>, order: series string = "ascending") -> void
array.sort_indices(id: array<any>, order: series string = "ascending") -> array<int>
array.reverse(id: array<any>) -> void
array.slice(id: array<any>, index_from: series int, index_to: series int) -> array<T>
array.concat(id1: array<any>, id2: array<any>) -> array<T>
array.copy(id: array<any>) -> array<T>
array.fill(id: array<any>, value: series any, index_from: series int = 0, index_to: series int = na) -> void
array.join(id: array<any>, separator: series string = "") -> series string
array.first(id: array<any>) -> E
array.last(id: array<any>) -> E
array.binary_search(id: array<any>, val: series number) -> series int
array.binary_search_leftmost(id: array<any>, val: series number) -> series int
array.binary_search_rightmost(id: array<any>, val: series number) -> series int
array.percentile_linear_interpolation(id: array<any>, percentage: series number) -> series float
array.percentile_nearest_rank(id: array<any>, percentage: series number) -> series float
array.percentrank(id: array<any>, index: series int) -> series float
array.every(id: array<any>) -> series bool
array.some(id: array<any>) -> series bool
# ---------------------------------------------------------------- map
map.new() -> map<K,V>
map.put(id: map<any>, key: series any, value: series any) -> V
map.get(id: map<any>, key: series any) -> V
map.contains(id: map<any>, key: series any) -> series bool
map.remove(id: map<any>, key: series any) -> V
map.keys(id: map<any>) -> array<K>
map.values(id: map<any>) -> array<V>
map.size(id: map<any>) -> series int
map.clear(id: map<any>) -> void
map.copy(id: map<any>) -> map<K,V>
map.put_all(id: map<any>, id2: map<any>) -> void
# ---------------------------------------------------------------- matrix
matrix.new(rows: series int = 0, columns: series int = 0, initial_value: series any = na) -> matrix<T>
matrix.get(id: matrix<any>, row: series int, column: series int) -> E
matrix.set(id: matrix<any>, row: series int, column: series int, value: series any) -> void
matrix.rows(id: matrix<any>) -> series int
matrix.columns(id: matrix<any>) -> series int
matrix.elements_count(id: matrix<any>) -> series int
matrix.row(id: matrix<any>, row: series int) -> array<E>
matrix.col(id: matrix<any>, column: series int) -> array<E>
matrix.add_row(id: matrix<any>, row: series int = na, array_id: array<any> = na) -> void
matrix.add_col(id: matrix<any>, column: series int = na, array_id: array<any> = na) -> void
matrix.remove_row(id: matrix<any>, row: series int = na) -> array<E>
matrix.remove_col(id: matrix<any>, column: series int = na) -> array<E>
matrix.fill(id: matrix<any>, value: series any, from_row: series int = 0, to_row: series int = na, from_column: series int = 0, to_column: series int = na) -> void
matrix.copy(id: matrix<any>) -> matrix<T>
matrix.transpose(id: matrix<any>) -> matrix<T>
matrix.sum(id1: matrix<any>, id2: series any) -> matrix<T>
matrix.diff(id1: matrix<any>, id2: series any) -> matrix<T>
matrix.mult(id1: matrix<any>, id2: series any) -> series any
matrix.det(id: matrix<any>) -> series float
matrix.inv(id: matrix<any>) -> matrix<T>
matrix.trace(id: matrix<any>) -> E
matrix.avg(id: matrix<any>) -> series float
matrix.max(id: matrix<any>) -> E
matrix.min(id: matrix<any>) -> E
matrix.median(id: matrix<any>) -> series float
matrix.mode(id: matrix<any>) -> E
matrix.reshape(id: matrix<any>, rows: series int, columns: series int) -> void
matrix.reverse(id: matrix<any>) -> void
matrix.swap_rows(id: matrix<any>, row1: series int, row2: series int) -> void
matrix.swap_columns(id: matrix<any>, column1: series int, column2: series int) -> void
matrix.is_square(id: matrix<any>) -> series bool
# ---------------------------------------------------------------- strategy
strategy.entry(id: series string, direction: series string, qty: series number = na, limit: series number = na, stop: series number = na, oca_name: series string = na, oca_type: input string = "none", comment: series string = na, alert_message: series string = na, disable_alert: series bool = false) -> void
strategy.order(id: series string, direction: series string, qty: series number = na, limit: series number = na, stop: series number = na, oca_name: series string = na, oca_type: input string = "none", comment: series string = na, alert_message: series string = na, disable_alert: series bool = false) -> void
strategy.exit(id: series string, from_entry: series string = "", qty: series number = na, qty_percent: series number = 100, profit: series number = na, limit: series number = na, loss: series number = na, stop: series number = na, trail_price: series number = na, trail_points: series number = na, trail_offset: series number = na, oca_name: series string = na, comment: series string = na, comment_profit: series string = na, comment_loss: series string = na, comment_trailing: series string = na, alert_message: series string = na, alert_profit: series string = na, alert_loss: series string = na, alert_trailing: series string = na, disable_alert: series bool = false) -> void
strategy.close(id: series string, comment: series string = na, qty: series number = na, qty_percent: series number = 100, alert_message: series string = na, immediately: series bool = false, disable_alert: series bool = false) -> void
strategy.close_all(comment: series string = na, alert_message: series string = na, immediately: series bool = false, disable_alert: series bool = false) -> void
strategy.cancel(id: series string) -> void
strategy.cancel_all() -> void
strategy.risk.allow_entry_in(value: simple string) -> void
strategy.risk.max_cons_loss_days(count: simple int, alert_message: simple string = na) -> void
strategy.risk.max_drawdown(value: simple number, type: simple string, alert_message: simple string = na) -> void
strategy.risk.max_intraday_filled_orders(count: simple int, alert_message: simple string = na) -> void
strategy.risk.max_intraday_loss(value: simple number, type: simple string, alert_message: simple string = na) -> void
strategy.risk.max_position_size(contracts: simple number) -> void
strategy.convert_to_account(value: series number) -> series float
strategy.convert_to_symbol(value: series number) -> series float
strategy.default_entry_qty(fill_price: series number) -> series float
strategy.closedtrades.entry_price(trade_num: series int) -> series float
strategy.closedtrades.entry_bar_index(trade_num: series int) -> series int
strategy.closedtrades.entry_time(trade_num: series int) -> series int
strategy.closedtrades.entry_id(trade_num: series int) -> series string
strategy.closedtrades.entry_comment(trade_num: series int) -> series string
strategy.closedtrades.exit_price(trade_num: series int) -> series float
strategy.closedtrades.exit_bar_index(trade_num: series int) -> series int
strategy.closedtrades.exit_time(trade_num: series int) -> series int
strategy.closedtrades.exit_id(trade_num: series int) -> series string
strategy.closedtrades.exit_comment(trade_num: series int) -> series string
strategy.closedtrades.profit(trade_num: series int) -> series float
strategy.closedtrades.profit_percent(trade_num: series int) -> series float
strategy.closedtrades.commission(trade_num: series int) -> series float
strategy.closedtrades.size(trade_num: series int) -> series float
strategy.closedtrades.max_runup(trade_num: series int) -> series float
strategy.closedtrades.max_runup_percent(trade_num: series int) -> series float
strategy.closedtrades.max_drawdown(trade_num: series int) -> series float
strategy.closedtrades.max_drawdown_percent(trade_num: series int) -> series float
strategy.opentrades.entry_price(trade_num: series int) -> series float
strategy.opentrades.entry_bar_index(trade_num: series int) -> series int
strategy.opentrades.entry_time(trade_num: series int) -> series int
strategy.opentrades.entry_id(trade_num: series int) -> series string
strategy.opentrades.entry_comment(trade_num: series int) -> series string
strategy.opentrades.profit(trade_num: series int) -> series float
strategy.opentrades.profit_percent(trade_num: series int) -> series float
strategy.opentrades.commission(trade_num: series int) -> series float
strategy.opentrades.size(trade_num: series int) -> series float
strategy.opentrades.max_runup(trade_num: series int) -> series float
strategy.opentrades.max_runup_percent(trade_num: series int) -> series float
strategy.opentrades.max_drawdown(trade_num: series int) -> series float
strategy.opentrades.max_drawdown_percent(trade_num: series int) -> series float
"""

# name -> (type, qualifier)
VARIABLES_SPEC = """
open high low close volume hl2 hlc3 ohlc4 hlcc4 : series float
time time_close time_tradingday timenow bar_index last_bar_index last_bar_time : series int
year month weekofyear dayofmonth dayofweek hour minute second : series int
ta.tr ta.obv ta.accdist ta.pvt ta.nvi ta.pvi ta.wad ta.wvad ta.iii ta.vwap : series float
barstate.isfirst barstate.islast barstate.ishistory barstate.isrealtime barstate.isnew barstate.isconfirmed barstate.islastconfirmedhistory : series bool
session.isfirstbar session.islastbar session.isfirstbar_regular session.islastbar_regular session.ismarket session.ispremarket session.ispostmarket : series bool
syminfo.ticker syminfo.tickerid syminfo.currency syminfo.basecurrency syminfo.type syminfo.timezone syminfo.session syminfo.description syminfo.root syminfo.prefix syminfo.volumetype syminfo.country syminfo.industry syminfo.sector syminfo.main_tickerid syminfo.isin syminfo.expiration_date : simple string
syminfo.mintick syminfo.pointvalue syminfo.minmove syminfo.pricescale syminfo.shares_outstanding_total syminfo.shares_outstanding_float syminfo.employees syminfo.shareholders syminfo.target_price_average syminfo.recommendations_total : simple float
timeframe.period timeframe.main_period : simple string
timeframe.multiplier : simple int
timeframe.isdaily timeframe.isweekly timeframe.ismonthly timeframe.isintraday timeframe.isminutes timeframe.isseconds timeframe.isdwm timeframe.isticks : simple bool
chart.bg_color chart.fg_color : input color
chart.is_standard chart.is_heikinashi chart.is_renko chart.is_kagi chart.is_linebreak chart.is_pnf chart.is_range : simple bool
chart.left_visible_bar_time chart.right_visible_bar_time : input int
strategy.position_size strategy.position_avg_price strategy.equity strategy.netprofit strategy.netprofit_percent strategy.grossprofit strategy.grossprofit_percent strategy.grossloss strategy.grossloss_percent strategy.openprofit strategy.openprofit_percent strategy.max_drawdown strategy.max_drawdown_percent strategy.max_runup strategy.max_runup_percent strategy.avg_trade strategy.avg_trade_percent strategy.avg_winning_trade strategy.avg_winning_trade_percent strategy.avg_losing_trade strategy.avg_losing_trade_percent strategy.margin_liquidation_price strategy.max_contracts_held_all strategy.max_contracts_held_long strategy.max_contracts_held_short strategy.opentrades.capital_held : series float
strategy.opentrades strategy.closedtrades strategy.wintrades strategy.losstrades strategy.eventrades strategy.closedtrades.first_index : series int
strategy.initial_capital : simple float
strategy.account_currency : simple string
strategy.position_entry_name : series string
"""

COLORS = {
    "aqua": "#00BCD4FF", "black": "#363A45FF", "blue": "#2196F3FF", "fuchsia": "#E040FBFF",
    "gray": "#787B86FF", "green": "#4CAF50FF", "lime": "#00E676FF", "maroon": "#880E4FFF",
    "navy": "#311B92FF", "olive": "#808000FF", "orange": "#FF9800FF", "purple": "#9C27B0FF",
    "red": "#F23645FF", "silver": "#B2B5BEFF", "teal": "#089981FF", "white": "#FFFFFFFF",
    "yellow": "#FDD835FF",
}  # fmt: skip

# Pine v6 changed these palette values (migration guide "Color changes"); v5 scripts keep the old ones.
V5_COLORS = {"color.red": "#FF5252FF", "color.teal": "#00897BFF", "color.yellow": "#FFEB3BFF"}

# Enum-like constants: namespace -> members; value is the member name unless mapped explicitly.
_CONST_NAMESPACES = {
    "shape": "xcross cross triangleup triangledown flag circle arrowup arrowdown labelup labeldown square diamond",
    "location": "abovebar belowbar top bottom absolute",
    "size": "auto tiny small normal large huge",
    "display": "none all data_window pane price_scale status_line",
    "position": "top_left top_center top_right middle_left middle_center middle_right bottom_left bottom_center bottom_right",
    "extend": "none left right both",
    "xloc": "bar_index bar_time",
    "yloc": "price abovebar belowbar",
    "format": "inherit price volume percent mintick",
    "plot": "style_line style_linebr style_stepline style_stepline_diamond style_steplinebr style_histogram style_cross style_area style_areabr style_columns style_circles linestyle_solid linestyle_dashed linestyle_dotted",
    "hline": "style_solid style_dotted style_dashed",
    "session": "regular extended",
    "barmerge": "gaps_on gaps_off lookahead_on lookahead_off",
    "order": "ascending descending",
    "alert": "freq_all freq_once_per_bar freq_once_per_bar_close",
    "scale": "right left none",
    "text": "align_left align_center align_right align_top align_bottom wrap_auto wrap_none format_bold format_italic format_none",
    "font": "family_default family_monospace",
    "adjustment": "none splits dividends",
    "backadjustment": "inherit on off",
    "settlement_as_close": "inherit on off",
    "dividends": "gross net future_amount future_ex_date future_pay_date",
    "earnings": "actual estimate standardized future_eps future_revenue future_time future_period_end_time",
    "splits": "denominator numerator",
    "label": "style_none style_xcross style_cross style_triangleup style_triangledown style_flag style_circle style_arrowup style_arrowdown style_label_up style_label_down style_label_left style_label_right style_label_lower_left style_label_lower_right style_label_upper_left style_label_upper_right style_label_center style_square style_diamond style_text_outline all",
    "line": "style_solid style_dotted style_dashed style_arrow_left style_arrow_right style_arrow_both all",
    "box": "all",
    "table": "all",
    "linefill": "all",
    "polyline": "all",
    "currency": "NONE USD EUR GBP JPY CHF CAD AUD NZD HKD SGD CNY INR KRW TRY ZAR RUB BRL MXN SEK NOK DKK PLN TWD THB MYR IDR PHP ILS SAR AED NGN PKR BTC ETH USDT USDC",
}

_EXPLICIT_CONSTANTS: dict[str, tuple[Any, str]] = {
    "strategy.long": ("long", "const string"),
    "strategy.short": ("short", "const string"),
    "strategy.fixed": ("fixed", "const string"),
    "strategy.cash": ("cash", "const string"),
    "strategy.percent_of_equity": ("percent_of_equity", "const string"),
    "strategy.commission.percent": ("percent", "const string"),
    "strategy.commission.cash_per_contract": ("cash_per_contract", "const string"),
    "strategy.commission.cash_per_order": ("cash_per_order", "const string"),
    "strategy.oca.none": ("none", "const string"),
    "strategy.oca.cancel": ("cancel", "const string"),
    "strategy.oca.reduce": ("reduce", "const string"),
    "strategy.direction.all": ("all", "const string"),
    "strategy.direction.long": ("long", "const string"),
    "strategy.direction.short": ("short", "const string"),
    "math.pi": (3.141592653589793, "const float"),
    "math.e": (2.718281828459045, "const float"),
    "math.phi": (1.618033988749895, "const float"),
    "math.rphi": (0.6180339887498949, "const float"),
    "dayofweek.sunday": (1, "const int"),
    "dayofweek.monday": (2, "const int"),
    "dayofweek.tuesday": (3, "const int"),
    "dayofweek.wednesday": (4, "const int"),
    "dayofweek.thursday": (5, "const int"),
    "dayofweek.friday": (6, "const int"),
    "dayofweek.saturday": (7, "const int"),
}

# ta.* functions without per-call-site history (no consistency warning in local scopes).
STATELESS_TA = frozenset({"ta.tr"})

# Namespaces whose functions create/modify chart drawings: accepted with any arguments, no-op at runtime.
DRAWING_NAMESPACES = frozenset({"label", "line", "box", "table", "linefill", "polyline", "chart.point"})
DRAWING_TYPES = frozenset({"label", "line", "box", "table", "linefill", "polyline", "chart.point"})

# Namespaces known to exist (used to say "unknown member of namespace X" rather than "undeclared").
NAMESPACES = frozenset(
    {
        "ta", "math", "str", "array", "map", "matrix", "strategy", "strategy.risk", "strategy.closedtrades",
        "strategy.opentrades", "strategy.commission", "strategy.oca", "strategy.direction", "barstate",
        "syminfo", "timeframe", "session", "request", "input", "color", "shape", "location", "size",
        "display", "position", "extend", "xloc", "yloc", "format", "plot", "hline", "barmerge", "currency",
        "order", "alert", "scale", "text", "font", "label", "line", "box", "table", "linefill", "polyline",
        "chart", "chart.point", "log", "runtime", "ticker", "dayofweek", "adjustment", "dividends",
        "earnings", "splits", "backadjustment", "settlement_as_close",
    }
)  # fmt: skip

OUTPUT_FUNCTIONS = frozenset(
    {"plot", "plotshape", "plotchar", "plotarrow", "plotcandle", "plotbar", "hline", "bgcolor", "barcolor", "fill"}
)
INPUT_FUNCTIONS = frozenset(
    {
        "input", "input.int", "input.float", "input.bool", "input.string", "input.text_area",
        "input.source", "input.timeframe", "input.symbol", "input.session", "input.price", "input.color",
        "input.time", "input.enum",
    }
)  # fmt: skip
UNSUPPORTED_FUNCTIONS = {
    "request.financial": "request.financial (fundamental data)",
    "request.economic": "request.economic (economic data)",
    "request.quandl": "request.quandl",
    "request.dividends": "request.dividends",
    "request.earnings": "request.earnings",
    "request.splits": "request.splits",
    "request.seed": "request.seed",
    "request.currency_rate": "request.currency_rate",
    "request.security_lower_tf": "request.security_lower_tf (intrabar data)",
    "request.footprint": "request.footprint",
}

# ---------------------------------------------------------------- parsing of the tables


def _split_top(text: str, sep: str = ",") -> list[str]:
    parts, depth, cur = [], 0, []
    in_str = False
    for ch in text:
        if ch == '"':
            in_str = not in_str
        elif not in_str and ch in "<[(":
            depth += 1
        elif not in_str and ch in ">])":
            depth -= 1
        if ch == sep and depth == 0 and not in_str:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def _default_value(text: str) -> Any:
    text = text.strip()
    if text == "na":
        return None
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"'):
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        return float(text)


_SIG_RE = re.compile(r"^([\w.]+)\((.*)\)\s*->\s*(.+)$")


def _parse_sig(line: str) -> FuncSig:
    m = _SIG_RE.match(line)
    if m is None:  # pragma: no cover - table typo
        raise ValueError(f"bad signature: {line}")
    name, params_text, ret = m.groups()
    params = []
    for p in _split_top(params_text):
        variadic = p.startswith("*")
        p = p.lstrip("*")
        pname, rest = p.split(":", 1)
        default_text = None
        if "=" in rest:
            rest, default_text = rest.split("=", 1)
        ty = rest.strip()
        words = ty.split(" ", 1)
        qualifier = words[0] if len(words) == 2 and words[0] in ("const", "input", "simple", "series") else None
        base = words[1] if qualifier else ty
        params.append(
            ParamSig(
                pname.strip(),
                ty,
                qualifier,
                base,
                _default_value(default_text) if default_text is not None else None,
                default_text is None and not variadic,
                variadic,
            )
        )
    return FuncSig(name, tuple(params), ret.strip())


def _load() -> tuple[dict[str, list[FuncSig]], dict[str, tuple[str, str]], dict[str, tuple[Any, str]]]:
    funcs: dict[str, list[FuncSig]] = {}
    for raw in SIGNATURES.splitlines():
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        sig = _parse_sig(raw)
        funcs.setdefault(sig.name, []).append(sig)
    variables: dict[str, tuple[str, str]] = {}
    for raw in VARIABLES_SPEC.strip().splitlines():
        names, ty = raw.split(":")
        qual, base = ty.strip().split(" ")
        for n in names.split():
            variables[n] = (base, qual)
    constants: dict[str, tuple[Any, str]] = dict(_EXPLICIT_CONSTANTS)
    for cname, value in COLORS.items():
        constants[f"color.{cname}"] = (value, "const color")
    for ns, members in _CONST_NAMESPACES.items():
        for member in members.split():
            if member == "all" and ns in DRAWING_NAMESPACES:
                constants[f"{ns}.all"] = (f"{ns}.all", "series any")
                continue
            constants.setdefault(f"{ns}.{member}", (member, "const string"))
    constants["currency.NONE"] = ("NONE", "const string")
    return funcs, variables, constants


FUNCTIONS, VARIABLES, CONSTANTS = _load()

# Built-ins that are both a variable and a function (``ta.tr`` vs ``ta.tr(true)``).
DUAL = frozenset(n for n in VARIABLES if n in FUNCTIONS)


def lookup_function(name: str) -> list[FuncSig] | None:
    return FUNCTIONS.get(name)


def is_drawing_call(name: str) -> bool:
    ns = name.rsplit(".", 1)[0] if "." in name else ""
    return ns in DRAWING_NAMESPACES


def all_builtin_names() -> set[str]:
    return set(FUNCTIONS) | set(VARIABLES) | set(CONSTANTS)
