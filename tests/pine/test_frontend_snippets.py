"""Valid Pine constructs that must compile without errors (guards against false positives)."""

from __future__ import annotations

import pytest

from strategies.pine import compile_source

H = '//@version=6\nindicator("x", overlay=true)\n'
S = '//@version=6\nstrategy("x", overlay=true)\n'
VALID = {
"na_compare": H+"x = close\nb = x == na\nplot(close)\n",
"int_to_float_var": H+"var float acc = 0\nacc += 1\nplot(acc)\n",
"float_decl_int_literal": H+"float f = 0\nf := f + 1\nplot(f)\n",
"int_var_reassign_int": H+"c = 0\nc := c + 1\nplot(c)\n",
"bool_from_na_v5": '//@version=5\nindicator("x")\nb = false\nb := na(b[1]) ? false : b[1]\nplot(close)\n',
"ternary_na_branch": H+"x = close > open ? close : na\nplot(x)\n",
"color_ternary_na": H+"c = close > open ? color.green : na\nplot(close, color=c)\n",
"plot_offset_neg": H+"plot(close, offset=-5)\n",
"string_in_switch": H+'s = syminfo.type\nv = switch s\n    "forex" => 1\n    "crypto" => 2\n    => 0\nplot(v)\n',
"array_of_udt": H+"type T\n    float v\nvar arr = array.new<T>()\narr.push(T.new(close))\nx = arr.get(0).v\nplot(x)\n",
"input_in_ternary": H+'m = input.string("A", options=["A","B"])\nlen = m == "A" ? 10 : 20\nplot(ta.sma(close, len))\n',
"ta_ema_input_ternary": H+'m = input.string("A", options=["A","B"])\nlen = m == "A" ? 10 : 20\nplot(ta.ema(close, len))\n',
"math_round_len": H+'l = input.float(10.0)\nplot(ta.sma(close, math.round(l)))\n',
"int_cast_len": H+'l = input.float(10.0)\nplot(ta.ema(close, int(l)))\n',
"ta_highest_int_len_from_div": H+'l = input.int(10)\nplot(ta.highest(high, l / 2))\n',
"str_tostring_int": H+"s = str.tostring(bar_index)\nplot(close)\n",
"barstate_cond": H+"if barstate.islast\n    label.new(bar_index, high, 'x')\nplot(close)\n",
"time_input": H+'t = input.time(timestamp("2020-01-01"), "From")\nplot(time > t ? 1 : 0)\n',
"request_tuple": H+'[o, c] = request.security(syminfo.tickerid, "D", [open, close])\nplot(c - o)\n',
"security_udf": H+'f() => ta.sma(close, 5)\nx = request.security(syminfo.tickerid, "D", f())\nplot(x)\n',
"max_bars_back": H+"x = close\nmax_bars_back(x, 500)\nplot(x[400])\n",
"strategy_vars": S+"plot(strategy.position_size)\nplot(strategy.closedtrades)\n",
"array_new_float_loop": H+"a = array.new_float()\nfor i = 0 to 9\n    a.push(close[i])\nplot(a.avg())\n",
"for_float_bounds": H+"s = 0.0\nfor i = 0.0 to 1.0 by 0.25\n    s += i\nplot(s)\n",
"switch_no_default_expr": H+"x = switch\n    close > open => 1\nplot(x)\n",
"bool_input_cond": H+"b = input(true)\nif b\n    x = 1\nplot(close)\n",
"method_on_float": H+"method twice(float x) => x * 2\nplot(close.twice())\n",
"nested_udt": H+"type A\n    float v = 1.0\ntype B\n    A a\nb = B.new(A.new())\nplot(b.a.v)\n",
"udt_field_array": H+"type B\n    array<float> xs\nb = B.new(array.new<float>())\nb.xs.push(1)\nplot(b.xs.size())\n",
"hline_in_fill": H+"h1 = hline(1)\nh2 = hline(2)\nfill(h1, h2, color=color.new(color.blue, 90))\n",
"plot_returns_in_fill": H+"p1 = plot(open)\np2 = plot(close)\nfill(p1, p2)\n",
"input_color": H+"c = input.color(#FF0000)\nplot(close, color=c)\n",
"matrix_ops": H+"m = matrix.new<float>(2,2,1.0)\nm2 = matrix.mult(m, m)\nplot(m.get(0,0))\n",
"map_iteration_keys": H+"m = map.new<string, float>()\nfor k in m.keys()\n    x = m.get(k)\nplot(close)\n",
"alertcond": H+'alertcondition(close > open, "Up", "Price up")\nplot(close)\n',
"timeframe_in_seconds": H+"s = timeframe.in_seconds()\nplot(s)\n",
"str_format_many": H+'s = str.format("{0} {1} {2}", 1, "a", close)\nplot(close)\n',
"int_division_v6_into_int_var": H+"int a = 5\nint b = 2\nc = a / b\nplot(c)\n",
"math_max_int_float": H+"x = math.max(1, close)\nplot(x)\n",
"negative_history_lit": H+"plot(close[0])\n",
"na_function_on_int": H+"x = bar_index\nplot(na(x) ? 0 : 1)\n",
"not_na": H+"p = ta.pivothigh(2,2)\nif not na(p)\n    label.new(bar_index, p, 'p')\nplot(close)\n",
"export_const_in_library": '//@version=6\nlibrary("L")\nexport f(float x) => x\n',
"enum_in_map": H+"enum E\n    a\n    b\nm = map.new<E, float>()\nm.put(E.a, 1.0)\nplot(m.get(E.a))\n",
"chart_point": H+"p = chart.point.now(close)\nplot(close)\n",
"polyline": H+"pts = array.new<chart.point>()\npolyline.new(pts)\nplot(close)\n",
"linefill": H+"l1 = line.new(0, 0, 1, 1)\nl2 = line.new(0, 1, 1, 2)\nlinefill.new(l1, l2, color.red)\nplot(close)\n",
"table_cells": H+"var t = table.new(position.top_right, 1, 1)\ntable.cell(t, 0, 0, 'a')\nplot(close)\n",
"var_label_delete": H+"var label lb = na\nlabel.delete(lb)\nlb := label.new(bar_index, close, 'x')\nplot(close)\n",
"ta_change_bool": H+"b = close > open\nc = ta.change(b)\nplot(c ? 1 : 0)\n",
"ta_valuewhen_bool": H+"v = ta.valuewhen(close > open, close, 1)\nplot(v)\n",
"series_str_cond": S+"id = close > open ? 'L' : 'S'\nstrategy.entry(id, close > open ? strategy.long : strategy.short)\n",
"qty_percent_exit": S+"strategy.exit('x', qty_percent=50, profit=10, loss=10)\n",
"process_when_v6_error": S+"strategy.entry('L', strategy.long)\n",
"tuple_return_if": H+"f(x) =>\n    if x > 0\n        [x, -x]\n    else\n        [-x, x]\n[a, b] = f(close)\nplot(a)\n",
"switch_tuple": H+"[a, b] = switch\n    close > open => [1, 2]\n    => [3, 4]\nplot(a)\n",
"var_tuple_none": H+"x = close\nplot(x, 'x', color.red, 2, plot.style_line)\n",
"dayofweek_fn": H+"d = dayofweek(time)\nplot(d == dayofweek.monday ? 1 : 0)\n",
"timestamp_tz": H+"t = timestamp('UTC', 2020, 1, 1, 0, 0)\nplot(time > t ? 1 : 0)\n",
"str_split_loop": H+"for s in str.split('a,b', ',')\n    x = s\nplot(close)\n",
"color_funcs": H+"c = color.rgb(1,2,3)\nr = color.r(c)\nplot(r)\n",
"ternary_int_float": H+"x = close > open ? 1 : 1.5\nplot(x)\n",
"if_int_float_branches": H+"x = if close > open\n    1\nelse\n    2.5\nplot(x)\n",
"int_assign_na_then_float_v5": '//@version=5\nindicator("x")\nx = 0\nx := int(close)\nplot(x)\n',
"len_from_ternary_input_ema": H+"fast = input.bool(true)\nl = fast ? 5 : 20\nplot(ta.rsi(close, l))\n",
"user_fn_input_len_to_ema": H+"f(src, len) => ta.ema(src, len)\nl = input.int(5)\nplot(f(close, l) + f(open, 3))\n",
"if_statement_branches_of_different_types": H+'x = 0\ns = ""\nif close > open\n    x := 1\nelse\n    s := "a"\nswitch\n    close > open => x := 2\n    => s := "b"\nplot(close)\n',
"typed_na_casts": H+"type P\n    float x\nf(c) =>\n    c ? [line(na), bool(na)] : [line(na), false]\n[l, b] = f(close > open)\np = P(na)\nlb = label(na)\nplot(close)\n",
"v5_mutable_var_length_accepted": '//@version=5\nindicator("x")\nvar n = 1\nn += 1\nplot(ta.ema(close, n))\n',
"v5_na_of_bool_and_transp": '//@version=5\nindicator("x")\nc = close > open\nbgcolor(na(c) ? color.red : na, transp=50)\n',
"v5_history_of_literal_and_field": '//@version=5\nindicator("x")\ntype P\n    float x = 0.0\np = P.new()\nplot(p.x[1] + 6[1])\n',
"v6_history_of_udt_object_then_field": H+"type P\n    float x = 0.0\np = P.new()\nplot((p[1]).x)\n",
"v6_unmodified_var_is_const": H+"var n = 14\nx = input.int(n)\nplot(ta.ema(close, n))\n",
"v5_duplicate_argument_and_series_offset": '//@version=5\nindicator("x")\nplot(close, color=color.blue, color=color.red, offset=bar_index % 3, linewidth=0)\n',
"variables_named_like_namespaces": H+"f(color, extend) =>\n    c = color.new(color, 50)\n    line.new(0, 0, 1, 1, extend=extend, color=c)\nstring timeframe = timeframe.period\nx = timeframe.isintraday\nl = f(color.red, extend.right)\nplot(close)\n",
"untyped_param_through_math_to_simple_length": H+"EHMA(src, len) =>\n    ta.ema(2 * ta.ema(src, len / 2) - ta.ema(src, len), math.round(math.sqrt(len)))\nl = input.int(20)\nplot(EHMA(close, l))\n",
"const_qualified_parameter": H+"f(float src, const int n) =>\n    max_bars_back(src, n)\n    src[n]\nplot(f(close, 50))\n",
"user_fn_series_len_to_sma": H+"f(len) => ta.sma(close, len)\nplot(f(bar_index % 10 + 1))\n",
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_snippet_compiles_without_errors(name):
    result = compile_source(VALID[name])
    assert [d.format() for d in result.diagnostics if d.severity == "error"] == []


INVALID = {
    "string_as_color": (H + 'plot(close, color="red")\n', "a 'series color' is expected"),
    "numeric_condition_v6": (H + "if bar_index\n    x = 1\nplot(close)\n", "does not convert numbers to 'bool'"),
    "float_length_literal": (H + "plot(ta.sma(close, 10.5))\n", "a 'series int' is expected"),
    "int_var_gets_series_float": (H + "x = 0\nx := close\nplot(x)\n", "declared with the 'int' type"),
    "series_length_to_simple": (H + "plot(ta.rsi(close, bar_index + 1))\n", "a 'simple int' is expected"),
    "tuple_to_single_var": (H + "x = ta.macd(close, 12, 26, 9)\nplot(close)\n", "tuple declaration"),
    "tuple_size_mismatch": (H + "[a, b] = ta.macd(close, 12, 26, 9)\nplot(a)\n", "3 values but 2 variables"),
    "bool_arithmetic": (H + "x = (close > open) + 1\nplot(x)\n", "Operator '+' cannot be applied"),
    "mixed_branch_types": (H + 'x = close > open ? "a" : 1\nplot(close)\n', "different types"),
    "if_expression_branch_types": (H + 'x = if close > open\n    "a"\nelse\n    1\nplot(close)\n', "different types"),
    "history_of_void": (H + "x = strategy.cancel_all()[1]\nplot(close)\n", "void"),
    "negative_history": (H + "plot(close[-1])\n", "non-negative"),
    "string_history_offset": (H + 'plot(close["1"])\n', "must be an integer"),
    "function_in_local_scope": (H + "if close > open\n    f(x) => x\nplot(close)\n", "global scope"),
    "iterate_number": (H + "for x in close\n    y = x\nplot(close)\n", "Cannot iterate"),
    "input_default_out_of_range": (H + "x = input.int(0, minval=1)\nplot(close)\n", "less than minval"),
    "series_arg_to_simple_param_through_function": (
        H + "f(src, len) => ta.ema(src, len)\nplot(f(close, bar_index))\n",
        "it is passed to 'ta.ema' as 'length'",
    ),
    "series_arg_through_local_and_nested_function": (
        H + "f(len) => ta.rsi(close, len)\ng(n) =>\n    m = n * 2\n    f(m)\nplot(g(bar_index))\n",
        "it is passed to 'ta.rsi' as 'length'",
    ),
    "function_redefined": (H + "f(x) => x\nf(y) => y\nplot(close)\n", "already defined with the same parameter types"),
    "v6_mutable_variable_is_series": (
        H + "var n = 1\nn += 1\nplot(ta.ema(close, n))\n",
        "An argument of 'series int' type was used but a 'simple int' is expected",
    ),
    "v6_bool_cannot_be_na": (H + "bool b = na\nplot(close)\n", "'bool' values cannot be na"),
    "v6_na_of_bool": (H + "c = close > open\nplot(na(c) ? 1 : 0)\n", "with a 'bool' argument"),
    "v6_transp_removed": (H + "bgcolor(color.red, transp=50)\n", "'transp' parameter was removed"),
    "v6_history_of_literal": (H + "plot(6[1])\n", "on literals or built-in constants"),
    "v6_history_of_constant": (H + "bgcolor(color.red[3])\n", "on literals or built-in constants"),
    "v6_history_of_udt_field": (
        H + "type P\n    float x = 0.0\np = P.new()\nplot(p.x[1])\n",
        "reference the object's history instead",
    ),
    "v6_duplicate_argument": (H + "plot(close, color=color.blue, color=color.red)\n", "given more than once"),
    "v6_series_offset": (H + "plot(close, offset=bar_index % 3)\n", "a 'simple int' is expected"),
    "v6_linewidth_below_one": (H + "plot(close, linewidth=0)\n", "must be at least 1"),
    "series_arg_through_math_in_function": (
        H + "f(len) => ta.ema(close, math.round(math.sqrt(len)))\nplot(f(bar_index + 1))\n",
        "it is passed to 'ta.ema' as 'length'",
    ),
    "modify_const_variable": (H + "const int LEN = 14\nLEN := 20\nplot(close)\n", "declared 'const'"),
    "series_qualified_parameter_to_simple": (
        H + "f(series int n) => ta.ema(close, n)\nplot(f(10))\n",
        "a 'simple int' is expected",
    ),
    "input_default_not_in_options": (H + 'x = input.string("C", options=["A", "B"])\nplot(close)\n', "not one of the options"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_snippet_reports_the_expected_error(name):
    src, fragment = INVALID[name]
    messages = [d.message for d in compile_source(src).diagnostics if d.severity == "error"]
    assert any(fragment in m for m in messages), messages


SUGGESTIONS = {
    "a = ta.smaa(close, 10)": "Did you mean 'ta.sma'?",
    "length = 10\na = ta.sma(close, lenght)": "Did you mean 'length'?",
    "a = sma(close, 10)": "Did you mean 'ta.sma'? (built-ins moved into namespaces in Pine v5)",
    "a = security(syminfo.tickerid, 'D', close)": "Did you mean 'request.security'?",
    "a = colour.red": "Did you mean 'color'?",
    "a = strategy.positon_size": "Did you mean 'strategy.position_size'?",
}


@pytest.mark.parametrize("line", sorted(SUGGESTIONS))
def test_misspelt_and_pre_v5_names_get_a_suggestion(line):
    result = compile_source(H + line + "\n")
    messages = [d.message for d in result.diagnostics if d.severity == "error"]
    assert any(SUGGESTIONS[line] in m for m in messages), messages
