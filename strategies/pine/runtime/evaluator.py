"""Closure-compiling evaluator for the Pine IR (``strategies/pine/ir.py``).

The IR is compiled ONCE into a tree of Python closures (no source generation, no exec/eval); running a
bar is calling the closure of each top-level statement in order.

Series model
------------
* Variables live in flat frames (Python lists indexed by slot): one global frame, and one frame per
  *call site instance* of a user function (every call site of a function gets its own compiled copy
  of the body with its own frame, history buffers, ``var`` flags and ``ta.*`` state -- Pine semantics).
* ``x[n]`` reads a per-variable history list that is appended once per bar (globals, at the end of the
  bar) or once per call (function locals).  Buffers are trimmed to the maximum static offset, or to
  ``max_bars_back`` for dynamic offsets; reading further back is a runtime error at the reference.
* ``na`` is ``float('nan')`` for numbers (so arithmetic propagates it and comparisons are false for
  free) and ``None``/NaN for reference types.
* ``ta.*`` calls executed on every bar whose arguments depend only on bar data, inputs and constants
  are computed vectorized before the bar loop; the closure then reads element ``i``.  Everything else
  uses one streaming instance per call site.

All mutable run state is registered in ``Script.state`` in compile order, so a snapshot of it can be
restored into a freshly compiled script of the same program (``Runner.get_state/from_state``).
"""

from __future__ import annotations

import copy as _copy
import math
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import ir
from .builtins_impl import PineArray, PineMap, PineMatrix, is_na
from .errors import PineRuntimeError
from .series import BarData
from .timeutil import (
    Timeframe,
    parse_timeframe,
)

NA = math.nan
Fn = Callable[[], Any]

DEFAULT_MAX_BARS_BACK = 5000
MAX_LOOP_ITERATIONS_PER_BAR = 1_000_000
DEFAULT_WALL_CLOCK_BUDGET_S = 900.0
MAX_CALL_DEPTH = 64
MAX_FUNCTION_INSTANCES = 20_000

SERIES_BUILTINS = ("open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4", "hlcc4", "time", "bar_index")


class PineObject:
    """An instance of a user-defined type (``type Point``)."""

    __slots__ = ("fields", "type_name")

    def __init__(self, type_name: str, fields: dict[str, Any]) -> None:
        self.type_name = type_name
        self.fields = fields

    def __repr__(self) -> str:
        return f"{self.type_name}({self.fields})"


class _LoopFlow(Exception):
    def __init__(self, kind: str) -> None:
        self.kind = kind


BREAK = "break"
CONTINUE = "continue"


def _truth(v: Any) -> bool:
    if v is True:
        return True
    if v is False or v is None:
        return False
    if v.__class__ is float:
        return v == v and v != 0.0
    return bool(v)


def _loc(node: Any) -> tuple[int, int]:
    span = getattr(node, "span", None)
    return (span.line, span.col) if span is not None else (0, 0)


@dataclass
class Limits:
    max_loop_iterations_per_bar: int = MAX_LOOP_ITERATIONS_PER_BAR
    wall_clock_budget_s: float = DEFAULT_WALL_CLOCK_BUDGET_S
    default_max_bars_back: int = DEFAULT_MAX_BARS_BACK


@dataclass
class Outputs:
    """Per-bar outputs of a script: plot series, alerts, logs."""

    plots: dict[str, list] = field(default_factory=dict)
    plot_kinds: dict[str, str] = field(default_factory=dict)
    alerts: list[dict] = field(default_factory=list)
    logs: list[dict] = field(default_factory=list)


class _Env:
    """Compile-time environment of one frame (global program or one function call-site instance)."""

    __slots__ = ("cond", "depth", "fdef", "frame", "hist", "hist_caps", "param_vecs", "scope")

    def __init__(self, frame: list, scope: str, fdef: ir.FunctionDef | None, cond: bool, depth: int,
                 param_vecs: dict[int, Any] | None = None) -> None:
        self.frame = frame
        self.scope = scope
        self.fdef = fdef
        self.cond = cond
        self.depth = depth
        self.hist: dict[int, list] = {}
        self.hist_caps: dict[int, int] = {}
        self.param_vecs = param_vecs or {}

    def child(self, cond: bool = True) -> _Env:
        env = _Env.__new__(_Env)
        env.frame, env.scope, env.fdef, env.depth = self.frame, self.scope, self.fdef, self.depth
        env.hist, env.hist_caps, env.param_vecs = self.hist, self.hist_caps, self.param_vecs
        env.cond = self.cond or cond
        return env


class _HistoryInfo:
    """Static history needs of the variables of one frame, found by a pre-pass over the IR."""

    def __init__(self) -> None:
        self.static_max: dict[int, int] = {}
        self.dynamic: set[int] = set()
        self.declared: dict[int, int] = {}

    def cap(self, slot: int, default_dynamic: int) -> int:
        cap = self.static_max.get(slot, 0)
        if slot in self.dynamic:
            cap = max(cap, self.declared.get(slot, default_dynamic))
        elif slot in self.declared:
            cap = max(cap, self.declared[slot])
        return max(cap, 1)


def _walk(node: Any):
    """Yield every IR node below ``node`` (statements and expressions)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n is None:
            continue
        if isinstance(n, list):
            stack.extend(n)
            continue
        yield n
        if isinstance(n, ir.SwitchCase):
            stack.append(n.match)
            stack.extend(n.body)
            continue
        for cls in type(n).__mro__:
            for s in getattr(cls, "__slots__", ()):
                if s in ("span", "ty"):
                    continue
                v = getattr(n, s, None)
                if isinstance(v, ir.Expr | ir.Stmt | list | ir.SwitchCase):
                    stack.append(v)
                elif isinstance(v, dict) and s in ("fields", "raw_kwargs"):
                    stack.extend(v.values())


class Script:
    """A compiled Pine program bound to one symbol/timeframe/bar set, runnable bar by bar."""

    def __init__(
        self,
        program: ir.Program,
        *,
        inputs_specs: list | None = None,
        input_values: dict[int, Any] | None = None,
        symbol: Any,
        timeframe: str,
        bars: BarData,
        emulator: Any = None,
        vectorize: bool = True,
        limits: Limits | None = None,
        context: str = "chart",
        security_capture: dict[int, list] | None = None,
        keep_plots: bool = True,
    ) -> None:
        self.program = program
        self.keep_plots = keep_plots  # False: plot() evaluates its arguments (their ta.* state) but keeps no values
        self.symbol = symbol
        self.tf: Timeframe = parse_timeframe(timeframe)
        self.tf_ms = self.tf.nominal_ms
        self.bars = bars
        self.emu = emulator
        self.vectorize = vectorize and bars.total is not None
        self.limits = limits or Limits()
        self.context = context
        self.security_capture = security_capture
        self.inputs_specs = inputs_specs if inputs_specs is not None else list(program.inputs)
        self.input_values = input_values or {}
        self.tz = getattr(symbol, "timezone", None) or "Etc/UTC"
        self.version = program.version
        self.outputs = Outputs()
        self.IX = [0]  # current bar index, shared by all closures
        self.iters = [0]  # loop iterations on the current bar
        self.state: list[Any] = []  # every mutable state object, in compile order
        self.G: list[Any] = [NA] * max(program.n_slots, 0)
        self.state.append(self.G)
        self._run_start = _time.perf_counter()
        self._vec_cache: dict[Any, Any] = {}
        self._builtin_hist: dict[str, tuple[Fn, list]] = {}
        self._alerted_bar = [-1]
        self._security_feeds: dict[str, Any] = {}
        self._plot_sites: dict[str, int] = {}
        self._instances = 0
        self._pre_bar: list[Callable[[int], None]] = []
        self._always_update: list[Fn] = []
        decl = program.declaration
        dargs = decl.args if decl is not None else {}
        mbb = dargs.get("max_bars_back") if isinstance(dargs, dict) else None
        self.max_bars_back = int(mbb) if isinstance(mbb, int | float) and mbb and mbb == mbb else \
            self.limits.default_max_bars_back
        self._analyse_globals()
        self.global_env = _Env(self.G, "global", None, False, 0)
        self._setup_history(self.global_env, self._global_hist_info)
        self.body = [(self._stmt(s, self.global_env), s) for s in program.body]
        self._global_hist_items = [(slot, h, self.global_env.hist_caps[slot]) for slot, h in self.global_env.hist.items()]
        self._body_fns = tuple(fn for fn, _ in self.body)

    # ------------------------------------------------------------------------------------ analysis
    def _analyse_globals(self) -> None:
        prog = self.program
        self._assigned: set[tuple[str, int]] = set()
        self._global_hist_info = _HistoryInfo()
        self._func_hist_info: dict[str, _HistoryInfo] = {k: _HistoryInfo() for k in prog.functions}
        self._top_decl: dict[int, Any] = {}
        for stmt in prog.body:
            if isinstance(stmt, ir.VarDecl) and stmt.mode == "plain" and stmt.target.scope == "global":
                self._top_decl[stmt.target.slot] = stmt.value
            elif isinstance(stmt, ir.TupleDecl):
                for k, t in enumerate(stmt.targets):
                    if t is not None and t.scope == "global":
                        self._top_decl[t.slot] = ("tuple", stmt.value, k)

        def scan(nodes: Any, info: _HistoryInfo, fkey: str | None) -> None:
            for n in _walk(nodes):
                if isinstance(n, ir.Assign) and isinstance(n.target, ir.VarRef):
                    self._assigned.add((n.target.scope if fkey is None or n.target.scope == "global" else fkey,
                                        n.target.slot))
                elif isinstance(n, ir.For):
                    self._assigned.add((n.var.scope if fkey is None or n.var.scope == "global" else fkey, n.var.slot))
                elif isinstance(n, ir.ForIn):
                    for t in (n.item, n.index):
                        if t is not None:
                            self._assigned.add((t.scope if fkey is None or t.scope == "global" else fkey, t.slot))
                elif isinstance(n, ir.VarDecl) and n.mode != "plain" and n.target.scope == "global":
                    self._assigned.add(("global", n.target.slot))
                elif isinstance(n, ir.Index) and isinstance(n.target, ir.VarRef):
                    target = n.target
                    tinfo = self._global_hist_info if target.scope == "global" else info
                    if isinstance(n.offset, ir.Const) and isinstance(n.offset.value, int | float) \
                            and n.offset.value == n.offset.value:
                        off = int(n.offset.value)
                        tinfo.static_max[target.slot] = max(tinfo.static_max.get(target.slot, 0), off)
                    else:
                        tinfo.dynamic.add(target.slot)
                elif isinstance(n, ir.BuiltinCall) and n.name == "max_bars_back" and n.args \
                        and isinstance(n.args[0], ir.VarRef):
                    target = n.args[0]
                    tinfo = self._global_hist_info if target.scope == "global" else info
                    num = n.args[1] if len(n.args) > 1 else None
                    if isinstance(num, ir.Const) and isinstance(num.value, int | float):
                        tinfo.declared[target.slot] = max(tinfo.declared.get(target.slot, 0), int(num.value))

        scan(prog.body, self._global_hist_info, None)
        for key, fdef in prog.functions.items():
            scan(fdef.body, self._func_hist_info[key], key)
        for slot in prog.history_slots:
            self._global_hist_info.static_max.setdefault(slot, 1)

    def _setup_history(self, env: _Env, info: _HistoryInfo) -> None:
        slots = set(info.static_max) | info.dynamic | set(info.declared)
        for slot in sorted(slots):
            h: list = []
            env.hist[slot] = h
            env.hist_caps[slot] = info.cap(slot, self.max_bars_back)
            self.state.append(h)

    # ------------------------------------------------------------------------------------ running
    def run_bar(self, i: int) -> None:
        self.IX[0] = i
        self.iters[0] = 0
        if self._pre_bar:
            for hook in self._pre_bar:
                hook(i)
        if self._always_update:
            for upd in self._always_update:
                upd()
        k = 0
        try:
            for fn in self._body_fns:
                fn()
                k += 1
        except PineRuntimeError:
            raise
        except _LoopFlow:
            # a break/continue outside a loop ends the statement; run the rest of the bar
            for fn in self._body_fns[k + 1:]:
                fn()
        except RecursionError:
            line, col = _loc(self.body[k][1])
            raise PineRuntimeError("expression nested too deeply", line, col) from None
        except Exception as exc:
            line, col = _loc(self.body[k][1])
            raise PineRuntimeError(f"{type(exc).__name__}: {exc}", line, col) from exc
        G = self.G
        for slot, h, cap in self._global_hist_items:
            h.append(G[slot])
            if len(h) > cap + 256:
                del h[: len(h) - cap]
        if self._builtin_hist:
            mbb = self.max_bars_back
            for getter, h in self._builtin_hist.values():
                h.append(getter())
                if len(h) > mbb + 256:
                    del h[: len(h) - mbb]

    def check_wall_clock(self, line: int = 1, col: int = 1) -> None:
        if _time.perf_counter() - self._run_start > self.limits.wall_clock_budget_s:
            raise PineRuntimeError(
                f"script exceeded the run time budget of {self.limits.wall_clock_budget_s:g} s", line, col)

    # ------------------------------------------------------------------------------------ statements
    def _block(self, stmts: list[ir.Stmt], env: _Env) -> Fn:
        """Compile statements into one closure returning a loop-flow signal (None, BREAK, CONTINUE)."""
        fns = [self._stmt(s, env) for s in stmts]
        if not fns:
            return lambda: None
        if len(fns) == 1:
            return fns[0]
        if len(fns) == 2:
            f0, f1 = fns

            def run2() -> Any:
                r = f0()
                if r is not None:
                    return r
                return f1()

            return run2
        fns_t = tuple(fns)

        def run() -> Any:
            for f in fns_t:
                r = f()
                if r is not None:
                    return r
            return None

        return run

    def _value_block(self, stmts: list[ir.Stmt], env: _Env) -> Fn:
        """Compile a block used as a value: run all statements, return the value of the last one."""
        if not stmts:
            return lambda: NA
        head = self._block(stmts[:-1], env) if len(stmts) > 1 else None
        last = self._stmt_value(stmts[-1], env)
        if head is None:
            return last

        def run() -> Any:
            r = head()
            if r is not None:
                raise _LoopFlow(r)
            return last()

        return run

    def _stmt_value(self, s: ir.Stmt, env: _Env) -> Fn:
        if isinstance(s, ir.ExprStmt):
            return self._expr(s.expr, env)
        if isinstance(s, ir.If | ir.Switch | ir.For | ir.ForIn | ir.While):
            return self._expr(s, env)
        if isinstance(s, ir.VarDecl | ir.Assign):
            st = self._stmt(s, env)
            target = s.target
            if isinstance(target, ir.VarRef):
                frame = self._frame(target, env)
                slot = target.slot

                def decl_value() -> Any:
                    st()
                    return frame[slot]

                return decl_value
            reader = self._expr(target, env)

            def assign_value() -> Any:
                st()
                return reader()

            return assign_value
        if isinstance(s, ir.TupleDecl):
            st = self._stmt(s, env)

            def tuple_value() -> Any:
                st()
                return NA

            return tuple_value
        st = self._stmt(s, env)

        def other() -> Any:
            r = st()
            if r is not None:
                raise _LoopFlow(r)
            return NA

        return other

    def _frame(self, ref: ir.VarRef, env: _Env) -> list:
        return self.G if ref.scope == "global" else env.frame

    def _stmt(self, s: ir.Stmt, env: _Env) -> Fn:
        if isinstance(s, ir.VarDecl):
            return self._var_decl(s, env)
        if isinstance(s, ir.Assign):
            return self._assign(s, env)
        if isinstance(s, ir.TupleDecl):
            return self._tuple_decl(s, env)
        if isinstance(s, ir.ExprStmt):
            if isinstance(s.expr, ir.If | ir.Switch):
                return self._flow_stmt(s.expr, env)
            f = self._expr(s.expr, env)

            def expr_stmt() -> None:
                f()

            return expr_stmt
        if isinstance(s, ir.If | ir.Switch):
            return self._flow_stmt(s, env)
        if isinstance(s, ir.For | ir.ForIn | ir.While):
            f = self._expr(s, env)

            def loop_stmt() -> None:
                f()

            return loop_stmt
        if isinstance(s, ir.Break):
            return lambda: BREAK
        if isinstance(s, ir.Continue):
            return lambda: CONTINUE
        line, col = _loc(s)
        raise PineRuntimeError(f"unsupported statement {type(s).__name__}", line, col)

    def _flow_stmt(self, node: Any, env: _Env) -> Fn:
        """``if``/``switch`` used as a statement: branches return loop-flow signals."""
        child = env.child(True)
        if isinstance(node, ir.If):
            cond = self._cond(node.cond, env)
            then = self._block(node.then, child)
            if node.orelse:
                orelse = self._block(node.orelse, child)

                def if_else() -> Any:
                    if cond():
                        return then()
                    return orelse()

                return if_else

            def if_only() -> Any:
                if cond():
                    return then()
                return None

            return if_only
        # switch
        subject = self._expr(node.subject, env) if node.subject is not None else None
        cases = []
        default = None
        for case in node.cases:
            body = self._block(case.body, child)
            if case.match is None:
                default = body
            else:
                m = self._expr(case.match, child) if subject is not None else self._cond(case.match, child)
                cases.append((m, body))
        cases_t = tuple(cases)
        if subject is not None:
            def switch_subject() -> Any:
                v = subject()
                for m, body in cases_t:
                    if m() == v:
                        return body()
                if default is not None:
                    return default()
                return None

            return switch_subject

        def switch_plain() -> Any:
            for m, body in cases_t:
                if m():
                    return body()
            if default is not None:
                return default()
            return None

        return switch_plain

    def _var_decl(self, s: ir.VarDecl, env: _Env) -> Fn:
        frame = self._frame(s.target, env)
        slot = s.target.slot
        value = self._expr(s.value, env)
        declared = s.declared_type.name if s.declared_type is not None else None
        if declared == "float":
            raw = value

            def value() -> Any:
                v = raw()
                return float(v) if v.__class__ is int else v
        if s.mode in ("var", "varip"):
            done = [False]
            self.state.append(done)

            def var_decl() -> None:
                if not done[0]:
                    frame[slot] = value()
                    done[0] = True

            return var_decl

        def plain_decl() -> None:
            frame[slot] = value()

        return plain_decl

    def _assign(self, s: ir.Assign, env: _Env) -> Fn:
        value = self._expr(s.value, env)
        op = s.op
        if isinstance(s.target, ir.VarRef):
            frame = self._frame(s.target, env)
            slot = s.target.slot
            if op == ":=":
                def assign() -> None:
                    frame[slot] = value()

                return assign
            binop = self._binop_fn(op[0], s, None, None)

            def aug_assign() -> None:
                frame[slot] = binop(frame[slot], value())

            return aug_assign
        if isinstance(s.target, ir.FieldAccess):
            obj = self._expr(s.target.obj, env)
            name = s.target.field
            line, col = _loc(s)
            binop = self._binop_fn(op[0], s, None, None) if op != ":=" else None

            def field_assign() -> None:
                o = obj()
                if o.__class__ is not PineObject:
                    raise PineRuntimeError(f"cannot assign field '{name}' of an na object", line, col)
                v = value()
                o.fields[name] = v if binop is None else binop(o.fields[name], v)

            return field_assign
        line, col = _loc(s)
        raise PineRuntimeError("unsupported assignment target", line, col)

    def _tuple_decl(self, s: ir.TupleDecl, env: _Env) -> Fn:
        value = self._expr(s.value, env)
        targets = [(self._frame(t, env), t.slot, k) for k, t in enumerate(s.targets) if t is not None]
        line, col = _loc(s)

        def tuple_decl() -> None:
            v = value()
            if not isinstance(v, tuple | list):
                if is_na(v):
                    for frame, slot, _k in targets:
                        frame[slot] = NA
                    return
                raise PineRuntimeError("the right side of a tuple declaration is not a tuple", line, col)
            for frame, slot, k in targets:
                frame[slot] = v[k]

        return tuple_decl

    # ------------------------------------------------------------------------------------ expressions
    def _cond(self, node: ir.Expr, env: _Env) -> Fn:
        f = self._expr(node, env)
        ty = getattr(node, "ty", None)
        if ty is not None and ty.base == "bool" and isinstance(node, ir.Binary) and node.op in (
                "==", "!=", "<", ">", "<=", ">=", "and", "or"):
            return f
        if isinstance(node, ir.BuiltinCall) and node.name in _BOOL_RESULT_CALLS:
            return f  # these always produce a Python bool (never na)

        def cond() -> bool:
            return _truth(f())

        return cond

    def _expr(self, node: ir.Expr, env: _Env) -> Fn:
        method = _EXPR_DISPATCH.get(type(node))
        if method is None:
            line, col = _loc(node)
            raise PineRuntimeError(f"unsupported expression {type(node).__name__}", line, col)
        return method(self, node, env)

    def _const(self, node: ir.Const, env: _Env) -> Fn:
        v = NA if node.value is None else node.value
        return lambda: v

    def _varref(self, node: ir.VarRef, env: _Env) -> Fn:
        frame = self._frame(node, env)
        slot = node.slot
        return lambda: frame[slot]

    def _index(self, node: ir.Index, env: _Env) -> Fn:
        line, col = _loc(node)
        target = node.target
        IX = self.IX
        static = None
        if isinstance(node.offset, ir.Const) and isinstance(node.offset.value, int | float) \
                and node.offset.value == node.offset.value:
            static = int(node.offset.value)
            if static < 0:
                raise PineRuntimeError(f"negative history offset {static} is not allowed", line, col)
        off = None if static is not None else self._expr(node.offset, env)
        mbb = self.max_bars_back

        def offset_value() -> int:
            n = off()
            if n is None or n != n:
                raise PineRuntimeError("history offset is na", line, col)
            n = int(n)
            if n < 0:
                raise PineRuntimeError(f"negative history offset {n} is not allowed", line, col)
            return n

        if isinstance(target, ir.VarRef):
            frame = self._frame(target, env)
            slot = target.slot
            hist = (self.global_env.hist if target.scope == "global" else env.hist).get(slot)
            caps = self.global_env.hist_caps if target.scope == "global" else env.hist_caps
            if hist is None:  # history not found by the pre-pass (should not happen); keep an own buffer
                return self._expr_history(node, env, static, off)
            cap = caps[slot]
            if static is not None:
                n = static
                if n == 0:
                    return lambda: frame[slot]
                if n > cap:
                    raise PineRuntimeError(f"history offset {n} exceeds max_bars_back ({cap})", line, col)

                def hist_static() -> Any:
                    return hist[-n] if len(hist) >= n else NA

                return hist_static

            def hist_dynamic() -> Any:
                n = offset_value()
                if n == 0:
                    return frame[slot]
                if n > cap:
                    if n <= IX[0]:
                        raise PineRuntimeError(
                            f"history reference {n} bars back exceeds the buffer of {cap} bars kept for "
                            f"'{target.name}'; declare max_bars_back({target.name}, {n}) or "
                            f"strategy(max_bars_back={n})", line, col)
                    return NA
                return hist[-n] if len(hist) >= n else NA

            return hist_dynamic
        if isinstance(target, ir.BuiltinVar) and target.name in SERIES_BUILTINS:
            arr_get = self._series_array(target.name)
            if static is not None:
                n = static

                def series_static() -> Any:
                    j = IX[0] - n
                    return arr_get(j) if j >= 0 else NA

                return series_static

            def series_dynamic() -> Any:
                n = offset_value()
                if n > mbb and n <= IX[0]:
                    raise PineRuntimeError(f"history reference {n} bars back exceeds max_bars_back ({mbb})",
                                           line, col)
                j = IX[0] - n
                return arr_get(j) if j >= 0 else NA

            return series_dynamic
        if isinstance(target, ir.BuiltinVar):
            name = target.name
            if name not in self._builtin_hist:
                getter = self._builtin_var(target, env)
                h: list = []
                self.state.append(h)
                self._builtin_hist[name] = (getter, h)
            getter, h = self._builtin_hist[name]
            cur = getter

            def builtin_hist() -> Any:
                n = static if static is not None else offset_value()
                if n == 0:
                    return cur()
                if n > mbb and n <= IX[0]:
                    raise PineRuntimeError(f"history reference {n} bars back exceeds max_bars_back ({mbb})",
                                           line, col)
                return h[-n] if len(h) >= n else NA

            return builtin_hist
        # vectorized expression: shift the precomputed array
        if not env.cond and self.vectorize:
            vec = self._vec(target, env)
            if isinstance(vec, np.ndarray) and vec.ndim == 1:
                lst = vec.tolist()
                if static is not None:
                    n = static

                    def vec_static() -> Any:
                        j = IX[0] - n
                        return lst[j] if j >= 0 else NA

                    return vec_static

                def vec_dynamic() -> Any:
                    n = offset_value()
                    j = IX[0] - n
                    return lst[j] if j >= 0 else NA

                return vec_dynamic
        return self._expr_history(node, env, static, off)

    def _expr_history(self, node: ir.Index, env: _Env, static: int | None, off: Fn | None) -> Fn:
        """History of an arbitrary expression: a buffer at this node, one value per bar it runs on."""
        line, col = _loc(node)
        target = self._expr(node.target, env)
        buf: list = []
        last = [-1]
        self.state.append(buf)
        self.state.append(last)
        IX = self.IX
        cap = max(static or 0, self.max_bars_back if static is None else 0, 1)

        def expr_hist() -> Any:
            v = target()
            i = IX[0]
            if last[0] == i:
                buf[-1] = v
            else:
                buf.append(v)
                last[0] = i
                if len(buf) > cap + 256:
                    del buf[: len(buf) - cap - 1]
            if static is not None:
                n = static
            else:
                n = off()
                if n is None or n != n:
                    raise PineRuntimeError("history offset is na", line, col)
                n = int(n)
                if n < 0:
                    raise PineRuntimeError(f"negative history offset {n} is not allowed", line, col)
                if n > cap and n <= i:
                    raise PineRuntimeError(f"history reference {n} bars back exceeds max_bars_back ({cap})",
                                           line, col)
            return buf[-1 - n] if n < len(buf) else NA

        return expr_hist

    def _unary(self, node: ir.Unary, env: _Env) -> Fn:
        f = self._expr(node.operand, env)
        if node.op == "not":
            return lambda: not _truth(f())
        if node.op == "+":
            return f

        def neg() -> Any:
            v = f()
            try:
                return -v
            except TypeError:
                return NA

        return neg

    def _binop_fn(self, op: str, node: Any, left: ir.Expr | None, right: ir.Expr | None) -> Callable:
        """Scalar function for a binary arithmetic operator with Pine's na and int rules."""
        if op == "+":
            def add(a: Any, b: Any) -> Any:
                try:
                    return a + b
                except TypeError:
                    return NA

            return add
        if op == "-":
            def sub(a: Any, b: Any) -> Any:
                try:
                    return a - b
                except TypeError:
                    return NA

            return sub
        if op == "*":
            def mul(a: Any, b: Any) -> Any:
                try:
                    return a * b
                except TypeError:
                    return NA

            return mul
        if op == "/":
            int_div = self.version < 6 and left is not None and right is not None and _is_const_int(left) \
                and _is_const_int(right)

            def div(a: Any, b: Any) -> Any:
                try:
                    r = a / b
                except (ZeroDivisionError, TypeError):
                    return NA
                if int_div and a.__class__ is int and b.__class__ is int:
                    return int(r)
                return r

            return div
        if op == "%":
            def mod(a: Any, b: Any) -> Any:
                try:
                    r = math.fmod(a, b)
                except (ZeroDivisionError, TypeError, ValueError):
                    return NA
                if a.__class__ is int and b.__class__ is int:
                    return int(r)
                return r

            return mod
        line, col = _loc(node)
        raise PineRuntimeError(f"unsupported operator {op}", line, col)

    def _binary(self, node: ir.Binary, env: _Env) -> Fn:
        op = node.op
        if op in ("and", "or"):
            a = self._cond(node.left, env)
            if self.version < 6:
                # v5 evaluates both operands on every bar (ta.* state on the right side updates)
                b = self._cond(node.right, env)
                if op == "and":
                    def strict_and() -> bool:
                        x = a()
                        y = b()
                        return bool(x and y)

                    return strict_and

                def strict_or() -> bool:
                    x = a()
                    y = b()
                    return bool(x or y)

                return strict_or
            b = self._cond(node.right, env.child(True))
            if op == "and":
                return lambda: bool(a() and b())
            return lambda: bool(a() or b())
        lf = self._expr(node.left, env)
        rf = self._expr(node.right, env)
        if op in ("<", ">", "<=", ">="):
            import operator

            cmp = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}[op]
            if op == "<":
                def lt() -> bool:
                    try:
                        return lf() < rf()
                    except TypeError:
                        return False

                return lt
            if op == ">":
                def gt() -> bool:
                    try:
                        return lf() > rf()
                    except TypeError:
                        return False

                return gt

            def compare() -> bool:
                try:
                    return cmp(lf(), rf())
                except TypeError:
                    return False

            return compare
        if op == "==":
            def eq() -> bool:
                a = lf()
                b = rf()
                return a == b and not (a is None or b is None)

            return eq
        if op == "!=":
            def ne() -> bool:
                a = lf()
                b = rf()
                if a is None or b is None or a != a or b != b:
                    return False
                return a != b

            return ne
        if op == "+":
            def add() -> Any:
                try:
                    return lf() + rf()
                except TypeError:
                    return NA

            return add
        if op == "-":
            def sub() -> Any:
                try:
                    return lf() - rf()
                except TypeError:
                    return NA

            return sub
        if op == "*":
            def mul() -> Any:
                try:
                    return lf() * rf()
                except TypeError:
                    return NA

            return mul
        fn = self._binop_fn(op, node, node.left, node.right)
        return lambda: fn(lf(), rf())

    def _ternary(self, node: ir.Ternary, env: _Env) -> Fn:
        c = self._cond(node.cond, env)
        child = env.child(True)
        a = self._expr(node.then, child)
        b = self._expr(node.orelse, child)
        return lambda: a() if c() else b()

    def _field(self, node: ir.FieldAccess, env: _Env) -> Fn:
        obj = self._expr(node.obj, env)
        name = node.field
        line, col = _loc(node)

        def field_get() -> Any:
            o = obj()
            if o.__class__ is PineObject:
                return o.fields[name]
            if isinstance(o, tuple) and name.isdigit():
                return o[int(name)]
            raise PineRuntimeError(f"cannot access field '{name}' of an na object", line, col)

        return field_get

    def _tuple(self, node: ir.TupleExpr, env: _Env) -> Fn:
        items = [self._expr(x, env) for x in node.items]
        return lambda: tuple(f() for f in items)

    def _if_expr(self, node: ir.If, env: _Env) -> Fn:
        c = self._cond(node.cond, env)
        child = env.child(True)
        then = self._value_block(node.then, child)
        orelse = self._value_block(node.orelse, child) if node.orelse else (lambda: NA)
        return lambda: then() if c() else orelse()

    def _switch_expr(self, node: ir.Switch, env: _Env) -> Fn:
        child = env.child(True)
        subject = self._expr(node.subject, env) if node.subject is not None else None
        cases = []
        default: Fn | None = None
        for case in node.cases:
            body = self._value_block(case.body, child)
            if case.match is None:
                default = body
            else:
                m = self._expr(case.match, child) if subject is not None else self._cond(case.match, child)
                cases.append((m, body))
        cases_t = tuple(cases)

        def switch_value() -> Any:
            if subject is not None:
                v = subject()
                for m, body in cases_t:
                    if m() == v:
                        return body()
            else:
                for m, body in cases_t:
                    if m():
                        return body()
            return default() if default is not None else NA

        return switch_value

    def _loop_guard(self, node: Any) -> Callable[[], None]:
        line, col = _loc(node)
        iters = self.iters
        limit = self.limits.max_loop_iterations_per_bar
        script = self

        def over() -> None:
            script.check_wall_clock()
            raise PineRuntimeError(
                f"loop is too long: more than {limit} iterations on bar {script.IX[0]} "
                "(an infinite loop?)", line, col)

        del iters
        return over

    def _loop_body(self, body: list[ir.Stmt], env: _Env) -> tuple[Fn, Fn]:
        """(statement runner returning a flow signal, value of the last statement)."""
        child = env.child(True)
        if body and isinstance(body[-1], ir.ExprStmt | ir.If | ir.Switch | ir.For | ir.ForIn | ir.While | ir.VarDecl
                                          | ir.Assign):
            head = self._block(body[:-1], child)
            last_val = self._stmt_value(body[-1], child)
            cell = [NA]

            def run() -> Any:
                r = head()
                if r is not None:
                    return r
                try:
                    cell[0] = last_val()
                except _LoopFlow as flow:
                    return flow.kind
                return None

            return run, (lambda: cell[0])
        block = self._block(body, child)
        return block, (lambda: NA)

    def _for(self, node: ir.For, env: _Env) -> Fn:
        frame = self._frame(node.var, env)
        slot = node.var.slot
        start = self._expr(node.start, env)
        end = self._expr(node.end, env)
        step = self._expr(node.step, env) if node.step is not None else None
        run, value = self._loop_body(node.body, env)
        iters = self.iters
        limit = self.limits.max_loop_iterations_per_bar
        over = self._loop_guard(node)
        loop_line, loop_col = _loc(node)
        check_clock = lambda: self.check_wall_clock(loop_line, loop_col)  # noqa: E731
        reeval_end = self.version >= 6
        line, col = _loc(node)

        def for_loop() -> Any:
            a = start()
            b = end()
            if is_na(a) or is_na(b):
                return NA
            if step is not None:
                st = step()
                if is_na(st) or st == 0:
                    raise PineRuntimeError("for loop step is na or zero", line, col)
                st = abs(st) if b >= a else -abs(st)
            else:
                st = 1 if b >= a else -1
            k = a
            result = NA
            while (k <= b) if st > 0 else (k >= b):
                iters[0] += 1
                if iters[0] & 0xFFFF == 0:
                    check_clock()
                if iters[0] > limit:
                    over()
                frame[slot] = k
                r = run()
                if r is BREAK:
                    break
                result = value()
                k = frame[slot] + st if frame[slot] == k else k + st
                if reeval_end:
                    b = end()
                    if is_na(b):
                        break
            return result

        return for_loop

    def _for_in(self, node: ir.ForIn, env: _Env) -> Fn:
        item_frame = self._frame(node.item, env)
        item_slot = node.item.slot
        idx = (self._frame(node.index, env), node.index.slot) if node.index is not None else None
        iterable = self._expr(node.iterable, env)
        run, value = self._loop_body(node.body, env)
        iters = self.iters
        limit = self.limits.max_loop_iterations_per_bar
        over = self._loop_guard(node)
        loop_line, loop_col = _loc(node)
        check_clock = lambda: self.check_wall_clock(loop_line, loop_col)  # noqa: E731
        line, col = _loc(node)

        def for_in() -> Any:
            seq = iterable()
            if isinstance(seq, PineMatrix):
                seq = [PineArray(r) for r in seq.rows_data]
            elif isinstance(seq, PineMap):
                if idx is None:
                    raise PineRuntimeError("for...in over a map needs a [key, value] pair", line, col)
                result = NA
                for key, val in list(seq.items()):
                    iters[0] += 1
                    if iters[0] & 0xFFFF == 0:
                        check_clock()
                    if iters[0] > limit:
                        over()
                    idx[0][idx[1]] = key
                    item_frame[item_slot] = val
                    r = run()
                    if r is BREAK:
                        break
                    result = value()
                return result
            elif is_na(seq):
                return NA
            result = NA
            k = 0
            # Pine iterates over the array as it changes (size re-read every iteration)
            while k < len(seq):
                iters[0] += 1
                if iters[0] & 0xFFFF == 0:
                    check_clock()
                if iters[0] > limit:
                    over()
                item_frame[item_slot] = seq[k]
                if idx is not None:
                    idx[0][idx[1]] = k
                r = run()
                if r is BREAK:
                    break
                result = value()
                k += 1
            return result

        return for_in

    def _while(self, node: ir.While, env: _Env) -> Fn:
        cond = self._cond(node.cond, env.child(True))
        run, value = self._loop_body(node.body, env)
        iters = self.iters
        limit = self.limits.max_loop_iterations_per_bar
        over = self._loop_guard(node)
        loop_line, loop_col = _loc(node)
        check_clock = lambda: self.check_wall_clock(loop_line, loop_col)  # noqa: E731

        def while_loop() -> Any:
            result = NA
            while cond():
                iters[0] += 1
                if iters[0] & 0xFFFF == 0:
                    check_clock()
                if iters[0] > limit:
                    over()
                r = run()
                if r is BREAK:
                    break
                result = value()
            return result

        return while_loop

    # ------------------------------------------------------------------------------------ objects
    def _new_object(self, node: ir.NewObject, env: _Env) -> Fn:
        tdef = self.program.types.get(node.type_name)
        line, col = _loc(node)
        if tdef is None:
            raise PineRuntimeError(f"unknown type {node.type_name}", line, col)
        given = {name: self._expr(e, env) for name, e in node.fields.items()}
        defaults = {}
        for fd in tdef.fields:
            if fd.name not in given:
                defaults[fd.name] = self._expr(fd.default, self.global_env.child(True)) if fd.default is not None \
                    else (lambda: NA)
        order = [fd.name for fd in tdef.fields]
        tname = node.type_name
        float_fields = {fd.name for fd in tdef.fields if fd.declared_type is not None and fd.declared_type.name == "float"}

        def new_object() -> PineObject:
            vals = {}
            for name in order:
                f = given.get(name) or defaults[name]
                v = f()
                if name in float_fields and v.__class__ is int:
                    v = float(v)
                vals[name] = v
            return PineObject(tname, vals)

        return new_object

    # ------------------------------------------------------------------------------------ calls
    def _user_call(self, node: ir.UserCall, env: _Env) -> Fn:
        line, col = _loc(node)
        fdef = self.program.functions.get(node.key)
        if fdef is None:
            raise PineRuntimeError(f"unknown function {node.name}", line, col)
        if env.depth >= MAX_CALL_DEPTH:
            raise PineRuntimeError(f"function calls nested too deeply (recursion in '{node.name}'?)", line, col)
        self._instances += 1
        if self._instances > MAX_FUNCTION_INSTANCES:
            raise PineRuntimeError(
                f"script too complex: more than {MAX_FUNCTION_INSTANCES} function call sites after expanding "
                f"nested calls (each call site keeps its own series state)", line, col)
        arg_fns: list[Fn] = []
        param_vecs: dict[int, Any] = {}
        for k, p in enumerate(fdef.params):
            a = node.args[k] if k < len(node.args) else None
            if a is None:
                a = p.default
            if a is None:
                arg_fns.append(lambda: NA)
                continue
            arg_fns.append(self._expr(a, env))
            if self.vectorize and not env.cond:
                vec = self._vec(a, env)
                if vec is not None:
                    param_vecs[p.slot] = vec
        frame: list = [NA] * max(fdef.n_slots, len(fdef.params))
        self.state.append(frame)
        fenv = _Env(frame, "local", fdef, env.cond, env.depth + 1, param_vecs)
        info = self._func_hist_info.get(fdef.key, _HistoryInfo())
        for slot in fdef.history_slots:
            info.static_max.setdefault(slot, 1)
        self._setup_history(fenv, info)
        body = self._value_block(fdef.body, fenv)
        hist_items = [(slot, h, fenv.hist_caps[slot]) for slot, h in fenv.hist.items()]
        nparams = len(fdef.params)
        float_params = [p.slot for p in fdef.params if p.declared_type is not None and p.declared_type.name == "float"]

        def call() -> Any:
            vals = [f() for f in arg_fns]
            for k in range(nparams):
                frame[k] = vals[k]
            for s in float_params:
                if frame[s].__class__ is int:
                    frame[s] = float(frame[s])
            try:
                result = body()
            except _LoopFlow:
                result = NA
            for slot, h, cap in hist_items:
                h.append(frame[slot])
                if len(h) > cap + 256:
                    del h[: len(h) - cap]
            return result

        if nparams == 0 and not hist_items:
            def call0() -> Any:
                try:
                    return body()
                except _LoopFlow:
                    return NA

            return call0
        return call

    def _input_value(self, node: ir.InputValue, env: _Env) -> Fn:
        spec = self.inputs_specs[node.index] if node.index < len(self.inputs_specs) else None
        kind = getattr(spec, "kind", None)
        if node.index in self.input_values:
            v = self.input_values[node.index]
        else:
            v = getattr(spec, "defval", NA)
        if kind == "source":
            if isinstance(v, str) and v in SERIES_BUILTINS:
                return self._builtin_var(ir.BuiltinVar(node.span, v), env)
            if node.default_expr is not None:
                return self._expr(node.default_expr, env)
            return self._builtin_var(ir.BuiltinVar(node.span, "close"), env)
        if kind == "enum" and isinstance(v, str) and spec is not None:
            for opt in spec.options or []:
                if isinstance(opt, ir.EnumValue) and v in (opt.member, opt.title):
                    v = opt
                    break
        if kind == "float" and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if v is None:
            v = NA
        return lambda: v

    def _builtin_call(self, node: ir.BuiltinCall, env: _Env) -> Fn:
        from .builtin_calls import compile_builtin_call

        return compile_builtin_call(self, node, env)

    def _builtin_var(self, node: ir.BuiltinVar, env: _Env) -> Fn:
        from .builtin_vars import compile_builtin_var

        return compile_builtin_var(self, node, env)

    def _series_array(self, name: str) -> Callable[[int], Any]:
        """Indexer ``j -> value`` of a bar-data series at bar j (for history reads)."""
        b = self.bars
        if name == "open":
            return b.o.__getitem__
        if name == "high":
            return b.h.__getitem__
        if name == "low":
            return b.l.__getitem__
        if name == "close":
            return b.c.__getitem__
        if name == "volume":
            return b.v.__getitem__
        if name == "time":
            return b.t.__getitem__
        if name == "bar_index":
            return lambda j: j
        h, low, c, o = b.h, b.l, b.c, b.o
        if name == "hl2":
            return lambda j: (h[j] + low[j]) / 2.0
        if name == "hlc3":
            return lambda j: (h[j] + low[j] + c[j]) / 3.0
        if name == "ohlc4":
            return lambda j: (o[j] + h[j] + low[j] + c[j]) / 4.0
        if name == "hlcc4":
            return lambda j: (h[j] + low[j] + c[j] + c[j]) / 4.0
        raise KeyError(name)

    # ------------------------------------------------------------------------------------ vectors
    def _vec(self, node: ir.Expr | None, env: _Env) -> Any:
        """Whole-series value of ``node`` (numpy array or Python scalar), or None if it is not static."""
        from .vectorize import vectorize_expr

        if node is None or not self.vectorize:
            return None
        return vectorize_expr(self, node, env)

    # ------------------------------------------------------------------------------------ snapshots
    def snapshot(self) -> list:
        # one deepcopy of the whole list keeps objects shared between frames shared after restore
        return _copy.deepcopy(self.state)

    def restore(self, snap: list, *, copy: bool = True) -> None:
        """``copy=False``: ``snap`` is not used again by the caller (e.g. just unpickled) and is taken over."""
        if len(snap) != len(self.state):
            raise ValueError("snapshot does not match this program (state layout differs)")
        fresh = _copy.deepcopy(snap) if copy else snap
        for obj, saved in zip(self.state, fresh, strict=True):
            _restore(obj, saved)


_BOOL_RESULT_CALLS = frozenset({"ta.crossover", "ta.crossunder", "ta.cross", "ta.rising", "ta.falling", "na"})


def _is_const_int(e: ir.Expr) -> bool:
    ty = getattr(e, "ty", None)
    return ty is not None and ty.base == "int" and ty.qualifier == "const"


def _restore(obj: Any, saved: Any) -> None:
    if isinstance(obj, list):
        obj[:] = saved
    elif isinstance(obj, dict):
        obj.clear()
        obj.update(saved)
    else:
        fresh = saved
        if hasattr(fresh, "__dict__"):
            obj.__dict__.clear()
            obj.__dict__.update(fresh.__dict__)
        for cls in type(obj).__mro__:
            for s in getattr(cls, "__slots__", ()):
                if s == "__dict__":
                    continue
                if hasattr(fresh, s):
                    setattr(obj, s, getattr(fresh, s))


_EXPR_DISPATCH: dict[type, Callable[[Script, Any, _Env], Fn]] = {
    ir.Const: Script._const,
    ir.VarRef: Script._varref,
    ir.BuiltinVar: Script._builtin_var,
    ir.Index: Script._index,
    ir.Unary: Script._unary,
    ir.Binary: Script._binary,
    ir.Ternary: Script._ternary,
    ir.FieldAccess: Script._field,
    ir.TupleExpr: Script._tuple,
    ir.BuiltinCall: Script._builtin_call,
    ir.UserCall: Script._user_call,
    ir.NewObject: Script._new_object,
    ir.InputValue: Script._input_value,
    ir.If: Script._if_expr,
    ir.Switch: Script._switch_expr,
    ir.For: Script._for,
    ir.ForIn: Script._for_in,
    ir.While: Script._while,
}

__all__ = ["Limits", "Outputs", "PineObject", "PineRuntimeError", "Script"]
