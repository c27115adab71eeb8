"""Static analysis that turns expressions depending only on bar data, inputs and constants into whole
series (numpy arrays) before the bar loop, so ``ta.*`` calls on them run vectorized.

``vectorize_expr`` returns a numpy array (one value per bar), a tuple of arrays (tuple-valued ta
functions), a Python scalar (constant), or ``None`` when the expression depends on per-bar script state.
``static_value`` returns the compile-time constant value of an expression or raises ``NotStatic``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import ir
from . import ta_bridge
from .builtins_impl import PURE_FUNCTIONS

if TYPE_CHECKING:
    from .evaluator import Script, _Env

NA = math.nan
_MISSING = object()


class NotStatic(Exception):
    pass


_STATIC_BUILTIN_VARS = {
    "syminfo.mintick", "syminfo.pointvalue", "syminfo.ticker", "syminfo.tickerid", "syminfo.timezone",
    "syminfo.currency", "syminfo.type", "syminfo.prefix", "syminfo.root", "syminfo.basecurrency",
    "syminfo.main_tickerid", "syminfo.pricescale", "syminfo.minmove", "timeframe.period",
    "timeframe.multiplier", "timeframe.isintraday", "timeframe.isdaily", "timeframe.isweekly",
    "timeframe.ismonthly", "timeframe.isminutes", "timeframe.isseconds", "timeframe.isdwm",
    "timeframe.main_period", "strategy.initial_capital",
}  # fmt: skip

_STATIC_PURE = {"math.abs", "math.max", "math.min", "math.round", "math.floor", "math.ceil", "math.pow",
                "math.sqrt", "math.log", "math.exp", "math.sign", "math.avg", "str.tostring", "str.format",
                "str.upper", "str.lower", "color.new", "color.rgb", "str.length", "str.contains"}


def static_value(script: Script, node: ir.Expr | None, env: _Env | None = None) -> Any:
    """Compile-time value of a constant expression (constants, inputs, syminfo/timeframe, arithmetic)."""
    if node is None:
        raise NotStatic
    if isinstance(node, ir.Const):
        return NA if node.value is None else node.value
    if isinstance(node, ir.InputValue):
        spec = script.inputs_specs[node.index] if node.index < len(script.inputs_specs) else None
        if getattr(spec, "kind", None) == "source":
            raise NotStatic
        v = script.input_values.get(node.index, getattr(spec, "defval", NA))
        return NA if v is None else v
    if isinstance(node, ir.BuiltinVar) and node.name in _STATIC_BUILTIN_VARS:
        from .builtin_vars import static_builtin_value

        return static_builtin_value(script, node.name)
    if isinstance(node, ir.Unary):
        v = static_value(script, node.operand, env)
        if node.op == "-":
            return -v
        if node.op == "not":
            return not v
        return v
    if isinstance(node, ir.Binary):
        a = static_value(script, node.left, env)
        b = static_value(script, node.right, env)
        return _scalar_binary(script, node, a, b)
    if isinstance(node, ir.Ternary):
        c = static_value(script, node.cond, env)
        return static_value(script, node.then if c else node.orelse, env)
    if isinstance(node, ir.VarRef) and node.scope == "global" and env is not None:
        decl = script._top_decl.get(node.slot)
        if decl is not None and not isinstance(decl, tuple) and ("global", node.slot) not in script._assigned:
            return static_value(script, decl, env)
    if isinstance(node, ir.BuiltinCall) and node.name in ("ticker.new", "ticker.modify", "ticker.standard"):
        args = [static_value(script, a, env) if a is not None else None for a in node.args]
        if node.name == "ticker.new":
            prefix, ticker = args[0], args[1]
            return f"{prefix}:{ticker}" if prefix and prefix == prefix else str(ticker)
        return args[0] if args and args[0] is not None and args[0] == args[0] else \
            static_value(script, ir.BuiltinVar(node.span, "syminfo.tickerid"), env)
    if isinstance(node, ir.BuiltinCall) and node.name in _STATIC_PURE:
        args = [static_value(script, a, env) if a is not None else _MISSING for a in node.args]
        args = _apply_defaults(node, args)
        return PURE_FUNCTIONS[node.name](*args)
    raise NotStatic


def _apply_defaults(node: ir.BuiltinCall, args: list) -> list:
    from ..builtins import FUNCTIONS

    if not node.param_names:
        return [a for a in args if a is not _MISSING]
    sigs = FUNCTIONS.get(node.name) or []
    sig = next((s for s in sigs if s.param_names == node.param_names), sigs[0] if sigs else None)
    out = []
    for k, a in enumerate(args):
        if a is _MISSING:
            d = sig.params[k].default if sig is not None and k < len(sig.params) else None
            out.append(NA if d is None else d)
        else:
            out.append(a)
    return out


def _scalar_binary(script: Script, node: ir.Binary, a: Any, b: Any) -> Any:
    op = node.op
    if op == "and":
        return bool(a and b)
    if op == "or":
        return bool(a or b)
    if op in ("==", "!=", "<", ">", "<=", ">="):
        try:
            return {"==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        except TypeError:
            return False
    return script._binop_fn(op, node, node.left, node.right)(a, b)


def vectorize_expr(script: Script, node: ir.Expr, env: _Env) -> Any:
    key = (id(node), id(env.frame))
    cache = script._vec_cache
    if key in cache:
        return cache[key]
    try:
        result = _vec(script, node, env)
    except NotStatic:
        result = None
    except (ValueError, TypeError, ZeroDivisionError, OverflowError):
        result = None
    cache[key] = result
    return result


def _bars(script: Script) -> ta_bridge.Bars:
    b = getattr(script, "_np_bars", None)
    if b is None:
        d = script.bars.numpy()
        b = ta_bridge.Bars(d["open"], d["high"], d["low"], d["close"], d["volume"])
        script._np_bars = b
    return b


def series_array(script: Script, name: str) -> np.ndarray | None:
    B = _bars(script)
    if name == "open":
        return B.o
    if name == "high":
        return B.h
    if name == "low":
        return B.l
    if name == "close":
        return B.c
    if name == "volume":
        return B.v
    if name == "hl2":
        return (B.h + B.l) / 2.0
    if name == "hlc3":
        return (B.h + B.l + B.c) / 3.0
    if name == "ohlc4":
        return (B.o + B.h + B.l + B.c) / 4.0
    if name == "hlcc4":
        return (B.h + B.l + B.c + B.c) / 4.0
    if name == "time":
        return np.asarray(script.bars.t, dtype=np.float64)
    if name == "bar_index":
        return np.arange(len(script.bars.t), dtype=np.float64)
    return None


def _vec(script: Script, node: ir.Expr, env: _Env) -> Any:
    if isinstance(node, ir.Const | ir.InputValue) or (isinstance(node, ir.BuiltinVar) and node.name in _STATIC_BUILTIN_VARS):
        if isinstance(node, ir.InputValue):
            spec = script.inputs_specs[node.index] if node.index < len(script.inputs_specs) else None
            if getattr(spec, "kind", None) == "source":
                v = script.input_values.get(node.index, getattr(spec, "defval", "close"))
                arr = series_array(script, v) if isinstance(v, str) else None
                if arr is None and node.default_expr is not None:
                    return _vec(script, node.default_expr, env)
                if arr is None:
                    raise NotStatic
                return arr
        return static_value(script, node, env)
    if isinstance(node, ir.BuiltinVar):
        arr = series_array(script, node.name)
        if arr is not None:
            return arr
        spec = ta_bridge.VAR_SPECS.get(node.name)
        if spec is not None and node.name != "ta.vwap":
            return np.asarray(spec.vec(_bars(script), []), dtype=np.float64)
        raise NotStatic
    if isinstance(node, ir.VarRef):
        if node.scope == "local":
            v = env.param_vecs.get(node.slot, _MISSING)
            if v is _MISSING or v is None:
                raise NotStatic
            return v
        if ("global", node.slot) in script._assigned:
            raise NotStatic
        decl = script._top_decl.get(node.slot)
        if decl is None:
            raise NotStatic
        genv = script.global_env
        if isinstance(decl, tuple):
            _, value, k = decl
            v = vectorize_expr(script, value, genv)
            if isinstance(v, tuple) and k < len(v):
                return v[k]
            raise NotStatic
        v = vectorize_expr(script, decl, genv)
        if v is None:
            raise NotStatic
        return v
    if isinstance(node, ir.Unary):
        v = _vec(script, node.operand, env)
        if node.op == "-":
            return -v
        if node.op == "not":
            return ~_as_bool(v) if isinstance(v, np.ndarray) else (not v)
        return v
    if isinstance(node, ir.Binary):
        a = _vec(script, node.left, env)
        b = _vec(script, node.right, env)
        if not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray):
            return _scalar_binary(script, node, a, b)
        if isinstance(a, tuple) or isinstance(b, tuple) or isinstance(a, str) or isinstance(b, str):
            raise NotStatic
        return _array_binary(node.op, a, b)
    if isinstance(node, ir.Ternary):
        if _has_stateful_call(node.then) or _has_stateful_call(node.orelse):
            raise NotStatic
        c = _vec(script, node.cond, env)
        a = _vec(script, node.then, env)
        b = _vec(script, node.orelse, env)
        if not isinstance(c, np.ndarray):
            return a if c else b
        if isinstance(a, tuple | str) or isinstance(b, tuple | str):
            raise NotStatic
        return np.where(_as_bool(c), np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)) \
            if _numeric(a) and _numeric(b) else _raise()
    if isinstance(node, ir.Index):
        if not isinstance(node.offset, ir.Const) or not isinstance(node.offset.value, int):
            raise NotStatic
        base = _vec(script, node.target, env)
        if not isinstance(base, np.ndarray):
            if isinstance(base, tuple):
                raise NotStatic
            n = len(script.bars.t)
            base = np.full(n, base, dtype=np.float64)
        k = node.offset.value
        out = np.full(base.shape[0], np.nan) if base.dtype != np.bool_ else np.zeros(base.shape[0], dtype=bool)
        if k == 0:
            return base
        if k < base.shape[0]:
            out[k:] = base[:-k]
        return out
    if isinstance(node, ir.BuiltinCall):
        return _vec_call(script, node, env)
    raise NotStatic


def _raise() -> Any:
    raise NotStatic


def _numeric(x: Any) -> bool:
    return isinstance(x, np.ndarray) or (isinstance(x, int | float) and not isinstance(x, str))


def _as_bool(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.bool_:
        return x
    return np.where(np.isnan(x), False, x != 0)


def _array_binary(op: str, a: Any, b: Any) -> np.ndarray:
    if op in ("and", "or"):
        aa = _as_bool(np.asarray(a)) if isinstance(a, np.ndarray) else bool(a)
        bb = _as_bool(np.asarray(b)) if isinstance(b, np.ndarray) else bool(b)
        return np.logical_and(aa, bb) if op == "and" else np.logical_or(aa, bb)
    fa = np.asarray(a, dtype=np.float64) if not (isinstance(a, np.ndarray) and a.dtype == np.float64) else a
    fb = np.asarray(b, dtype=np.float64) if not (isinstance(b, np.ndarray) and b.dtype == np.float64) else b
    with np.errstate(all="ignore"):
        if op == "+":
            return fa + fb
        if op == "-":
            return fa - fb
        if op == "*":
            return fa * fb
        if op == "/":
            r = fa / fb
            return np.where(np.asarray(fb) == 0, np.nan, r)
        if op == "%":
            r = np.fmod(fa, fb)
            return np.where(np.asarray(fb) == 0, np.nan, r)
        if op == "==":
            return fa == fb
        if op == "!=":
            return (fa != fb) & ~np.isnan(fa) & ~np.isnan(fb)
        if op == "<":
            return fa < fb
        if op == ">":
            return fa > fb
        if op == "<=":
            return fa <= fb
        if op == ">=":
            return fa >= fb
    raise NotStatic


def _has_stateful_call(node: Any) -> bool:
    from .evaluator import _walk

    for n in _walk(node):
        if isinstance(n, ir.UserCall | ir.Index):
            return True
        if isinstance(n, ir.BuiltinCall) and (n.name.startswith(("ta.", "request.", "strategy.")) or n.name in (
                "fixnan", "math.sum")):
            return True
    return False


def ta_args(script: Script, node: ir.BuiltinCall) -> list[ir.Expr | None]:
    """Pine arguments of a ta call in the bridge's order (implicit sources made explicit)."""
    short = node.name[3:]
    args = list(node.args)
    implicit = ta_bridge.IMPLICIT_SOURCE.get(short)
    if implicit is not None and node.param_names and node.param_names[0] != "source":
        args = [ir.BuiltinVar(node.span, implicit), *args]
    return args


def default_for(node: ir.BuiltinCall, k: int) -> Any:
    from ..builtins import FUNCTIONS

    sigs = FUNCTIONS.get(node.name) or []
    sig = next((s for s in sigs if s.param_names == node.param_names), None)
    if sig is None:
        sig = max(sigs, key=lambda s: len(s.params)) if sigs else None
    if sig is None or k >= len(sig.params):
        return None
    return sig.params[k].default


def _vec_call(script: Script, node: ir.BuiltinCall, env: _Env) -> Any:
    name = node.name
    if name.startswith("ta."):
        short = name[3:]
        spec = ta_bridge.SPECS.get(short)
        if spec is None or short in ("pivot_point_levels", "vwap"):
            raise NotStatic
        exprs = ta_args(script, node)
        offset = 1 if len(exprs) != len(node.args) else 0
        args = []
        for k, e in enumerate(exprs):
            if e is None:
                d = default_for(node, k - offset)
                args.append(d)
                continue
            v = _vec(script, e, env)
            if isinstance(v, tuple):
                raise NotStatic
            if k in spec.simple and isinstance(v, np.ndarray):
                raise NotStatic  # a per-bar length: leave it to the streaming implementation
            args.append(v)
        while len(args) < 5:  # overloads with fewer parameters: the bridge indexes the longest signature
            args.append(None)
        n = len(script.bars.t)
        args = [np.full(n, a, dtype=np.float64) if (k not in spec.simple and isinstance(a, int | float)
                                                    and not isinstance(a, bool)) else
                (np.full(n, a, dtype=bool) if (k not in spec.simple and isinstance(a, bool)) else a)
                for k, a in enumerate(args)]
        for k in spec.simple:
            if k < len(args) and (args[k] is None or (isinstance(args[k], float) and args[k] != args[k])) \
                    and short not in ("stdev", "variance", "tr"):
                raise NotStatic
        res = spec.vec(_bars(script), args)
        if res is None:
            raise NotStatic
        if isinstance(res, tuple):
            return tuple(np.asarray(r) for r in res)
        res = np.asarray(res)
        if spec.returns_bool and res.dtype != np.bool_:
            res = np.where(np.isnan(res.astype(np.float64)), False, res != 0)
        return res
    if name == "nz":
        a = _vec(script, node.args[0], env)
        rep = _vec(script, node.args[1], env) if len(node.args) > 1 and node.args[1] is not None else 0.0
        if not isinstance(a, np.ndarray):
            return rep if (isinstance(a, float) and a != a) else a
        if a.dtype == np.bool_:
            return a
        return np.where(np.isnan(a), rep, a)
    if name in ("math.abs", "math.max", "math.min") and all(a is not None for a in node.args):
        vals = [_vec(script, a, env) for a in node.args]
        if not any(isinstance(v, np.ndarray) for v in vals):
            return PURE_FUNCTIONS[name](*vals)
        arrs = [np.asarray(v, dtype=np.float64) for v in vals]
        if name == "math.abs":
            return np.abs(arrs[0])
        out = arrs[0]
        for x in arrs[1:]:
            out = np.maximum(out, x) if name == "math.max" else np.minimum(out, x)
        return out
    raise NotStatic
