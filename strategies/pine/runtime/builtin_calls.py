"""Compilation of Pine built-in function calls (``BuiltinCall`` IR nodes) into closures.

Dispatch is by the qualified name from the front end's table, through explicit dictionaries; no user
identifier ever reaches ``getattr`` on a Python object or Python builtins.
"""

from __future__ import annotations

import inspect
import math
import re
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import ir
from . import ta_bridge
from .builtins_impl import PURE_FUNCTIONS, BuiltinError, PineArray, PineMap, PineMatrix, is_na, str_tostring
from .errors import PineRuntimeError
from .timeutil import (
    calendar_field,
    in_session,
    parse_timeframe,
    parse_timestamp_string,
    resolve_timezone,
    timeframe_from_seconds,
    timestamp_ms,
)
from .vectorize import NotStatic, default_for, static_value, ta_args

if TYPE_CHECKING:
    from .evaluator import Fn, Script, _Env

NA = math.nan


def _const(v: Any) -> Fn:
    return lambda: v


def _arg_fns(script: Script, node: ir.BuiltinCall, env: _Env) -> list[Fn]:
    fns = []
    for k, a in enumerate(node.args):
        if a is None:
            d = default_for(node, k)
            fns.append(_const(NA if d is None else d))
        else:
            fns.append(script._expr(a, env))
    return fns


def _wrap(fn: Callable[..., Any], fns: list[Fn], node: ir.BuiltinCall) -> Fn:
    line, col = node.span.line, node.span.col
    name = node.name

    def fail(exc: Exception) -> PineRuntimeError:
        if isinstance(exc, PineRuntimeError):
            return exc
        msg = str(exc) if isinstance(exc, BuiltinError) else f"{name}: {type(exc).__name__}: {exc}"
        return PineRuntimeError(msg, line, col)

    n = len(fns)
    if n == 0:
        def call0() -> Any:
            try:
                return fn()
            except Exception as exc:
                raise fail(exc) from None

        return call0
    if n == 1:
        (a,) = fns

        def call1() -> Any:
            try:
                return fn(a())
            except PineRuntimeError:
                raise
            except Exception as exc:
                raise fail(exc) from None

        return call1
    if n == 2:
        a, b = fns

        def call2() -> Any:
            try:
                return fn(a(), b())
            except PineRuntimeError:
                raise
            except Exception as exc:
                raise fail(exc) from None

        return call2
    fns_t = tuple(fns)

    def calln() -> Any:
        try:
            return fn(*[f() for f in fns_t])
        except PineRuntimeError:
            raise
        except Exception as exc:
            raise fail(exc) from None

    return calln


def compile_builtin_call(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    name = node.name
    if node.drawing:
        fns = [script._expr(a, env) for a in node.args if a is not None]

        def drawing() -> Any:
            for f in fns:
                f()
            return NA

        return drawing
    if node.method_syntax and name.startswith(("array.", "map.", "matrix.")) and node.args:
        recv_ty = getattr(node.args[0], "ty", None)
        if recv_ty is None or recv_ty.base not in ("array", "map", "matrix"):
            return _dynamic_method(script, node, env)
    handler = _HANDLERS.get(name)
    if handler is not None:
        return handler(script, node, env)
    if name.startswith("ta."):
        return _ta_call(script, node, env)
    if name.startswith(("strategy.closedtrades.", "strategy.opentrades.")):
        return _trade_query(script, node, env)
    if name.startswith("strategy.risk."):
        return _risk(script, node, env)
    if name.startswith("input"):
        fns = _arg_fns(script, node, env)
        return fns[0] if fns else _const(NA)
    fn = PURE_FUNCTIONS.get(name)
    if fn is not None:
        return _wrap(fn, _arg_fns(script, node, env), node)
    raise PineRuntimeError(f"built-in function '{name}' is not supported by the runtime", node.span.line,
                           node.span.col)


def _dynamic_method(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    """``x.member(...)`` on a receiver whose collection type is only known at run time."""
    member = node.name.split(".", 1)[1]
    fns = _arg_fns(script, node, env)
    line, col = node.span.line, node.span.col
    table = {PineArray: PURE_FUNCTIONS.get(f"array.{member}"), PineMap: PURE_FUNCTIONS.get(f"map.{member}"),
             PineMatrix: PURE_FUNCTIONS.get(f"matrix.{member}")}
    fns_t = tuple(fns)

    def dynamic_method() -> Any:
        vals = [f() for f in fns_t]
        fn = table.get(type(vals[0]))
        if fn is None:
            kind = "na" if is_na(vals[0]) else type(vals[0]).__name__
            raise PineRuntimeError(f"method '{member}' cannot be called on a {kind} value", line, col)
        try:
            return fn(*vals)
        except PineRuntimeError:
            raise
        except Exception as exc:
            msg = str(exc) if isinstance(exc, BuiltinError) else f"{member}: {type(exc).__name__}: {exc}"
            raise PineRuntimeError(msg, line, col) from None

    return dynamic_method


# --------------------------------------------------------------------------------------------- ta


def _ta_call(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    short = node.name[3:]
    spec = ta_bridge.SPECS.get(short)
    line, col = node.span.line, node.span.col
    if spec is None:
        raise PineRuntimeError(f"'{node.name}' is not supported by the runtime", line, col)
    IX = script.IX
    if script.vectorize and not env.cond:
        vec = script._vec(node, env)
        if vec is not None:
            if isinstance(vec, tuple):
                lists = [np.asarray(v).tolist() for v in vec]
                if len(lists) == 2:
                    l0, l1 = lists
                    return lambda: (l0[IX[0]], l1[IX[0]])
                if len(lists) == 3:
                    l0, l1, l2 = lists
                    return lambda: (l0[IX[0]], l1[IX[0]], l2[IX[0]])
                return lambda: tuple(x[IX[0]] for x in lists)
            if isinstance(vec, np.ndarray):
                lst = vec.tolist()
                return lambda: lst[IX[0]]
            return _const(vec)
    # streaming: one instance per call site
    exprs = ta_args(script, node)
    offset = 1 if len(exprs) != len(node.args) else 0
    fns: list[Fn] = []
    statics: list[Any] = []
    for k, e in enumerate(exprs):
        if e is None:
            d = default_for(node, k - offset)
            fns.append(_const(NA if d is None else d))
            statics.append(d)
            continue
        fns.append(script._expr(e, env))
        try:
            statics.append(static_value(script, e, env))
        except NotStatic:
            statics.append(None)
    while len(fns) < 5:  # overloads with fewer parameters: the bridge indexes the longest signature
        fns.append(_const(NA))
        statics.append(None)
    b = script.bars
    simple = spec.simple
    dynamic_simple = [k for k in simple if k < len(exprs) and exprs[k] is not None and statics[k] is None]
    holder: list[Any] = [None, None]  # [instance, constructor args]
    script.state.append(holder)
    if not dynamic_simple:
        try:
            holder[0] = spec.make(statics)
        except (ValueError, TypeError) as exc:
            raise PineRuntimeError(f"{node.name}: {exc}", line, col) from None
        holder[1] = tuple(statics[k] for k in simple if k < len(statics))
    step = spec.step
    returns_bool = spec.returns_bool
    name = node.name
    vwap_default_anchor = short == "vwap" and (len(node.args) < 2 or node.args[1] is None)
    dk = b.day_key
    fns_t = tuple(fns)

    def ta_stream() -> Any:
        i = IX[0]
        args = [f() for f in fns_t]
        inst = holder[0]
        if dynamic_simple:
            key = tuple(args[k] for k in simple if k not in (spec.dyn_len,))
            if inst is None or holder[1] != key:
                if inst is not None and spec.dyn_len is None:
                    raise PineRuntimeError(f"{name}: argument must be constant on every bar "
                                           f"(simple), it changed from {holder[1]} to {key}", line, col)
                if inst is None:
                    try:
                        inst = holder[0] = spec.make(
                            [None if (k == spec.dyn_len) else a for k, a in enumerate(args)])
                    except (ValueError, TypeError) as exc:
                        raise PineRuntimeError(f"{name}: {exc}", line, col) from None
                holder[1] = key
        if vwap_default_anchor:
            args[1] = i == 0 or dk[i] != dk[i - 1]
        try:
            v = step(inst, (b.o[i], b.h[i], b.l[i], b.c[i], b.v[i]), args)
        except (ValueError, TypeError) as exc:
            raise PineRuntimeError(f"{name}: {exc}", line, col) from None
        if returns_bool:
            return v is True or (v.__class__ is not bool and _truthy_num(v))
        if isinstance(v, list):
            return PineArray(v)
        return v

    return ta_stream


def _truthy_num(v: Any) -> bool:
    return v is not None and v == v and bool(v)


# --------------------------------------------------------------------------------------------- general


def _na(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    f = script._expr(node.args[0], env)

    def na() -> bool:
        v = f()
        return v is None or (v.__class__ is float and v != v)

    return na


def _nz(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    f = script._expr(node.args[0], env)
    ty = getattr(node.args[0], "ty", None)
    if len(node.args) > 1 and node.args[1] is not None:
        r = script._expr(node.args[1], env)
    else:
        zero: Any = 0 if ty is not None and ty.base == "int" else 0.0
        if ty is not None and ty.base == "bool":
            zero = False
        r = _const(zero)

    def nz() -> Any:
        v = f()
        if v is None or (v.__class__ is float and v != v):
            return r()
        return v

    return nz


def _fixnan(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    f = script._expr(node.args[0], env)
    last = [NA]
    script.state.append(last)

    def fixnan() -> Any:
        v = f()
        if v is None or (v.__class__ is float and v != v):
            return last[0]
        last[0] = v
        return v

    return fixnan


def _cast(kind: str) -> Callable:
    def handler(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
        f = script._expr(node.args[0], env)
        if kind == "int":
            def to_int() -> Any:
                v = f()
                if v is None or (v.__class__ is float and v != v):
                    return NA
                if isinstance(v, str):
                    return NA
                return int(v)

            return to_int
        if kind == "float":
            def to_float() -> Any:
                v = f()
                if v is None:
                    return NA
                try:
                    return float(v)
                except (TypeError, ValueError):
                    return NA

            return to_float
        if kind == "bool":
            from .evaluator import _truth

            return lambda: _truth(f())
        return f

    return handler


def _math_sum(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    src = script._expr(node.args[0], env)
    length = script._expr(node.args[1], env)
    buf: deque = deque()
    state = [0.0]
    script.state.append(buf)
    script.state.append(state)
    line, col = node.span.line, node.span.col

    def math_sum() -> Any:
        x = src()
        n = length()
        if is_na(n) or int(n) < 1:
            raise PineRuntimeError("math.sum: length must be >= 1", line, col)
        n = int(n)
        buf.append(x)
        while len(buf) > n:
            buf.popleft()
        if len(buf) < n:
            return NA
        total = 0.0
        for v in buf:
            if v is None or v != v:
                return NA
            total += v
        return total

    return math_sum


def _round_to_mintick(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    f = script._expr(node.args[0], env)
    mintick = float(getattr(script.symbol, "mintick", 0.01) or 0.01)

    def rtm() -> Any:
        v = f()
        if is_na(v):
            return NA
        return math.floor(v / mintick + 0.5) * mintick

    return rtm


def _str_tostring(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    fns = _arg_fns(script, node, env)
    mintick = float(getattr(script.symbol, "mintick", 0.01) or 0.01)
    from .builtins_impl import format_number

    def tostring(v: Any, fmt: Any = None) -> Any:
        if isinstance(v, ir.EnumValue):
            return v.title
        if isinstance(v, int | float) and not isinstance(v, bool) and fmt in ("mintick", "price"):
            return format_number(v, "mintick", mintick)
        return str_tostring(v, None if is_na(fmt) else fmt)

    return _wrap(tostring, fns, node)


def _udt_copy(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    from .evaluator import PineObject

    f = script._expr(node.args[0], env)

    def copy_obj() -> Any:
        o = f()
        if o.__class__ is PineObject:
            return PineObject(o.type_name, dict(o.fields))
        return o

    return copy_obj


def _noop(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    return _const(NA)


def _runtime_error(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    f = script._expr(node.args[0], env)
    line, col = node.span.line, node.span.col

    def runtime_error() -> Any:
        raise PineRuntimeError(str(f()), line, col)

    return runtime_error


def _log(level: str) -> Callable:
    def handler(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
        fns = [script._expr(a, env) for a in node.args if a is not None]
        IX = script.IX
        logs = script.outputs.logs
        from .builtins_impl import str_format

        def log() -> Any:
            vals = [f() for f in fns]
            msg = str_format(vals[0], *vals[1:]) if vals else ""
            if script.context == "chart":
                logs.append({"bar_index": IX[0], "time": script.bars.t[IX[0]], "level": level, "message": msg})
            return NA

        return log

    return handler


# --------------------------------------------------------------------------------------------- time


def _calendar_fn(field: str) -> Callable:
    def handler(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
        t = script._expr(node.args[0], env)
        tz_fn = script._expr(node.args[1], env) if len(node.args) > 1 and node.args[1] is not None else None
        default_tz = script.tz
        cal = script.bars.cal[field]
        times = script.bars.t
        IX = script.IX

        def calendar() -> Any:
            v = t()
            tz = default_tz if tz_fn is None else (tz_fn() or default_tz)
            if tz_fn is None and v == times[IX[0]]:
                return cal[IX[0]]
            try:
                return calendar_field(field, v, tz)
            except ValueError as exc:
                raise PineRuntimeError(str(exc), node.span.line, node.span.col) from None

        return calendar

    return handler


def _timestamp(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    fns = _arg_fns(script, node, env)
    line, col = node.span.line, node.span.col
    first = node.param_names[0] if node.param_names else None
    tz_default = script.tz

    if first == "dateString":
        try:
            v = parse_timestamp_string(str(static_value(script, node.args[0], env)))
        except (NotStatic, ValueError) as exc:
            raise PineRuntimeError(f"timestamp: {exc}", line, col) from None
        return _const(v)

    def ts() -> Any:
        vals = [f() for f in fns]
        try:
            if first == "timezone":
                return timestamp_ms(vals[0] or tz_default, *vals[1:])
            return timestamp_ms(tz_default, *vals)
        except ValueError as exc:
            raise PineRuntimeError(f"timestamp: {exc}", line, col) from None

    return ts


def _time_fn(close: bool) -> Callable:
    def handler(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
        from .timeutil import next_bucket_start

        fns = _arg_fns(script, node, env)
        IX = script.IX
        times = script.bars.t
        chart_tf = script.tf
        tz_default = script.tz
        line, col = node.span.line, node.span.col
        cache: dict[tuple, Any] = {}

        def time_fn() -> Any:
            i = IX[0]
            tf_s = fns[0]()
            session = fns[1]() if len(fns) > 1 else NA
            tz = fns[2]() if len(fns) > 2 else NA
            bars_back = fns[3]() if len(fns) > 3 else 0
            tz = tz_default if is_na(tz) or not tz else tz
            j = i - (0 if is_na(bars_back) else int(bars_back))
            if j < 0 or j >= len(times):
                return NA
            t = times[j]
            if not is_na(session) and session and not in_session(t, session, tz):
                return NA
            if is_na(tf_s) or tf_s == "" or tf_s == chart_tf.period:
                return t + script.tf_ms if close else t
            key = (tf_s, tz, t)
            v = cache.get(key)
            if v is None:
                try:
                    tf = parse_timeframe(tf_s)
                except ValueError as exc:
                    raise PineRuntimeError(str(exc), line, col) from None
                start = bucket_start_scalar(t, tf, tz, script.bars.session_start_min)
                v = next_bucket_start(start, tf, tz) if close else start
                if len(cache) > 4096:
                    cache.clear()
                cache[key] = v
            return v

        return time_fn

    return handler


def bucket_start_scalar(t: int, tf: Any, tz: str, session_start_min: int = 0) -> int:
    """Start (UTC ms) of the ``tf`` bar containing time ``t`` in the exchange calendar."""
    from datetime import timedelta

    tzinfo = resolve_timezone(tz)
    if tf.isseconds:
        step = tf.in_seconds * 1000
        return t - t % step
    dt = datetime.fromtimestamp(t / 1000.0, tz=tzinfo)
    if tf.isintraday:
        step = tf.in_seconds * 1000
        offset_ms = int(dt.utcoffset().total_seconds() * 1000) if dt.utcoffset() else 0
        local = t + offset_ms - session_start_min * 60_000
        return t - (local % step)
    shifted = (dt - timedelta(minutes=session_start_min)).replace(tzinfo=None)
    day = shifted.replace(hour=0, minute=0, second=0, microsecond=0)
    if tf.isdaily:
        if tf.multiplier > 1:
            days = (day - datetime(1970, 1, 1)).days
            day = day - timedelta(days=days % tf.multiplier)
        start_local = day
    elif tf.isweekly:
        start_local = day - timedelta(days=day.weekday())
        if tf.multiplier > 1:
            weeks = (start_local - datetime(1970, 1, 5)).days // 7
            start_local -= timedelta(days=7 * (weeks % tf.multiplier))
    else:
        months = (day.year - 1970) * 12 + day.month - 1
        months -= months % tf.multiplier
        start_local = datetime(1970 + months // 12, months % 12 + 1, 1)
    start_local += timedelta(minutes=session_start_min)
    return int(start_local.replace(tzinfo=tzinfo).timestamp() * 1000)


def _format_time(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    fns = _arg_fns(script, node, env)
    tz_default = script.tz

    def format_time(t: Any, fmt: Any = None, tz: Any = None) -> Any:
        if is_na(t):
            return None
        dt = datetime.fromtimestamp(t / 1000.0, tz=resolve_timezone(tz if not is_na(tz) and tz else tz_default))
        if is_na(fmt) or not fmt:
            fmt = "yyyy-MM-dd'T'HH:mm:ssZ"
        return _java_format(dt, str(fmt))

    return _wrap(format_time, fns, node)


_JAVA_TOKENS = re.compile(r"'[^']*'|y+|M+|d+|H+|h+|m+|s+|S+|a|Z+|z+|E+|D+|u+")


def _java_format(dt: datetime, fmt: str) -> str:
    def repl(m: re.Match) -> str:
        tok = m.group(0)
        c = tok[0]
        n = len(tok)
        if c == "'":
            return tok[1:-1] if len(tok) > 2 else "'"
        if c == "y":
            return str(dt.year)[-2:] if n == 2 else str(dt.year)
        if c == "M":
            return dt.strftime("%B") if n >= 4 else (dt.strftime("%b") if n == 3 else str(dt.month).zfill(n))
        if c == "d":
            return str(dt.day).zfill(n)
        if c == "H":
            return str(dt.hour).zfill(n)
        if c == "h":
            return str((dt.hour % 12) or 12).zfill(n)
        if c == "m":
            return str(dt.minute).zfill(n)
        if c == "s":
            return str(dt.second).zfill(n)
        if c == "S":
            return str(dt.microsecond // 1000).zfill(3)[:n]
        if c == "a":
            return "AM" if dt.hour < 12 else "PM"
        if c == "Z":
            return dt.strftime("%z")
        if c == "z":
            return dt.tzname() or ""
        if c == "E":
            return dt.strftime("%A") if n >= 4 else dt.strftime("%a")
        if c == "D":
            return str(dt.timetuple().tm_yday).zfill(n)
        if c == "u":
            return str(dt.isoweekday())
        return tok

    return _JAVA_TOKENS.sub(repl, fmt)


def _timeframe_in_seconds(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    f = script._expr(node.args[0], env) if node.args and node.args[0] is not None else None
    chart = script.tf

    def in_seconds() -> Any:
        s = f() if f is not None else None
        tf = chart if s is None or is_na(s) or s == "" else parse_timeframe(s)
        return tf.in_seconds

    return in_seconds


def _timeframe_from_seconds(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    f = script._expr(node.args[0], env)
    return lambda: timeframe_from_seconds(int(f()))


def _timeframe_change(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    f = script._expr(node.args[0], env)
    IX = script.IX
    times = script.bars.t
    tz = script.tz
    ssm = script.bars.session_start_min

    def change() -> bool:
        i = IX[0]
        if i == 0:
            return True
        tf = parse_timeframe(f())
        return bucket_start_scalar(times[i], tf, tz, ssm) != bucket_start_scalar(times[i - 1], tf, tz, ssm)

    return change


def _ticker(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    fns = _arg_fns(script, node, env)
    name = node.name

    def ticker(*vals: Any) -> Any:
        if name == "ticker.new":
            return f"{vals[0]}:{vals[1]}" if vals[0] else str(vals[1])
        return vals[0] if vals and not is_na(vals[0]) else static_value(script, ir.BuiltinVar(node.span, "syminfo.tickerid"))

    return _wrap(ticker, fns, node)


# --------------------------------------------------------------------------------------------- outputs


def _plot_title(script: Script, node: ir.BuiltinCall) -> str:
    idx = node.output_index
    specs = script.program.plots
    spec = specs[idx] if idx is not None and idx < len(specs) else None
    title = getattr(spec, "title", None)
    if not title:
        title = f"{node.name}#{idx if idx is not None else node.site}"
    plots = script.outputs.plots
    base, k = title, 2
    while title in plots and script._plot_sites.get(title) != node.site:
        title = f"{base} ({k})"
        k += 1
    return title


def _plot(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    if script.context != "chart":
        return _const(NA)
    name = node.name
    title = _plot_title(script, node)
    values: list = []
    script.outputs.plots[title] = values
    script.outputs.plot_kinds[title] = name
    script._plot_sites[title] = node.site
    script.state.append(values)
    IX = script.IX
    if name in ("bgcolor", "barcolor"):
        src = script._expr(node.args[0], env) if node.args and node.args[0] is not None else _const(None)
    elif name == "fill":
        src = script._expr(node.args[2], env) if len(node.args) > 2 and node.args[2] is not None else _const(None)
    elif name in ("plotcandle", "plotbar"):
        parts = [script._expr(a, env) for a in node.args[:4]]
        src = lambda: tuple(p() for p in parts)  # noqa: E731
    elif name == "hline":
        src = script._expr(node.args[0], env)
    else:
        src = script._expr(node.args[0], env) if node.args and node.args[0] is not None else _const(NA)
    fill_na = None if name in ("bgcolor", "barcolor", "fill") else NA
    if not script.keep_plots:
        def plot_unkept() -> Any:
            src()
            return NA

        return plot_unkept

    def plot() -> Any:
        i = IX[0]
        v = src()
        if v is True:
            v = 1.0
        elif v is False:
            v = 0.0
        while len(values) < i:
            values.append(fill_na)
        if len(values) == i:
            values.append(v)
        else:
            values[i] = v
        return NA

    return plot


def _alert(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    fns = _arg_fns(script, node, env)
    IX = script.IX
    alerts = script.outputs.alerts
    last_bar = [-1]
    script.state.append(last_bar)
    site = node.site

    def alert() -> Any:
        if script.context != "chart":
            return NA
        msg = fns[0]()
        freq = fns[1]() if len(fns) > 1 else "once_per_bar"
        freq = "once_per_bar" if is_na(freq) else str(freq).replace("freq_", "")
        i = IX[0]
        if freq == "once_per_bar" and last_bar[0] == i:
            return NA
        last_bar[0] = i
        alerts.append({"kind": "alert", "bar_index": i, "time": script.bars.t[i], "message": str_tostring(msg),
                       "freq": freq, "site": site})
        return NA

    return alert


_PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def render_placeholders(script: Script, text: str | None, i: int) -> str | None:
    if text is None:
        return None
    b = script.bars
    values = {
        "open": b.o[i], "high": b.h[i], "low": b.l[i], "close": b.c[i], "volume": b.v[i],
        "time": datetime.fromtimestamp(b.t[i] / 1000.0, tz=resolve_timezone("Etc/UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timenow": datetime.fromtimestamp(b.t[i] / 1000.0, tz=resolve_timezone("Etc/UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ticker": static_value(script, ir.BuiltinVar(ir.NO_SPAN, "syminfo.ticker")),
        "exchange": static_value(script, ir.BuiltinVar(ir.NO_SPAN, "syminfo.prefix")),
        "interval": script.tf.period,
        "syminfo.currency": getattr(script.symbol, "currency", "USD"),
    }  # fmt: skip

    def repl(m: re.Match) -> str:
        key = m.group(1)
        if key in values:
            return str_tostring(values[key])
        return m.group(0)

    return _PLACEHOLDER.sub(repl, text)


def _alertcondition(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    cond = script._cond(node.args[0], env)
    title = _static_or(script, node.args[1] if len(node.args) > 1 else None, env, None)
    message = _static_or(script, node.args[2] if len(node.args) > 2 else None, env, None)
    IX = script.IX
    alerts = script.outputs.alerts
    site = node.site

    def alertcondition() -> Any:
        if cond() and script.context == "chart":
            i = IX[0]
            alerts.append({"kind": "alertcondition", "bar_index": i, "time": script.bars.t[i], "title": title,
                           "message": render_placeholders(script, message, i), "freq": "once_per_bar_close",
                           "site": site})
        return NA

    return alertcondition


def _static_or(script: Script, node: ir.Expr | None, env: _Env, default: Any) -> Any:
    if node is None:
        return default
    try:
        v = static_value(script, node, env)
    except NotStatic:
        return default
    return None if is_na(v) else v


# --------------------------------------------------------------------------------------------- strategy


_EMU_METHODS = {
    "strategy.entry": "entry",
    "strategy.order": "order",
    "strategy.exit": "exit",
    "strategy.close": "close",
    "strategy.close_all": "close_all",
    "strategy.cancel": "cancel",
    "strategy.cancel_all": "cancel_all",
}


def _strategy_order(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    emu = script.emu
    if emu is None or script.context != "chart":
        fns = [script._expr(a, env) for a in node.args if a is not None]

        def ignored() -> Any:
            for f in fns:
                f()
            return NA

        return ignored
    method = getattr(emu, _EMU_METHODS[node.name])
    accepted = set(inspect.signature(method).parameters)
    pairs: list[tuple[str, Fn]] = []
    for pname, a in zip(node.param_names, node.args, strict=False):
        if a is None or pname not in accepted:
            continue
        pairs.append((pname, script._expr(a, env)))
    pairs_t = tuple(pairs)
    line, col = node.span.line, node.span.col
    name = node.name

    def strategy_call() -> Any:
        kwargs = {}
        for pname, f in pairs_t:
            v = f()
            if v is not None and v.__class__ is float and v != v:
                v = None
            kwargs[pname] = v
        try:
            method(**kwargs)
        except PineRuntimeError:
            raise
        except Exception as exc:
            raise PineRuntimeError(f"{name}: {exc}", line, col) from None
        return NA

    return strategy_call


_RISK_METHODS = {
    "strategy.risk.allow_entry_in": "risk_allow_entry_in",
    "strategy.risk.max_cons_loss_days": "risk_max_cons_loss_days",
    "strategy.risk.max_drawdown": "risk_max_drawdown",
    "strategy.risk.max_intraday_filled_orders": "risk_max_intraday_filled_orders",
    "strategy.risk.max_intraday_loss": "risk_max_intraday_loss",
    "strategy.risk.max_position_size": "risk_max_position_size",
}


def _risk(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    emu = script.emu
    attr = _RISK_METHODS.get(node.name)
    method = getattr(emu, attr, None) if attr and emu is not None and script.context == "chart" else None
    if method is None:
        return _const(NA)
    accepted = list(inspect.signature(method).parameters)
    fns = _arg_fns(script, node, env)
    n = min(len(accepted), len(fns))
    line, col = node.span.line, node.span.col

    def risk() -> Any:
        vals = [fns[k]() for k in range(n)]
        vals = [None if (v.__class__ is float and v != v) else v for v in vals]
        try:
            method(*vals)
        except Exception as exc:
            raise PineRuntimeError(f"{node.name}: {exc}", line, col) from None
        return NA

    return risk


_TRADE_FIELDS = {
    "entry_price", "exit_price", "profit", "size", "entry_bar_index", "exit_bar_index", "entry_time", "exit_time",
    "entry_id", "exit_id", "commission", "max_runup", "max_drawdown", "entry_comment", "exit_comment",
    "profit_percent", "max_runup_percent", "max_drawdown_percent",
}  # fmt: skip


def _trade_query(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    kind, _, fld = node.name[len("strategy."):].partition(".")
    emu = script.emu
    fns = _arg_fns(script, node, env)
    if emu is None or fld not in _TRADE_FIELDS:
        return _const(NA)
    method = getattr(emu, f"{kind}_{fld}", None)
    line, col = node.span.line, node.span.col
    attr_map = {"entry_price": "entry_price", "exit_price": "exit_price", "profit": "profit", "size": "qty",
                "entry_bar_index": "entry_bar", "exit_bar_index": "exit_bar", "entry_time": "entry_time",
                "exit_time": "exit_time", "entry_id": "entry_id", "exit_id": "exit_id",
                "commission": "commission", "max_runup": "runup", "max_drawdown": "drawdown",
                "entry_comment": "entry_comment", "exit_comment": "exit_comment", "profit_percent": "profit_pct",
                "max_runup_percent": "runup_pct", "max_drawdown_percent": "drawdown_pct"}
    getter = getattr(emu, "closedtrade" if kind == "closedtrades" else "opentrade", None)
    f0 = fns[0]

    def trade_query() -> Any:
        n = f0()
        if is_na(n):
            return NA
        n = int(n)
        if method is not None:
            v = method(n)
            return NA if v is None and not fld.endswith(("_id", "_comment")) else v
        if getter is None:
            raise PineRuntimeError(f"{node.name} is not supported by the strategy emulator", line, col)
        tr = getter(n)
        if tr is None:
            return NA
        v = getattr(tr, attr_map[fld], NA)
        if fld == "size" and getattr(tr, "direction", "long") == "short" and isinstance(v, int | float):
            v = -abs(v)
        return NA if v is None and not fld.endswith(("_id", "_comment")) else v

    return trade_query


def _strategy_misc(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    fns = _arg_fns(script, node, env)
    emu = script.emu
    name = node.name
    if name in ("strategy.convert_to_account", "strategy.convert_to_symbol"):
        return fns[0]
    if name == "strategy.default_entry_qty":
        method = getattr(emu, "default_entry_qty", None) if emu is not None else None
        if method is None:
            return _const(NA)
        return _wrap(method, fns, node)
    return _const(NA)


# --------------------------------------------------------------------------------------------- request


def _request_security(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    from .security import compile_security

    return compile_security(script, node, env)


def _max_bars_back(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    return _const(NA)


def _array_new_typed(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    fns = _arg_fns(script, node, env)
    fn = PURE_FUNCTIONS["array.new"]
    return _wrap(fn, fns, node)


def _map_new(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    return lambda: PineMap()


def _matrix_new(script: Script, node: ir.BuiltinCall, env: _Env) -> Fn:
    fns = _arg_fns(script, node, env)
    return _wrap(PURE_FUNCTIONS["matrix.new"], fns, node)


_HANDLERS: dict[str, Callable[[Script, ir.BuiltinCall, _Env], Fn]] = {
    "na": _na,
    "nz": _nz,
    "fixnan": _fixnan,
    "int": _cast("int"),
    "float": _cast("float"),
    "bool": _cast("bool"),
    "string": _cast("string"),
    "color": _cast("color"),
    "math.sum": _math_sum,
    "math.round_to_mintick": _round_to_mintick,
    "str.tostring": _str_tostring,
    "str.format_time": _format_time,
    "udt.copy": _udt_copy,
    "max_bars_back": _max_bars_back,
    "runtime.error": _runtime_error,
    "log.info": _log("info"),
    "log.warning": _log("warning"),
    "log.error": _log("error"),
    "year": _calendar_fn("year"),
    "month": _calendar_fn("month"),
    "weekofyear": _calendar_fn("weekofyear"),
    "dayofmonth": _calendar_fn("dayofmonth"),
    "dayofweek": _calendar_fn("dayofweek"),
    "hour": _calendar_fn("hour"),
    "minute": _calendar_fn("minute"),
    "second": _calendar_fn("second"),
    "timestamp": _timestamp,
    "time": _time_fn(False),
    "time_close": _time_fn(True),
    "timeframe.in_seconds": _timeframe_in_seconds,
    "timeframe.from_seconds": _timeframe_from_seconds,
    "timeframe.change": _timeframe_change,
    "ticker.new": _ticker,
    "ticker.modify": _ticker,
    "ticker.standard": _ticker,
    "ticker.heikinashi": _ticker,
    "plot": _plot,
    "plotshape": _plot,
    "plotchar": _plot,
    "plotarrow": _plot,
    "plotcandle": _plot,
    "plotbar": _plot,
    "hline": _plot,
    "bgcolor": _plot,
    "barcolor": _plot,
    "fill": _plot,
    "alert": _alert,
    "alertcondition": _alertcondition,
    "request.security": _request_security,
    "strategy.convert_to_account": _strategy_misc,
    "strategy.convert_to_symbol": _strategy_misc,
    "strategy.default_entry_qty": _strategy_misc,
    "map.new": _map_new,
    "matrix.new": _matrix_new,
    "array.new": _array_new_typed,
    **{name: _strategy_order for name in _EMU_METHODS},
}
