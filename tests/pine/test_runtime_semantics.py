"""Series semantics of the Pine evaluator: history, var, na rules, int/float, loops, functions, objects."""

from __future__ import annotations

import math
import time

import pytest

from strategies.pine.runtime.errors import PineRuntimeError
from tests.pine.runtime_helpers import crafted_bars, header, plotted, run

CLOSES = [float(k) for k in range(1, 21)]


def test_history_reference_reads_previous_bars_and_na_before_history() -> None:
    src = header() + "x = close * 10\nplot(x[2], 'h')\nplot(close[1], 'c1')\n"
    assert plotted(src, "h")[:5] == [None, None, 10.0, 20.0, 30.0]
    assert plotted(src, "c1")[:3] == [None, 1.0, 2.0]


def test_history_of_expression_and_function_result() -> None:
    src = header() + "plot((close + open)[1], 'e')\nf() => close * 2\nplot(f()[1], 'f')\n"
    assert plotted(src, "e")[:4] == [None, 2.0, 3.0, 5.0]
    assert plotted(src, "f")[:3] == [None, 2.0, 4.0]


def test_var_initialises_once_and_plain_declaration_every_bar() -> None:
    src = header() + "var total = 0\ntotal += 1\nfresh = 0\nfresh += 1\nplot(total, 't')\nplot(fresh, 'f')\n"
    assert plotted(src, "t")[:4] == [1, 2, 3, 4]
    assert plotted(src, "f")[:4] == [1, 1, 1, 1]


def test_history_of_reassigned_variable_is_end_of_bar_value() -> None:
    src = header() + "var x = 0.0\nprev = x[1]\nx := close\nplot(prev, 'p')\n"
    assert plotted(src, "p")[:4] == [None, 1.0, 2.0, 3.0]


def test_arithmetic_with_na_is_na_and_comparison_with_na_is_false() -> None:
    src = header() + (
        "a = close[3] + 1\nplot(a, 'a')\n"
        "plot(close[3] > 0 ? 1 : 0, 'gt')\nplot(close[3] < 0 ? 1 : 0, 'lt')\n"
        "plot(na(close[3]) ? 1 : 0, 'isna')\nplot(nz(close[3]), 'nz')\nplot(nz(close[3], -1), 'nz1')\n")
    assert plotted(src, "a")[:4] == [None, None, None, 2.0]
    assert plotted(src, "gt")[:4] == [0, 0, 0, 1]
    assert plotted(src, "lt")[:4] == [0, 0, 0, 0]
    assert plotted(src, "isna")[:4] == [1, 1, 1, 0]
    assert plotted(src, "nz")[:4] == [0.0, 0.0, 0.0, 1.0]
    assert plotted(src, "nz1")[:4] == [-1.0, -1.0, -1.0, 1.0]


def test_fixnan_carries_last_non_na_value() -> None:
    src = header() + "x = bar_index % 2 == 0 ? close : na\nplot(fixnan(x), 'f')\n"
    assert plotted(src, "f")[:5] == [1.0, 1.0, 3.0, 3.0, 5.0]


def test_v6_int_division_is_fractional_and_modulo_keeps_dividend_sign() -> None:
    src = header() + "plot(7 / 2, 'd')\nplot(-7 % 3, 'm')\nplot(7 % -3, 'm2')\nplot(int(-7.9), 'i')\n"
    assert plotted(src, "d")[0] == 3.5
    assert plotted(src, "m")[0] == -1
    assert plotted(src, "m2")[0] == 1
    assert plotted(src, "i")[0] == -7


def test_v5_const_int_division_truncates() -> None:
    src = '//@version=5\nindicator("t")\nplot(7 / 2, "d")\n'
    assert plotted(src, "d")[0] == 3


def test_division_by_zero_is_na() -> None:
    src = header() + "plot(close / (close - close), 'z')\n"
    assert plotted(src, "z")[0] is None


def test_for_loop_with_step_and_break_continue() -> None:
    src = header() + """
s = 0
for i = 0 to 10 by 2
    if i == 4
        continue
    if i == 8
        break
    s += i
plot(s, 's')
down = 0
for j = 3 to 1
    down := down * 10 + j
plot(down, 'down')
"""
    assert plotted(src, "s")[0] == 0 + 2 + 6
    assert plotted(src, "down")[0] == 321


def test_while_and_for_in_over_array() -> None:
    src = header() + """
n = 0
k = 10
while k > 0
    k -= 3
    n += 1
plot(n, 'n')
a = array.from(1.0, 2.0, 3.5)
t = 0.0
for v in a
    t += v
plot(t, 't')
idx = 0
for [i, v] in a
    idx += i
plot(idx, 'idx')
"""
    assert plotted(src, "n")[0] == 4
    assert plotted(src, "t")[0] == 6.5
    assert plotted(src, "idx")[0] == 3


def test_loop_used_as_expression_returns_last_iteration_value() -> None:
    src = header() + "r = for i = 1 to 3\n    i * 10\nplot(r, 'r')\n"
    assert plotted(src, "r")[0] == 30


def test_each_call_site_of_a_function_has_its_own_var_state() -> None:
    src = header() + """
count() =>
    var n = 0
    n += 1
    n
a = count()
b = bar_index % 2 == 0 ? count() : -1
plot(a, 'a')
plot(b, 'b')
"""
    assert plotted(src, "a")[:4] == [1, 2, 3, 4]
    assert plotted(src, "b")[:5] == [1, -1, 2, -1, 3]


def test_each_call_site_of_a_function_has_its_own_series_history_and_ta_state() -> None:
    src = header() + """
prev(x) => x[1]
avg(x) => ta.sma(x, 2)
plot(prev(close), 'p1')
plot(prev(close * 100), 'p2')
plot(avg(close), 's1')
plot(avg(open), 's2')
"""
    assert plotted(src, "p1")[:3] == [None, 1.0, 2.0]
    assert plotted(src, "p2")[:3] == [None, 100.0, 200.0]
    assert plotted(src, "s1")[:3] == [None, 1.5, 2.5]
    assert plotted(src, "s2")[:3] == [None, 1.0, 1.5]


def test_ta_call_in_conditional_block_only_updates_when_executed() -> None:
    src = header() + "v = 0.0\nif bar_index % 2 == 0\n    v := ta.sma(close, 2)\nplot(v, 'v')\n"
    # executed on bars 0,2,4 with closes 1,3,5: sma over the last two executions
    assert plotted(src, "v")[:5] == [None, 0.0, 2.0, 0.0, 4.0]


def test_tuple_returning_function_and_tuple_destructuring() -> None:
    src = header() + "f(x) => [x, x * 2]\n[a, b] = f(close)\nplot(a + b, 's')\n[m, s, h] = ta.macd(close, 3, 5, 2)\nplot(h, 'h')\n"
    assert plotted(src, "s")[:2] == [3.0, 6.0]
    h = plotted(src, "h")
    assert h[0] is None and h[-1] is not None


def test_switch_with_and_without_subject_as_expression() -> None:
    src = header() + """
m = bar_index % 3
s = switch m
    0 => "zero"
    1 => "one"
    => "other"
plot(s == "one" ? 1 : 0, 'one')
v = switch
    close > 10 => 2
    close > 5 => 1
    => 0
plot(v, 'v')
"""
    assert plotted(src, "one")[:4] == [0, 1, 0, 0]
    v = plotted(src, "v")
    assert v[0] == 0 and v[6] == 1 and v[12] == 2


def test_if_as_expression_with_missing_branch_is_na() -> None:
    src = header() + "x = if close > 2\n    close\nplot(x, 'x')\n"
    assert plotted(src, "x")[:3] == [None, None, 3.0]


def test_udt_new_copy_and_field_assignment() -> None:
    src = header() + """
type Pt
    float x = 1.5
    int n = 0
p = Pt.new()
q = Pt.new(10.0, 3)
c = q.copy()
c.x := 99.0
q.n += 1
plot(p.x, 'px')
plot(q.x, 'qx')
plot(c.x, 'cx')
plot(q.n, 'qn')
"""
    assert plotted(src, "px")[0] == 1.5
    assert plotted(src, "qx")[0] == 10.0
    assert plotted(src, "cx")[0] == 99.0
    assert plotted(src, "qn")[0] == 4


def test_var_udt_keeps_state_across_bars_and_methods_work() -> None:
    src = header() + """
type Acc
    float total = 0.0
    int count = 0
method add(Acc a, float v) =>
    a.total += v
    a.count += 1
    a
var acc = Acc.new()
acc.add(close)
plot(acc.total / acc.count, 'mean')
"""
    assert plotted(src, "mean")[:3] == [1.0, 1.5, 2.0]


def test_array_map_matrix_builtins() -> None:
    src = header() + """
var a = array.new_float(0)
a.push(close)
if a.size() > 3
    a.shift()
plot(a.sum(), 'sum')
plot(array.get(a, -1), 'last')
m = map.new<string, float>()
m.put("k", close)
m.put("k", m.get("k") + 1)
plot(m.get("k"), 'map')
plot(m.size(), 'msize')
mx = matrix.new<float>(2, 2, 0.0)
mx.set(1, 1, close)
plot(mx.get(1, 1) + mx.rows(), 'mx')
"""
    assert plotted(src, "sum")[:5] == [1.0, 3.0, 6.0, 9.0, 12.0]
    assert plotted(src, "last")[:2] == [1.0, 2.0]
    assert plotted(src, "map")[:2] == [2.0, 3.0]
    assert plotted(src, "msize")[0] == 1
    assert plotted(src, "mx")[0] == 3.0


def test_array_index_out_of_bounds_is_a_located_runtime_error() -> None:
    src = header() + "a = array.new_float(2)\nv = array.get(a, 5)\nplot(v)\n"
    with pytest.raises(PineRuntimeError) as exc:
        run(src)
    assert str(exc.value).startswith("4:5:")
    assert "out of bounds" in str(exc.value)


def test_array_size_guard_stops_runaway_growth() -> None:
    src = header() + "var a = array.new_float(0)\nfor i = 0 to 200000\n    a.push(i)\nplot(a.size())\n"
    with pytest.raises(PineRuntimeError, match="100000"):
        run(src)


def test_runaway_while_loop_stops_with_error_in_bounded_time() -> None:
    src = header() + "x = 0\nwhile true\n    x += 1\nplot(x)\n"
    start = time.perf_counter()
    with pytest.raises(PineRuntimeError) as exc:
        run(src)
    assert time.perf_counter() - start < 20
    assert exc.value.line == 4 and exc.value.col == 1
    assert "loop" in exc.value.message


def test_dynamic_history_beyond_max_bars_back_is_a_runtime_error() -> None:
    src = '//@version=6\nindicator("t", max_bars_back=10)\nx = close\nplot(x[bar_index], "v")\n'
    with pytest.raises(PineRuntimeError) as exc:
        run(src, crafted_bars([float(k) for k in range(30)]))
    assert exc.value.line == 4
    assert "max_bars_back" in exc.value.message


def test_dynamic_history_within_buffer_reads_back() -> None:
    src = header() + "x = close\nplot(x[bar_index], 'first')\nplot(close[bar_index], 'c')\n"
    assert plotted(src, "first")[:4] == [1.0, 1.0, 1.0, 1.0]
    assert plotted(src, "c")[:4] == [1.0, 1.0, 1.0, 1.0]


def test_runtime_error_builtin_reports_location() -> None:
    src = header() + "if bar_index == 3\n    runtime.error('boom')\nplot(close)\n"
    with pytest.raises(PineRuntimeError) as exc:
        run(src)
    assert str(exc.value) == "4:5: boom"


def test_string_functions_and_formatting() -> None:
    src = header() + """
s = str.format("{0}-{1}", "a", 2)
plot(str.length(s), 'len')
plot(str.contains(str.upper("abc"), "BC") ? 1 : 0, 'contains')
plot(str.tonumber("12.5"), 'num')
plot(str.length(str.tostring(1.25, "#.#")), 'fmt')
parts = str.split("a,b,c", ",")
plot(array.size(parts), 'split')
"""
    assert plotted(src, "len")[0] == 3
    assert plotted(src, "contains")[0] == 1
    assert plotted(src, "num")[0] == 12.5
    assert plotted(src, "fmt")[0] == 3
    assert plotted(src, "split")[0] == 3


def test_math_functions() -> None:
    src = header() + (
        "plot(math.max(1, 5, 3), 'max')\nplot(math.round(2.5), 'r')\nplot(math.round(1.23456, 2), 'r2')\n"
        "plot(math.abs(-3), 'abs')\nplot(math.sum(close, 3), 'sum')\nplot(math.pow(2, 10), 'pow')\n")
    assert plotted(src, "max")[0] == 5
    assert plotted(src, "r")[0] == 3
    assert plotted(src, "r2")[0] == 1.23
    assert plotted(src, "abs")[0] == 3
    assert plotted(src, "sum")[:4] == [None, None, 6.0, 9.0]
    assert plotted(src, "pow")[0] == 1024.0


def test_enum_values_compare_and_convert_to_title() -> None:
    src = header() + """
enum Side
    buy = "Buy"
    sell = "Sell"
s = close > 10 ? Side.sell : Side.buy
plot(s == Side.sell ? 1 : 0, 'sell')
plot(str.length(str.tostring(s)), 'len')
"""
    assert plotted(src, "sell")[:11] == [0] * 10 + [1]
    assert plotted(src, "len")[0] == 3


def test_barstate_and_bar_index_and_last_bar_index() -> None:
    src = header() + (
        "plot(barstate.isfirst ? 1 : 0, 'first')\nplot(barstate.islast ? 1 : 0, 'last')\n"
        "plot(last_bar_index, 'lbi')\nplot(bar_index, 'bi')\n")
    assert plotted(src, "first")[:2] == [1, 0]
    assert plotted(src, "last")[-2:] == [0, 1]
    assert plotted(src, "lbi")[0] == 19
    assert plotted(src, "bi")[:3] == [0, 1, 2]


def test_inputs_are_overridable_by_name_and_title() -> None:
    src = header() + "len = input.int(3, 'Length')\nsrc = input.source(close, 'Source')\nplot(ta.sma(src, len), 's')\n"
    assert plotted(src, "s")[:3] == [None, None, 2.0]
    assert plotted(src, "s", inputs={"len": 2})[:2] == [None, 1.5]
    assert plotted(src, "s", inputs={"Length": 2, "Source": "open"})[:3] == [None, 1.0, 1.5]


def test_vectorized_and_streaming_ta_give_identical_results() -> None:
    src = header() + """
fast = ta.ema(close, 5)
slow = ta.sma(close, 12)
r = ta.rsi(close, 7)
[mid, up, lo] = ta.bb(close, 10, 2)
st = ta.stdev(close - open, 6)
plot(fast - slow, 'd')
plot(r, 'r')
plot(up - lo, 'w')
plot(st, 'st')
plot(ta.highest(high, 4) - ta.lowest(4), 'hl')
plot(ta.crossover(fast, slow) ? 1 : 0, 'x')
"""
    import numpy as np

    rng = np.random.default_rng(3)
    bars = crafted_bars((100 + np.cumsum(rng.normal(0, 1, 300))).tolist(), spread=0.5)
    a = run(src, bars, vectorize=True).plots
    b = run(src, bars, vectorize=False).plots
    for title in a:
        x, y = a[title], b[title]
        assert np.allclose(np.nan_to_num(x, nan=-1e9), np.nan_to_num(y, nan=-1e9), rtol=1e-12, atol=1e-9), title


def test_alerts_are_recorded_with_message_and_frequency() -> None:
    src = header() + (
        "if close % 5 == 0\n    alert('five ' + str.tostring(close), alert.freq_once_per_bar_close)\n"
        "alertcondition(close > 18, 'big', 'close is {{close}}')\nplot(close)\n")
    res = run(src)
    alerts = [a for a in res.alerts if a["kind"] == "alert"]
    assert [a["message"] for a in alerts] == ["five 5", "five 10", "five 15", "five 20"]
    assert alerts[0]["freq"] == "once_per_bar_close"
    conds = [a for a in res.alerts if a["kind"] == "alertcondition"]
    assert [a["bar_index"] for a in conds] == [18, 19]
    assert conds[0]["message"] == "close is 19"


def test_strategy_position_size_is_visible_to_the_script() -> None:
    src = header("strategy") + (
        "if bar_index == 2\n    strategy.entry('L', strategy.long, qty=3)\n"
        "plot(strategy.position_size, 'pos')\nplot(strategy.position_size[1], 'prev')\n")
    pos = plotted(src, "pos")
    assert pos[:5] == [0.0, 0.0, 0.0, 3.0, 3.0]
    assert plotted(src, "prev")[:5] == [None, 0.0, 0.0, 0.0, 3.0]


def test_plot_values_are_per_bar_and_na_is_nan() -> None:
    res = run(header() + "plot(bar_index > 1 ? close : na, 'p')\n")
    assert math.isnan(res.plots["p"][0]) and res.plots["p"][2] == 3.0


def test_wall_clock_budget_stops_a_slow_script_at_the_loop() -> None:
    from strategies.pine.runtime.evaluator import Limits

    src = header() + "x = 0\nfor i = 0 to 900000\n    x += 1\nplot(x)\n"
    start = time.perf_counter()
    with pytest.raises(PineRuntimeError, match="run time budget") as exc:
        run(src, limits=Limits(wall_clock_budget_s=0.5))
    assert time.perf_counter() - start < 10
    assert (exc.value.line, exc.value.col) == (4, 1)


def test_method_on_untyped_parameter_dispatches_on_the_runtime_type() -> None:
    src = header() + """
first(c) => c.get(0)
a = array.from(7.0, 8.0)
m = map.new<int, float>()
m.put(0, 42.0)
plot(first(a), 'a')
plot(first(m), 'm')
"""
    assert plotted(src, "a")[0] == 7.0
    assert plotted(src, "m")[0] == 42.0


def test_exponential_call_site_expansion_is_refused_quickly() -> None:
    lines = ["f0(x) => x + 1"]
    for k in range(1, 14):
        lines.append(f"f{k}(x) => f{k - 1}(x) + f{k - 1}(x) + f{k - 1}(x)")
    src = header() + "\n".join(lines) + "\nplot(f13(close))\n"
    start = time.perf_counter()
    with pytest.raises(PineRuntimeError, match="too complex"):
        run(src)
    assert time.perf_counter() - start < 30


def test_break_and_continue_as_last_statement_of_loop_body() -> None:
    src = header() + """
n = 0
for i = 0 to 10
    n += 1
    if i == 3
        break
plot(n, 'n')
m = 0
for i = 0 to 10
    if i % 2 == 0
        continue
    m += 1
plot(m, 'm')
k = 0
while true
    k += 1
    if k >= 5
        break
plot(k, 'k')
"""
    assert plotted(src, "n")[0] == 4
    assert plotted(src, "m")[0] == 5
    assert plotted(src, "k")[0] == 5


def test_matrix_linear_algebra() -> None:
    src = header() + """
m = matrix.new<float>(2, 2, 0.0)
m.set(0, 0, 4.0)
m.set(0, 1, 7.0)
m.set(1, 0, 2.0)
m.set(1, 1, 6.0)
inv = m.inv()
p = m.mult(inv)
plot(m.det(), 'det')
plot(p.get(0, 0) + p.get(1, 1), 'tr')
plot(m.trace(), 'trace')
m.reshape(1, 4)
plot(m.columns(), 'cols')
"""
    assert plotted(src, "det")[0] == pytest.approx(10.0)
    assert plotted(src, "tr")[0] == pytest.approx(2.0)
    assert plotted(src, "trace")[0] == 10.0
    assert plotted(src, "cols")[0] == 4


def test_and_or_are_lazy_in_v6_and_strict_in_v5() -> None:
    body = 'indicator("t")\nk = bar_index % 2 == 0 and ta.cum(1) == 3\nplot(k ? 1 : 0, "k")\n'
    # v6 short-circuits: ta.cum runs on even bars only (1, 2, 3 at bars 0, 2, 4)
    assert plotted("//@version=6\n" + body, "k")[:6] == [0, 0, 0, 0, 1, 0]
    # v5 evaluates both operands on every bar: ta.cum is 3 at bar 2
    assert plotted("//@version=5\n" + body, "k")[:6] == [0, 0, 1, 0, 0, 0]
