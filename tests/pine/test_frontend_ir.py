"""Shape of the IR handed to the runtime: resolved slots, bound built-in calls, call sites, specs."""

from __future__ import annotations

from strategies.pine import compile_source, ir, validate_input_overrides


def _ok(src: str):
    res = compile_source(src)
    assert res.ok, [d.format() for d in res.diagnostics]
    return res


def _body(src: str) -> list[ir.Stmt]:
    return _ok(src).program.body


HEAD = '//@version=6\nindicator("t")\n'
SHEAD = '//@version=6\nstrategy("s")\n'


def test_declarations_get_distinct_global_slots_and_reads_resolve_to_them():
    body = _body(HEAD + "a = close\nb = a + 1\n")
    decl_a, decl_b = body
    assert isinstance(decl_a, ir.VarDecl) and decl_a.target.slot == 0 and decl_a.target.scope == "global"
    ref = decl_b.value.left
    assert isinstance(ref, ir.VarRef) and ref.slot == 0 and ref.name == "a"
    assert decl_b.target.slot == 1


def test_var_and_varip_declarations_keep_their_mode():
    body = _body(HEAD + "var x = 0\nvarip y = 0\nz = 0\n")
    assert [s.mode for s in body] == ["var", "varip", "plain"]


def test_reassignment_and_compound_ops_target_the_declared_slot():
    body = _body(HEAD + "x = 0.0\nx := 1\nx += 2\n")
    assert [(s.op, s.target.slot) for s in body[1:]] == [(":=", 0), ("+=", 0)]


def test_history_reference_marks_slot_and_gets_a_site():
    prog = _ok(HEAD + "x = close\ny = x[1]\nz = (x + 1)[2]\n").program
    idx = prog.body[1].value
    assert isinstance(idx, ir.Index) and isinstance(idx.target, ir.VarRef) and idx.offset.value == 1
    assert prog.history_slots == {0}
    assert isinstance(prog.body[2].value.target, ir.Binary)
    assert idx.site != prog.body[2].value.site


def test_builtin_call_args_are_bound_in_signature_order():
    call = _body(SHEAD + 'strategy.entry("L", strategy.long, comment="c", qty=2)\n')[0].expr
    assert isinstance(call, ir.BuiltinCall) and call.name == "strategy.entry"
    assert call.param_names[:4] == ("id", "direction", "qty", "limit")
    assert call.args[0].value == "L"
    assert call.args[1].value == "long" and call.args[1].name == "strategy.long"
    assert call.args[2].value == 2
    assert call.args[3] is None
    assert call.args[call.param_names.index("comment")].value == "c"


def test_builtin_variables_and_constants_are_distinguished():
    body = _body(SHEAD + "a = close\nb = strategy.position_size\nc = color.red\nd = math.pi\n")
    assert isinstance(body[0].value, ir.BuiltinVar) and body[0].value.name == "close"
    assert isinstance(body[1].value, ir.BuiltinVar) and body[1].value.name == "strategy.position_size"
    assert isinstance(body[2].value, ir.Const) and body[2].value.value == "#F23645FF"
    assert body[3].value.value == 3.141592653589793


def test_dual_builtins_are_variables_unless_called():
    body = _body(HEAD + "a = ta.tr\nb = ta.tr(true)\nc = time\nd = time('D')\n")
    assert isinstance(body[0].value, ir.BuiltinVar)
    assert isinstance(body[1].value, ir.BuiltinCall) and body[1].value.name == "ta.tr"
    assert isinstance(body[2].value, ir.BuiltinVar)
    assert isinstance(body[3].value, ir.BuiltinCall) and body[3].value.name == "time"


def test_overloaded_builtin_picks_matching_signature():
    body = _body(HEAD + "a = ta.highest(10)\nb = ta.highest(low, 10)\n")
    assert body[0].value.param_names == ("length",)
    assert body[1].value.param_names == ("source", "length")


def test_user_function_call_is_bound_with_defaults_left_none():
    prog = _ok(HEAD + "f(x, k = 2) =>\n    y = x * k\n    y\na = f(close)\nb = f(k = 3, x = open)\n").program
    fdef = prog.functions["f"]
    assert [p.name for p in fdef.params] == ["x", "k"] and fdef.params[1].default.value == 2
    assert fdef.n_slots == 3 and fdef.slot_names == ["x", "k", "y"]
    body_ref = fdef.body[0].value.left
    assert isinstance(body_ref, ir.VarRef) and body_ref.scope == "local" and body_ref.slot == 0
    a, b = prog.body[0].value, prog.body[1].value
    assert isinstance(a, ir.UserCall) and a.key == "f" and a.args[1] is None
    assert isinstance(b.args[0], ir.BuiltinVar) and b.args[0].name == "open" and b.args[1].value == 3
    assert a.site != b.site


def test_functions_read_globals_through_global_refs():
    prog = _ok(HEAD + "g = 5\nf() => g * 2\nplot(f())\n").program
    ref = prog.functions["f"].body[0].expr.left
    assert isinstance(ref, ir.VarRef) and ref.scope == "global" and ref.slot == 0


def test_method_syntax_on_arrays_is_desugared_to_builtin_calls():
    body = _body(HEAD + "a = array.new<float>()\na.push(close)\nn = a.size()\n")
    push = body[1].expr
    assert isinstance(push, ir.BuiltinCall) and push.name == "array.push" and push.method_syntax
    assert isinstance(push.args[0], ir.VarRef) and push.args[0].name == "a"
    assert body[2].value.name == "array.size"
    assert str(body[0].target.ty) == "array<float>"


def test_udt_new_copy_fields_and_methods():
    src = HEAD + (
        "type P\n    float x = 1.0\n    int n\nmethod bump(P p, int step = 1) =>\n    p.n += step\n"
        "p = P.new(n = 3)\nq = p.copy()\nq.x := 2.0\np.bump()\nv = p.x\n"
    )
    prog = _ok(src).program
    assert [f.name for f in prog.types["P"].fields] == ["x", "n"]
    assert prog.types["P"].fields[0].default.value == 1.0
    new = prog.body[0].value
    assert isinstance(new, ir.NewObject) and new.type_name == "P" and list(new.fields) == ["n"]
    assert prog.body[1].value.name == "udt.copy"
    assign = prog.body[2]
    assert isinstance(assign.target, ir.FieldAccess) and assign.target.field == "x"
    call = prog.body[3].expr
    assert isinstance(call, ir.UserCall) and call.method_syntax and call.key == "method:bump"
    assert len(call.args) == 2 and call.args[1] is None
    assert isinstance(prog.body[4].value, ir.FieldAccess) and prog.body[4].value.type_name == "P"


def test_enum_members_are_constants_with_titles():
    prog = _ok(HEAD + 'enum Side\n    buy = "Buy!"\n    sell\ns = Side.buy\n').program
    value = prog.body[0].value.value
    assert isinstance(value, ir.EnumValue) and (value.enum, value.member, value.title) == ("Side", "buy", "Buy!")
    assert [m.title for m in prog.enums["Side"].members] == ["Buy!", "sell"]


def test_tuple_declaration_with_placeholder():
    decl = _body(HEAD + "[m, _, h] = ta.macd(close, 12, 26, 9)\n")[0]
    assert isinstance(decl, ir.TupleDecl)
    assert [t.name if t else None for t in decl.targets] == ["m", None, "h"]


def test_if_as_expression_and_else_if_nesting():
    decl = _body(HEAD + "x = if close > open\n    1\nelse if close < open\n    -1\nelse\n    0\n")[0]
    node = decl.value
    assert isinstance(node, ir.If)
    assert isinstance(node.orelse[0], ir.If) and node.orelse[0].orelse[0].expr.value == 0
    assert node.ty.base == "int"


def test_switch_with_and_without_subject():
    body = _body(HEAD + 's = "a"\nv = switch s\n    "a" => 1\n    => 2\nw = switch\n    close > 1 => 1.5\n')
    sw = body[1].value
    assert isinstance(sw, ir.Switch) and sw.subject is not None and sw.cases[1].match is None
    assert body[2].value.subject is None


def test_loops_declare_counter_and_item_slots():
    body = _body(HEAD + "a = array.from(1.0, 2.0)\nfor i = 0 to 3 by 1\n    continue\nfor [k, v] in a\n    break\nwhile false\n    break\n")
    loop = body[1]
    assert isinstance(loop, ir.For) and loop.var.name == "i" and loop.step.value == 1
    assert isinstance(body[2], ir.ForIn) and body[2].index.name == "k" and body[2].item.name == "v"
    assert isinstance(body[3], ir.While)


def test_inputs_are_input_values_with_specs():
    res = _ok(
        HEAD + 'len = input.int(14, "Length", minval=1, maxval=100, step=1, group="g", tooltip="t", inline="i")\n'
        'src = input.source(hl2, "Source")\nmode = input.string("A", "Mode", options=["A", "B"])\n'
    )
    value = res.program.body[0].value
    assert isinstance(value, ir.InputValue) and value.index == 0
    spec = res.inputs[0]
    assert (spec.name, spec.kind, spec.defval, spec.title, spec.minval, spec.maxval, spec.step) == (
        "len", "int", 14, "Length", 1, 100, 1,
    )
    assert (spec.group, spec.tooltip, spec.inline, spec.line) == ("g", "t", "i", 3)
    assert (res.inputs[1].kind, res.inputs[1].defval) == ("source", "hl2")
    assert res.inputs[2].options == ["A", "B"]


def test_plots_are_recorded_with_output_indices():
    res = _ok(HEAD + 'plot(close, "C")\nplotshape(close > open, title="Up")\nhline(50)\nbgcolor(color.red)\nfill(hline(1), hline(2))\n')
    assert [(p.kind, p.title) for p in res.plots] == [
        ("plot", "C"), ("plotshape", "Up"), ("hline", None), ("bgcolor", None), ("hline", None), ("hline", None), ("fill", None),
    ]
    assert res.program.body[0].expr.output_index == 0


def test_drawing_calls_are_flagged_no_op():
    call = _body(HEAD + "label.new(bar_index, high, 'x')\n")[0].expr
    assert isinstance(call, ir.BuiltinCall) and call.drawing


def test_declaration_spec_exposes_arguments_and_defaults():
    res = _ok('//@version=5\nstrategy("S", overlay=true, initial_capital=5000, pyramiding=2, commission_value=0.1)\n')
    decl = res.declaration
    assert (decl.kind, decl.title, decl.version) == ("strategy", "S", 5)
    assert (decl.initial_capital, decl.pyramiding, decl.commission_value, decl.overlay) == (5000, 2, 0.1, True)
    assert decl.slippage == 0 and decl.process_orders_on_close is False
    assert res.program.declaration.args["initial_capital"] == 5000
    assert res.to_json()["declaration"]["args"]["pyramiding"] == 2


def test_every_call_site_id_is_unique():
    prog = _ok(HEAD + "a = ta.sma(close, 3) + ta.sma(close, 3)\nf(x) => ta.ema(x, 3)\nb = f(a) + f(a)\n").program
    sites = []

    def walk(n):
        if isinstance(n, (ir.BuiltinCall, ir.UserCall, ir.NewObject, ir.Index)):
            sites.append(n.site)
        if isinstance(n, list):
            for x in n:
                walk(x)
        elif hasattr(n, "__dataclass_fields__"):
            for k in n.__dataclass_fields__:
                walk(getattr(n, k))

    walk(prog.body)
    walk(list(prog.functions.values()))
    assert len(sites) == len(set(sites)) == 5
    assert max(sites) < prog.n_sites


def test_types_are_inferred_with_qualifiers():
    body = _body(HEAD + 'a = 1\nb = a + 1.5\nc = close > open\nd = "s"\nl = input.int(3)\ne = ta.sma(close, l)\n')
    assert [str(s.target.ty) for s in body] == [
        "const int", "const float", "series bool", "const string", "input int", "series float",
    ]


def test_validate_input_overrides_checks_type_range_and_options():
    res = _ok(
        HEAD + 'len = input.int(14, "Length", minval=1, maxval=50)\nmode = input.string("A", "Mode", options=["A", "B"])\n'
        'on = input.bool(true, "On")\nsrc = input.source(close, "Src")\n'
    )
    assert validate_input_overrides(res, {"len": 20, "Mode": "B", "on": False, "src": "hl2"}) == []
    errors = validate_input_overrides(res, {"Length": 100, "mode": "C", "on": 1, "src": "foo", "nope": 1, "len": 2.5})
    assert len(errors) == 6
    assert any("must be <= 50" in e for e in errors)
    assert any("must be one of" in e for e in errors)
    assert any("Unknown input 'nope'" in e for e in errors)


def test_v5_when_argument_is_lowered_to_an_if():
    res = _ok('//@version=5\nstrategy("w")\nstrategy.entry("L", strategy.long, when=close > open)\n')
    node = res.program.body[0]
    assert isinstance(node, ir.If) and isinstance(node.cond, ir.Binary)
    call = node.then[0].expr
    assert call.name == "strategy.entry" and "when" not in call.raw_kwargs
    assert [d.code for d in res.diagnostics] == ["deprecated"]


def test_ta_call_in_conditional_scope_warns_about_consistency():
    res = _ok(HEAD + "x = close > open ? ta.sma(close, 5) : 0.0\nif close > open\n    y = ta.ema(close, 3)\n")
    assert [(d.line, d.code) for d in res.diagnostics] == [(3, "consistency"), (5, "consistency")]


def test_default_margin_depends_on_version():
    v5 = _ok('//@version=5\nstrategy("m")\n').declaration
    v6 = _ok('//@version=6\nstrategy("m")\n').declaration
    given = _ok('//@version=5\nstrategy("m", margin_long=50)\n').declaration
    assert (v5.margin_long, v5.margin_short, v6.margin_long, v6.margin_short) == (0, 0, 100, 100)
    assert given.margin_long == 50 and given.get("margin_short") == 0


def test_compile_result_survives_pickling():
    import pickle

    res = _ok(HEAD + "type P\n    float x = 1.0\np = P.new()\nplot(p.x)\n")
    again = pickle.loads(pickle.dumps(res))
    assert again.ok and again.declaration.kind == "indicator" and again.declaration.overlay is False
    assert len(again.program.body) == len(res.program.body)


def test_user_function_results_are_typed_per_call():
    body = _body(HEAD + "f(x) => x * 2\ng(a, b) => [a, b > 0]\nu = f(close)\nv = f(2)\n[p, q] = g(1.5, close)\n")
    assert str(body[0].value.ty) == "series float"
    assert str(body[1].value.ty) == "simple int"
    assert [str(t.ty) for t in body[2].targets] == ["const float", "series bool"]


def test_user_function_overloads_are_chosen_by_argument_types():
    src = HEAD + 'f(float x) => x * 2\nf(string s) => s + "!"\na = f("hi")\nb = f(1.5)\n'
    prog = _ok(src).program
    assert prog.body[0].value.key == "f#1" and str(prog.body[0].value.ty).endswith("string")
    assert prog.body[1].value.key == "f"


def test_palette_constants_follow_the_script_version():
    v5 = _ok('//@version=5\nindicator("c")\na = color.red\nb = color.blue\n').program.body
    v6 = _ok(HEAD + "a = color.red\nb = color.blue\n").program.body
    assert (v5[0].value.value, v6[0].value.value) == ("#FF5252FF", "#F23645FF")
    assert v5[1].value.value == v6[1].value.value == "#2196F3FF"


def test_input_inside_an_expression_is_named_after_the_variable():
    res = _ok(HEAD + 'slPct = input.float(1.5, "Stop %") / 100\nplot(ta.sma(close, input.int(5)) + slPct)\n')
    assert [(i.name, i.title) for i in res.inputs] == [("slPct", "Stop %"), (None, None)]


def test_method_on_untyped_parameter_picks_a_fitting_collection_and_reports_nothing():
    res = _ok(HEAD + 'f(m) => m.get("a")\ng(a) => a.size()\nvar mm = map.new<string, float>()\nplot(f(mm) + g(mm))\n')
    f_call = res.program.functions["f"].body[0].expr
    assert f_call.name == "map.get" and f_call.method_syntax
    assert res.program.functions["g"].body[0].expr.name == "array.size"
    assert str(res.program.body[1].expr.args[0].left.ty) == "series float"
