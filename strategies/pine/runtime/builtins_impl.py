"""Pure built-in functions of Pine: ``math.*``, ``str.*``, ``array.*``, ``map.*``, ``matrix.*``, ``color.*``.

Every function is registered by its qualified Pine name in :data:`PURE_FUNCTIONS`; the evaluator looks
names up in that table only (user identifiers never reach ``getattr`` or Python builtins).  Arguments
arrive in the built-in's signature order with defaults applied.

Value model shared with the evaluator: numeric ``na`` is ``float('nan')``; ``na`` of reference types
(arrays, maps, objects, strings) is ``None`` or NaN.  Arrays are :class:`PineArray` (a ``list``
subclass), maps are :class:`PineMap` (a ``dict`` subclass), matrices are :class:`PineMatrix`.
"""

from __future__ import annotations

import math
import random
import re
import statistics
from collections.abc import Callable
from typing import Any

NA = math.nan
MAX_ARRAY_SIZE = 100_000
MAX_MAP_SIZE = 50_000


class BuiltinError(Exception):
    """Raised by a built-in; the evaluator re-raises it as ``PineRuntimeError`` at the call site."""


def is_na(v: Any) -> bool:
    return v is None or (v.__class__ is float and v != v)


def _num(v: Any) -> float:
    return NA if v is None else v


class PineArray(list):
    """A Pine ``array<T>``; identity semantics like Pine (arrays are references)."""

    __slots__ = ("elem",)

    def __init__(self, items=(), elem: str = "float") -> None:
        super().__init__(items)
        self.elem = elem

    def __hash__(self) -> int:  # reference semantics: usable as map key / in sets by identity
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


class PineMap(dict):
    __slots__ = ()

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


class PineMatrix:
    __slots__ = ("cols", "rows_data")

    def __init__(self, rows: int, cols: int, initial: Any = NA) -> None:
        if rows * cols > MAX_ARRAY_SIZE:
            raise BuiltinError(f"matrix size {rows}x{cols} exceeds the limit of {MAX_ARRAY_SIZE} elements")
        self.rows_data = [[initial] * cols for _ in range(rows)]
        self.cols = cols

    @property
    def rows(self) -> int:
        return len(self.rows_data)


def _check_size(n: int) -> None:
    if n > MAX_ARRAY_SIZE:
        raise BuiltinError(f"array size {n} exceeds the limit of {MAX_ARRAY_SIZE} elements")


def _arr(a: Any, fn: str) -> PineArray:
    if a is None or (a.__class__ is float and a != a):
        raise BuiltinError(f"{fn}: the array is na (was it created with array.new*?)")
    return a


def _index(a: list, i: Any, fn: str, allow_end: bool = False) -> int:
    if is_na(i):
        raise BuiltinError(f"{fn}: index is na")
    idx = int(i)
    n = len(a)
    if idx < 0:
        idx += n
    limit = n + 1 if allow_end else n
    if idx < 0 or idx >= limit:
        raise BuiltinError(f"{fn}: index {int(i)} is out of bounds, array size is {n}")
    return idx


# ------------------------------------------------------------------------------------------------
# math
# ------------------------------------------------------------------------------------------------


def _unary_math(fn: Callable[[float], float]) -> Callable[[Any], Any]:
    def wrapper(x: Any) -> Any:
        if is_na(x):
            return NA
        try:
            return fn(x)
        except (ValueError, OverflowError, ZeroDivisionError):
            return NA

    return wrapper


def math_round(x: Any, precision: Any = None) -> Any:
    if is_na(x):
        return NA
    if precision is None or is_na(precision):
        return math.floor(x + 0.5)
    p = int(precision)
    factor = 10.0**p
    return math.floor(x * factor + 0.5) / factor


def math_max(*args: Any) -> Any:
    vals = [_num(a) for a in args]
    if any(v != v for v in vals):
        return NA
    return max(vals)


def math_min(*args: Any) -> Any:
    vals = [_num(a) for a in args]
    if any(v != v for v in vals):
        return NA
    return min(vals)


def math_avg(*args: Any) -> Any:
    vals = [_num(a) for a in args]
    if any(v != v for v in vals):
        return NA
    return sum(vals) / len(vals)


def math_pow(base: Any, exponent: Any) -> Any:
    if is_na(base) or is_na(exponent):
        return NA
    try:
        r = base**exponent
    except (ZeroDivisionError, OverflowError):
        return NA
    return NA if isinstance(r, complex) else float(r)


def math_sign(x: Any) -> Any:
    if is_na(x):
        return NA
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def math_log(x: Any) -> Any:
    if is_na(x) or x <= 0:
        return NA
    return math.log(x)


def math_log10(x: Any) -> Any:
    if is_na(x) or x <= 0:
        return NA
    return math.log10(x)


def math_sqrt(x: Any) -> Any:
    if is_na(x) or x < 0:
        return NA
    return math.sqrt(x)


_rng = random.Random()


def math_random(min: Any = 0.0, max: Any = 1.0, seed: Any = None) -> float:
    if seed is not None and not is_na(seed):
        _rng.seed(int(seed))
    lo = 0.0 if is_na(min) else float(min)
    hi = 1.0 if is_na(max) else float(max)
    return lo + (hi - lo) * _rng.random()


def math_floor(x: Any) -> Any:
    return NA if is_na(x) else math.floor(x)


def math_ceil(x: Any) -> Any:
    return NA if is_na(x) else math.ceil(x)


def math_abs(x: Any) -> Any:
    return NA if is_na(x) else abs(x)


# ------------------------------------------------------------------------------------------------
# str
# ------------------------------------------------------------------------------------------------


def format_number(x: Any, fmt: str | None = None, mintick: float = 0.01) -> str:
    if is_na(x):
        return "NaN"
    if isinstance(x, bool):
        return "true" if x else "false"
    if fmt in (None, ""):
        if isinstance(x, int):
            return str(x)
        if float(x).is_integer() and abs(x) < 1e16:
            return str(int(x))
        s = f"{x:.10f}".rstrip("0").rstrip(".")
        return s
    if fmt == "mintick":
        decimals = max(0, -math.floor(math.log10(mintick))) if mintick > 0 else 2
        return f"{round(x / mintick) * mintick:.{decimals}f}"
    if fmt == "percent":
        return f"{x:.2f}%"
    if fmt == "volume":
        ax = abs(x)
        for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
            if ax >= div:
                return f"{x / div:.3f}".rstrip("0").rstrip(".") + suffix
        return format_number(x)
    if fmt == "price":
        return format_number(x, "mintick", mintick)
    if fmt == "inherit":
        return format_number(x)
    return _pattern_format(x, fmt)


def _pattern_format(x: float, pattern: str) -> str:
    m = re.match(r"^([^#0.,]*)([#0,]*)(?:\.([#0]*))?(.*)$", pattern)
    if not m:
        return format_number(x)
    prefix, int_part, frac, suffix = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    percent = "%" in suffix
    value = x * 100 if percent else x
    required = frac.count("0")
    optional = frac.count("#")
    s = f"{value:.{required + optional}f}"
    if optional and "." in s:
        head, tail = s.split(".")
        tail = tail[: required + optional]
        while len(tail) > required and tail.endswith("0"):
            tail = tail[:-1]
        s = head + ("." + tail if tail else "")
    if "," in int_part:
        head, _, tail = s.partition(".")
        sign = "-" if head.startswith("-") else ""
        head = f"{int(head.lstrip('-')):,}"
        s = sign + head + ("." + tail if tail else "")
    min_int = int_part.replace(",", "").count("0")
    if min_int > 1:
        head, dot, tail = s.partition(".")
        sign = "-" if head.startswith("-") else ""
        head = head.lstrip("-").zfill(min_int)
        s = sign + head + dot + tail
    return prefix + s + suffix


def str_tostring(value: Any, format: Any = None) -> Any:
    if value is None:
        return "NaN"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value, format)
    if isinstance(value, PineArray):
        return "[" + ", ".join(str_tostring(v, format) for v in value) + "]"
    if isinstance(value, PineMatrix):
        return "\n".join("[" + ", ".join(str_tostring(v, format) for v in r) + "]" for r in value.rows_data)
    return str(value)


def str_tonumber(s: Any) -> Any:
    if is_na(s):
        return NA
    try:
        return float(str(s).strip())
    except ValueError:
        return NA


_FMT_TOKEN = re.compile(r"\{(\d+)(?:,\s*(\w+)(?:,\s*([^}]*))?)?\}")


def str_format(fmt: Any, *args: Any) -> Any:
    if is_na(fmt):
        return None

    def repl(m: re.Match) -> str:
        idx = int(m.group(1))
        if idx >= len(args):
            return m.group(0)
        v = args[idx]
        kind = m.group(2)
        style = (m.group(3) or "").strip()
        if kind == "number" and not isinstance(v, str):
            if is_na(v):
                return "NaN"
            if style == "integer":
                return f"{round(v):,}"
            if style == "percent":
                return f"{round(v * 100):,}%"
            if style == "currency":
                return f"${v:,.2f}"
            if style:
                return _pattern_format(v, style)
            s = f"{v:,.3f}".rstrip("0").rstrip(".")
            return s
        return str_tostring(v)

    return _FMT_TOKEN.sub(repl, str(fmt).replace("''", "\x00")).replace("\x00", "'")


def _s(v: Any) -> str | None:
    return None if is_na(v) else str(v)


def str_length(s: Any) -> Any:
    return NA if is_na(s) else len(s)


def str_contains(source: Any, str: Any) -> bool:
    return not is_na(source) and not is_na(str) and str in source


def str_startswith(source: Any, str: Any) -> bool:
    return not is_na(source) and not is_na(str) and source.startswith(str)


def str_endswith(source: Any, str: Any) -> bool:
    return not is_na(source) and not is_na(str) and source.endswith(str)


def str_pos(source: Any, str: Any) -> Any:
    if is_na(source) or is_na(str):
        return NA
    p = source.find(str)
    return NA if p < 0 else p


def str_substring(source: Any, begin_pos: Any, end_pos: Any = None) -> Any:
    if is_na(source):
        return None
    b = int(begin_pos)
    if end_pos is None or is_na(end_pos):
        return source[b:]
    return source[b : int(end_pos)]


def str_replace(source: Any, target: Any, replacement: Any, occurrence: Any = 0) -> Any:
    if is_na(source):
        return None
    occ = int(occurrence or 0)
    start = -1
    for _ in range(occ + 1):
        start = source.find(target, start + 1)
        if start < 0:
            return source
    return source[:start] + replacement + source[start + len(target) :]


def str_replace_all(source: Any, target: Any, replacement: Any) -> Any:
    return None if is_na(source) else source.replace(target, replacement)


def str_split(string: Any, separator: Any) -> PineArray:
    if is_na(string):
        return PineArray([], "string")
    if separator == "":
        return PineArray(list(string), "string")
    return PineArray(string.split(separator), "string")


MAX_STRING_LENGTH = 1_000_000


def str_repeat(source: Any, repeat: Any, separator: Any = "") -> Any:
    if is_na(source) or is_na(repeat):
        return None
    n = int(repeat)
    if n * (len(source) + len(separator or "")) > MAX_STRING_LENGTH:
        raise BuiltinError(f"str.repeat: result longer than {MAX_STRING_LENGTH} characters")
    return (separator or "").join([source] * n)


def str_match(source: Any, regex: Any) -> Any:
    if is_na(source):
        return None
    try:
        m = re.search(regex, source)
    except re.error as e:
        raise BuiltinError(f"str.match: invalid regular expression: {e}") from None
    return m.group(0) if m else ""


# ------------------------------------------------------------------------------------------------
# color (colors are "#RRGGBBAA" strings)
# ------------------------------------------------------------------------------------------------


def _parse_color(c: Any) -> tuple[int, int, int, int] | None:
    if is_na(c) or not isinstance(c, str) or not c.startswith("#"):
        return None
    h = c[1:]
    if len(h) == 6:
        h += "FF"
    if len(h) != 8:
        return None
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), int(h[6:8], 16)


def _fmt_color(r: float, g: float, b: float, transp: float) -> str:
    a = round(255 * (1 - max(0.0, min(100.0, transp)) / 100.0))
    return "#{:02X}{:02X}{:02X}{:02X}".format(*(max(0, min(255, round(v))) for v in (r, g, b)), a)


def color_new(color: Any, transp: Any = None) -> Any:
    p = _parse_color(color)
    if p is None:
        return None
    t = (1 - p[3] / 255) * 100 if transp is None or is_na(transp) else transp
    return _fmt_color(p[0], p[1], p[2], t)


def color_rgb(red: Any, green: Any, blue: Any, transp: Any = 0) -> Any:
    if any(is_na(v) for v in (red, green, blue)):
        return None
    return _fmt_color(red, green, blue, 0 if is_na(transp) else transp)


def _color_component(i: int) -> Callable[[Any], Any]:
    def get(color: Any) -> Any:
        p = _parse_color(color)
        if p is None:
            return NA
        if i == 3:
            return round((1 - p[3] / 255) * 100, 2)
        return float(p[i])

    return get


def color_from_gradient(value: Any, bottom_value: Any, top_value: Any, bottom_color: Any, top_color: Any) -> Any:
    if any(is_na(v) for v in (value, bottom_value, top_value)):
        return None
    a, b = _parse_color(bottom_color), _parse_color(top_color)
    if a is None or b is None:
        return None
    span = top_value - bottom_value
    f = 0.0 if span == 0 else max(0.0, min(1.0, (value - bottom_value) / span))
    r, g, bl, al = (a[k] + (b[k] - a[k]) * f for k in range(4))
    return _fmt_color(r, g, bl, (1 - al / 255) * 100)


# ------------------------------------------------------------------------------------------------
# array
# ------------------------------------------------------------------------------------------------


def _array_new(elem: str) -> Callable[..., PineArray]:
    def new(size: Any = 0, initial_value: Any = None) -> PineArray:
        n = 0 if is_na(size) else int(size)
        if n < 0:
            raise BuiltinError(f"array.new_{elem}: size must be >= 0, got {n}")
        _check_size(n)
        init = NA if initial_value is None else initial_value
        return PineArray([init] * n, elem)

    return new


def array_from(*args: Any) -> PineArray:
    _check_size(len(args))
    return PineArray(args)


def array_size(id: Any) -> int:
    return len(_arr(id, "array.size"))


def array_get(id: Any, index: Any) -> Any:
    a = _arr(id, "array.get")
    return a[_index(a, index, "array.get")]


def array_set(id: Any, index: Any, value: Any) -> None:
    a = _arr(id, "array.set")
    a[_index(a, index, "array.set")] = value


def array_push(id: Any, value: Any) -> None:
    a = _arr(id, "array.push")
    if len(a) >= MAX_ARRAY_SIZE:
        _check_size(len(a) + 1)
    a.append(value)


def array_unshift(id: Any, value: Any) -> None:
    a = _arr(id, "array.unshift")
    _check_size(len(a) + 1)
    a.insert(0, value)


def array_insert(id: Any, index: Any, value: Any) -> None:
    a = _arr(id, "array.insert")
    _check_size(len(a) + 1)
    a.insert(_index(a, index, "array.insert", allow_end=True), value)


def array_pop(id: Any) -> Any:
    a = _arr(id, "array.pop")
    if not a:
        raise BuiltinError("array.pop: cannot pop from an empty array")
    return a.pop()


def array_shift(id: Any) -> Any:
    a = _arr(id, "array.shift")
    if not a:
        raise BuiltinError("array.shift: cannot shift from an empty array")
    return a.pop(0)


def array_remove(id: Any, index: Any) -> Any:
    a = _arr(id, "array.remove")
    return a.pop(_index(a, index, "array.remove"))


def array_clear(id: Any) -> None:
    _arr(id, "array.clear").clear()


def array_concat(id1: Any, id2: Any) -> PineArray:
    a = _arr(id1, "array.concat")
    _check_size(len(a) + len(_arr(id2, "array.concat")))
    a.extend(id2)
    return a


def array_copy(id: Any) -> PineArray:
    a = _arr(id, "array.copy")
    return PineArray(a, getattr(a, "elem", "float"))


def array_slice(id: Any, index_from: Any, index_to: Any) -> PineArray:
    a = _arr(id, "array.slice")
    lo = _index(a, index_from, "array.slice", allow_end=True)
    hi = _index(a, index_to, "array.slice", allow_end=True)
    return PineArray(a[lo:hi], getattr(a, "elem", "float"))


def array_reverse(id: Any) -> None:
    _arr(id, "array.reverse").reverse()


def _sort_key(v: Any) -> tuple:
    if is_na(v):
        return (1, 0)
    return (0, v)


def array_sort(id: Any, order: Any = "ascending") -> None:
    a = _arr(id, "array.sort")
    nas = [v for v in a if is_na(v)]
    vals = sorted((v for v in a if not is_na(v)), reverse=(order == "descending"))
    a[:] = vals + nas


def array_sort_indices(id: Any, order: Any = "ascending") -> PineArray:
    a = _arr(id, "array.sort_indices")
    idx = sorted(range(len(a)), key=lambda k: _sort_key(a[k]), reverse=(order == "descending"))
    return PineArray(idx, "int")


def array_includes(id: Any, value: Any) -> bool:
    return any(_eq(v, value) for v in _arr(id, "array.includes"))


def _eq(a: Any, b: Any) -> bool:
    if is_na(a) and is_na(b):
        return True
    return a == b


def array_indexof(id: Any, value: Any) -> int:
    for k, v in enumerate(_arr(id, "array.indexof")):
        if _eq(v, value):
            return k
    return -1


def array_lastindexof(id: Any, value: Any) -> int:
    a = _arr(id, "array.lastindexof")
    for k in range(len(a) - 1, -1, -1):
        if _eq(a[k], value):
            return k
    return -1


def _vals(a: Any, fn: str) -> list[float]:
    return [v for v in _arr(a, fn) if not is_na(v)]


def array_min(id: Any, nth: Any = 0) -> Any:
    v = sorted(_vals(id, "array.min"))
    n = int(nth or 0)
    return v[n] if n < len(v) else NA


def array_max(id: Any, nth: Any = 0) -> Any:
    v = sorted(_vals(id, "array.max"), reverse=True)
    n = int(nth or 0)
    return v[n] if n < len(v) else NA


def array_sum(id: Any) -> Any:
    a = _arr(id, "array.sum")
    if any(is_na(v) for v in a):
        return NA
    return math.fsum(a) if a else 0.0


def array_avg(id: Any) -> Any:
    a = _arr(id, "array.avg")
    if not a or any(is_na(v) for v in a):
        return NA
    return math.fsum(a) / len(a)


def array_median(id: Any) -> Any:
    v = _vals(id, "array.median")
    return statistics.median(v) if v else NA


def array_mode(id: Any) -> Any:
    v = _vals(id, "array.mode")
    if not v:
        return NA
    counts: dict[Any, int] = {}
    for x in v:
        counts[x] = counts.get(x, 0) + 1
    best = max(counts.values())
    return min(k for k, c in counts.items() if c == best)


def array_variance(id: Any, biased: Any = True) -> Any:
    v = _vals(id, "array.variance")
    n = len(v)
    if n == 0 or (not biased and n < 2):
        return NA
    mean = math.fsum(v) / n
    ss = math.fsum((x - mean) ** 2 for x in v)
    return ss / n if biased else ss / (n - 1)


def array_stdev(id: Any, biased: Any = True) -> Any:
    var = array_variance(id, biased)
    return NA if is_na(var) else math.sqrt(var)


def array_range(id: Any) -> Any:
    v = _vals(id, "array.range")
    return max(v) - min(v) if v else NA


def array_first(id: Any) -> Any:
    a = _arr(id, "array.first")
    if not a:
        raise BuiltinError("array.first: the array is empty")
    return a[0]


def array_last(id: Any) -> Any:
    a = _arr(id, "array.last")
    if not a:
        raise BuiltinError("array.last: the array is empty")
    return a[-1]


def array_fill(id: Any, value: Any, index_from: Any = 0, index_to: Any = None) -> None:
    a = _arr(id, "array.fill")
    lo = int(index_from or 0)
    hi = len(a) if index_to is None or is_na(index_to) else int(index_to)
    for k in range(max(0, lo), min(len(a), hi)):
        a[k] = value


def array_join(id: Any, separator: Any = "") -> str:
    return (separator or "").join(str_tostring(v) for v in _arr(id, "array.join"))


def array_abs(id: Any) -> PineArray:
    return PineArray([NA if is_na(v) else abs(v) for v in _arr(id, "array.abs")])


def array_binary_search(id: Any, val: Any) -> int:
    import bisect

    a = _arr(id, "array.binary_search")
    k = bisect.bisect_left(a, val)
    return k if k < len(a) and a[k] == val else -1


def array_binary_search_leftmost(id: Any, val: Any) -> int:
    import bisect

    a = _arr(id, "array.binary_search_leftmost")
    k = bisect.bisect_left(a, val)
    if k < len(a) and a[k] == val:
        return k
    return k - 1


def array_binary_search_rightmost(id: Any, val: Any) -> int:
    import bisect

    a = _arr(id, "array.binary_search_rightmost")
    k = bisect.bisect_right(a, val)
    if k > 0 and a[k - 1] == val:
        return k - 1
    return k


def array_percentile_linear_interpolation(id: Any, percentage: Any) -> Any:
    v = sorted(_vals(id, "array.percentile_linear_interpolation"))
    if not v or is_na(percentage):
        return NA
    pos = (len(v) - 1) * percentage / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def array_percentile_nearest_rank(id: Any, percentage: Any) -> Any:
    v = sorted(_vals(id, "array.percentile_nearest_rank"))
    if not v or is_na(percentage):
        return NA
    rank = max(1, math.ceil(percentage / 100.0 * len(v)))
    return v[min(rank, len(v)) - 1]


def array_percentrank(id: Any, index: Any) -> Any:
    a = _arr(id, "array.percentrank")
    x = a[_index(a, index, "array.percentrank")]
    v = _vals(id, "array.percentrank")
    if len(v) < 2 or is_na(x):
        return NA
    return sum(1 for y in v if y <= x and y is not x) / (len(v) - 1) * 100.0


def array_standardize(id: Any) -> PineArray:
    a = _arr(id, "array.standardize")
    mean = array_avg(a)
    sd = array_stdev(a)
    return PineArray([NA if is_na(v) or not sd else (v - mean) / sd for v in a])


def array_covariance(id1: Any, id2: Any, biased: Any = True) -> Any:
    a, b = _arr(id1, "array.covariance"), _arr(id2, "array.covariance")
    n = len(a)
    if n != len(b) or n == 0 or (not biased and n < 2):
        return NA
    ma, mb = math.fsum(a) / n, math.fsum(b) / n
    s = math.fsum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    return s / n if biased else s / (n - 1)


def array_every(id: Any) -> bool:
    return all(bool(v) and not is_na(v) for v in _arr(id, "array.every"))


def array_some(id: Any) -> bool:
    return any(bool(v) and not is_na(v) for v in _arr(id, "array.some"))


# ------------------------------------------------------------------------------------------------
# map
# ------------------------------------------------------------------------------------------------


def map_new(*_args: Any) -> PineMap:
    return PineMap()


def _map(m: Any, fn: str) -> PineMap:
    if m is None or (m.__class__ is float and m != m):
        raise BuiltinError(f"{fn}: the map is na")
    return m


def map_put(id: Any, key: Any, value: Any) -> Any:
    m = _map(id, "map.put")
    old = m.get(key, NA)
    if key not in m and len(m) >= MAX_MAP_SIZE:
        raise BuiltinError(f"map.put: map size exceeds the limit of {MAX_MAP_SIZE} pairs")
    m[key] = value
    return old


def map_get(id: Any, key: Any) -> Any:
    return _map(id, "map.get").get(key, NA)


def map_contains(id: Any, key: Any) -> bool:
    return key in _map(id, "map.contains")


def map_remove(id: Any, key: Any) -> Any:
    return _map(id, "map.remove").pop(key, NA)


def map_size(id: Any) -> int:
    return len(_map(id, "map.size"))


def map_keys(id: Any) -> PineArray:
    return PineArray(list(_map(id, "map.keys").keys()))


def map_values(id: Any) -> PineArray:
    return PineArray(list(_map(id, "map.values").values()))


def map_clear(id: Any) -> None:
    _map(id, "map.clear").clear()


def map_copy(id: Any) -> PineMap:
    return PineMap(_map(id, "map.copy"))


def map_put_all(id: Any, id2: Any) -> None:
    _map(id, "map.put_all").update(_map(id2, "map.put_all"))


# ------------------------------------------------------------------------------------------------
# matrix
# ------------------------------------------------------------------------------------------------


def _mx(m: Any, fn: str) -> PineMatrix:
    if not isinstance(m, PineMatrix):
        raise BuiltinError(f"{fn}: the matrix is na")
    return m


def matrix_new(rows: Any = 0, columns: Any = 0, initial_value: Any = None) -> PineMatrix:
    return PineMatrix(int(rows or 0), int(columns or 0), NA if initial_value is None else initial_value)


def matrix_get(id: Any, row: Any, column: Any) -> Any:
    m = _mx(id, "matrix.get")
    r, c = int(row), int(column)
    if not (0 <= r < m.rows and 0 <= c < m.cols):
        raise BuiltinError(f"matrix.get: ({r}, {c}) is out of bounds of a {m.rows}x{m.cols} matrix")
    return m.rows_data[r][c]


def matrix_set(id: Any, row: Any, column: Any, value: Any) -> None:
    m = _mx(id, "matrix.set")
    r, c = int(row), int(column)
    if not (0 <= r < m.rows and 0 <= c < m.cols):
        raise BuiltinError(f"matrix.set: ({r}, {c}) is out of bounds of a {m.rows}x{m.cols} matrix")
    m.rows_data[r][c] = value


def matrix_rows(id: Any) -> int:
    return _mx(id, "matrix.rows").rows


def matrix_columns(id: Any) -> int:
    return _mx(id, "matrix.columns").cols


def matrix_row(id: Any, row: Any) -> PineArray:
    return PineArray(list(_mx(id, "matrix.row").rows_data[int(row)]))


def matrix_col(id: Any, column: Any) -> PineArray:
    m = _mx(id, "matrix.col")
    return PineArray([r[int(column)] for r in m.rows_data])


def matrix_add_row(id: Any, row: Any = None, array_id: Any = None) -> None:
    m = _mx(id, "matrix.add_row")
    values = list(array_id) if array_id is not None and not is_na(array_id) else [NA] * m.cols
    if m.rows == 0 and m.cols == 0:
        m.cols = len(values)
    if len(values) != m.cols:
        raise BuiltinError(f"matrix.add_row: array size {len(values)} != matrix columns {m.cols}")
    if (m.rows + 1) * max(m.cols, 1) > MAX_ARRAY_SIZE:
        raise BuiltinError(f"matrix exceeds the limit of {MAX_ARRAY_SIZE} elements")
    m.rows_data.insert(m.rows if row is None or is_na(row) else int(row), values)


def matrix_add_col(id: Any, column: Any = None, array_id: Any = None) -> None:
    m = _mx(id, "matrix.add_col")
    values = list(array_id) if array_id is not None and not is_na(array_id) else [NA] * m.rows
    if m.rows == 0 and m.cols == 0:
        m.rows_data = [[] for _ in values]
    if len(values) != m.rows:
        raise BuiltinError(f"matrix.add_col: array size {len(values)} != matrix rows {m.rows}")
    c = m.cols if column is None or is_na(column) else int(column)
    for r, v in zip(m.rows_data, values, strict=True):
        r.insert(c, v)
    m.cols += 1


def matrix_remove_row(id: Any, row: Any = None) -> PineArray:
    m = _mx(id, "matrix.remove_row")
    return PineArray(m.rows_data.pop(m.rows - 1 if row is None or is_na(row) else int(row)))


def matrix_remove_col(id: Any, column: Any = None) -> PineArray:
    m = _mx(id, "matrix.remove_col")
    c = m.cols - 1 if column is None or is_na(column) else int(column)
    out = PineArray([r.pop(c) for r in m.rows_data])
    m.cols -= 1
    return out


def matrix_fill(id: Any, value: Any, from_row: Any = 0, to_row: Any = None, from_column: Any = 0,
                to_column: Any = None) -> None:
    m = _mx(id, "matrix.fill")
    r1 = m.rows if to_row is None or is_na(to_row) else int(to_row)
    c1 = m.cols if to_column is None or is_na(to_column) else int(to_column)
    for r in range(int(from_row or 0), r1):
        for c in range(int(from_column or 0), c1):
            m.rows_data[r][c] = value


def matrix_copy(id: Any) -> PineMatrix:
    m = _mx(id, "matrix.copy")
    out = PineMatrix(0, m.cols)
    out.rows_data = [list(r) for r in m.rows_data]
    return out


def matrix_transpose(id: Any) -> PineMatrix:
    m = _mx(id, "matrix.transpose")
    out = PineMatrix(0, m.rows)
    out.rows_data = [list(col) for col in zip(*m.rows_data, strict=True)] if m.rows else []
    return out


def matrix_sum(id1: Any, id2: Any) -> PineMatrix:
    m = _mx(id1, "matrix.sum")
    out = matrix_copy(m)
    if isinstance(id2, PineMatrix):
        out.rows_data = [[a + b for a, b in zip(r1, r2, strict=True)] for r1, r2 in zip(m.rows_data, id2.rows_data, strict=True)]
    else:
        out.rows_data = [[a + id2 for a in r] for r in m.rows_data]
    return out


def matrix_mult(id1: Any, id2: Any) -> Any:
    m = _mx(id1, "matrix.mult")
    if isinstance(id2, PineMatrix):
        if m.cols != id2.rows:
            raise BuiltinError("matrix.mult: the number of columns of the first matrix must equal the rows of the second")
        out = PineMatrix(0, id2.cols)
        out.rows_data = [[math.fsum(r[k] * id2.rows_data[k][c] for k in range(m.cols)) for c in range(id2.cols)]
                         for r in m.rows_data]
        return out
    if isinstance(id2, list):
        return PineArray([math.fsum(a * b for a, b in zip(r, id2, strict=True)) for r in m.rows_data])
    out = matrix_copy(m)
    out.rows_data = [[a * id2 for a in r] for r in m.rows_data]
    return out


def _matrix_elements(m: PineMatrix) -> list:
    return [v for r in m.rows_data for v in r]


def matrix_elements_count(id: Any) -> int:
    m = _mx(id, "matrix.elements_count")
    return m.rows * m.cols


def matrix_avg(id: Any) -> Any:
    return array_avg(PineArray(_matrix_elements(_mx(id, "matrix.avg"))))


def matrix_max(id: Any) -> Any:
    return array_max(PineArray(_matrix_elements(_mx(id, "matrix.max"))))


def matrix_min(id: Any) -> Any:
    return array_min(PineArray(_matrix_elements(_mx(id, "matrix.min"))))


def matrix_median(id: Any) -> Any:
    return array_median(PineArray(_matrix_elements(_mx(id, "matrix.median"))))


def matrix_diff(id1: Any, id2: Any) -> PineMatrix:
    m = _mx(id1, "matrix.diff")
    out = matrix_copy(m)
    if isinstance(id2, PineMatrix):
        if (id2.rows, id2.cols) != (m.rows, m.cols):
            raise BuiltinError("matrix.diff: matrices must have the same dimensions")
        out.rows_data = [[a - b for a, b in zip(r1, r2, strict=True)] for r1, r2 in zip(m.rows_data, id2.rows_data, strict=True)]
    else:
        out.rows_data = [[a - id2 for a in r] for r in m.rows_data]
    return out


def _square(m: PineMatrix, fn: str) -> None:
    if m.rows != m.cols:
        raise BuiltinError(f"{fn}: the matrix must be square, it is {m.rows}x{m.cols}")


def matrix_det(id: Any) -> Any:
    import numpy as np

    m = _mx(id, "matrix.det")
    _square(m, "matrix.det")
    return float(np.linalg.det(np.array(m.rows_data, dtype=float))) if m.rows else NA


def matrix_inv(id: Any) -> PineMatrix:
    import numpy as np

    m = _mx(id, "matrix.inv")
    _square(m, "matrix.inv")
    out = PineMatrix(0, m.cols)
    try:
        out.rows_data = np.linalg.inv(np.array(m.rows_data, dtype=float)).tolist()
    except np.linalg.LinAlgError:
        out.rows_data = [[NA] * m.cols for _ in range(m.rows)]
    return out


def matrix_trace(id: Any) -> Any:
    m = _mx(id, "matrix.trace")
    _square(m, "matrix.trace")
    return math.fsum(m.rows_data[k][k] for k in range(m.rows))


def matrix_mode(id: Any) -> Any:
    return array_mode(PineArray(_matrix_elements(_mx(id, "matrix.mode"))))


def matrix_reshape(id: Any, rows: Any, columns: Any) -> None:
    m = _mx(id, "matrix.reshape")
    r, c = int(rows), int(columns)
    flat = _matrix_elements(m)
    if r * c != len(flat):
        raise BuiltinError(f"matrix.reshape: {m.rows}x{m.cols} cannot become {r}x{c}")
    m.rows_data = [flat[k * c : (k + 1) * c] for k in range(r)]
    m.cols = c


def matrix_reverse(id: Any) -> None:
    m = _mx(id, "matrix.reverse")
    m.rows_data = [list(reversed(r)) for r in reversed(m.rows_data)]


def matrix_swap_rows(id: Any, row1: Any, row2: Any) -> None:
    m = _mx(id, "matrix.swap_rows")
    a, b = int(row1), int(row2)
    m.rows_data[a], m.rows_data[b] = m.rows_data[b], m.rows_data[a]


def matrix_swap_columns(id: Any, column1: Any, column2: Any) -> None:
    m = _mx(id, "matrix.swap_columns")
    a, b = int(column1), int(column2)
    for r in m.rows_data:
        r[a], r[b] = r[b], r[a]


def matrix_is_square(id: Any) -> bool:
    m = _mx(id, "matrix.is_square")
    return m.rows == m.cols


# ------------------------------------------------------------------------------------------------
# Table
# ------------------------------------------------------------------------------------------------

PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    # math
    "math.abs": math_abs,
    "math.acos": _unary_math(math.acos),
    "math.asin": _unary_math(math.asin),
    "math.atan": _unary_math(math.atan),
    "math.avg": math_avg,
    "math.ceil": math_ceil,
    "math.cos": _unary_math(math.cos),
    "math.exp": _unary_math(math.exp),
    "math.floor": math_floor,
    "math.log": math_log,
    "math.log10": math_log10,
    "math.max": math_max,
    "math.min": math_min,
    "math.pow": math_pow,
    "math.random": math_random,
    "math.round": math_round,
    "math.sign": math_sign,
    "math.sin": _unary_math(math.sin),
    "math.sqrt": math_sqrt,
    "math.tan": _unary_math(math.tan),
    "math.todegrees": _unary_math(math.degrees),
    "math.toradians": _unary_math(math.radians),
    # str
    "str.tostring": str_tostring,
    "str.tonumber": str_tonumber,
    "str.format": str_format,
    "str.length": str_length,
    "str.contains": str_contains,
    "str.startswith": str_startswith,
    "str.endswith": str_endswith,
    "str.pos": str_pos,
    "str.substring": str_substring,
    "str.replace": str_replace,
    "str.replace_all": str_replace_all,
    "str.split": str_split,
    "str.upper": lambda source: None if is_na(source) else source.upper(),
    "str.lower": lambda source: None if is_na(source) else source.lower(),
    "str.trim": lambda source: None if is_na(source) else source.strip(),
    "str.repeat": str_repeat,
    "str.match": str_match,
    # color
    "color.new": color_new,
    "color.rgb": color_rgb,
    "color.r": _color_component(0),
    "color.g": _color_component(1),
    "color.b": _color_component(2),
    "color.t": _color_component(3),
    "color.from_gradient": color_from_gradient,
    # array
    "array.new_float": _array_new("float"),
    "array.new_int": _array_new("int"),
    "array.new_bool": _array_new("bool"),
    "array.new_string": _array_new("string"),
    "array.new_color": _array_new("color"),
    "array.new_line": _array_new("line"),
    "array.new_label": _array_new("label"),
    "array.new_box": _array_new("box"),
    "array.new_table": _array_new("table"),
    "array.new_linefill": _array_new("linefill"),
    "array.new": _array_new("any"),
    "array.from": array_from,
    "array.size": array_size,
    "array.get": array_get,
    "array.set": array_set,
    "array.push": array_push,
    "array.pop": array_pop,
    "array.shift": array_shift,
    "array.unshift": array_unshift,
    "array.insert": array_insert,
    "array.remove": array_remove,
    "array.clear": array_clear,
    "array.concat": array_concat,
    "array.copy": array_copy,
    "array.slice": array_slice,
    "array.reverse": array_reverse,
    "array.sort": array_sort,
    "array.sort_indices": array_sort_indices,
    "array.includes": array_includes,
    "array.indexof": array_indexof,
    "array.lastindexof": array_lastindexof,
    "array.min": array_min,
    "array.max": array_max,
    "array.sum": array_sum,
    "array.avg": array_avg,
    "array.median": array_median,
    "array.mode": array_mode,
    "array.stdev": array_stdev,
    "array.variance": array_variance,
    "array.range": array_range,
    "array.first": array_first,
    "array.last": array_last,
    "array.fill": array_fill,
    "array.join": array_join,
    "array.abs": array_abs,
    "array.binary_search": array_binary_search,
    "array.binary_search_leftmost": array_binary_search_leftmost,
    "array.binary_search_rightmost": array_binary_search_rightmost,
    "array.percentile_linear_interpolation": array_percentile_linear_interpolation,
    "array.percentile_nearest_rank": array_percentile_nearest_rank,
    "array.percentrank": array_percentrank,
    "array.standardize": array_standardize,
    "array.covariance": array_covariance,
    "array.every": array_every,
    "array.some": array_some,
    # map
    "map.new": map_new,
    "map.put": map_put,
    "map.get": map_get,
    "map.contains": map_contains,
    "map.remove": map_remove,
    "map.size": map_size,
    "map.keys": map_keys,
    "map.values": map_values,
    "map.clear": map_clear,
    "map.copy": map_copy,
    "map.put_all": map_put_all,
    # matrix
    "matrix.new": matrix_new,
    "matrix.get": matrix_get,
    "matrix.set": matrix_set,
    "matrix.rows": matrix_rows,
    "matrix.columns": matrix_columns,
    "matrix.row": matrix_row,
    "matrix.col": matrix_col,
    "matrix.add_row": matrix_add_row,
    "matrix.add_col": matrix_add_col,
    "matrix.remove_row": matrix_remove_row,
    "matrix.remove_col": matrix_remove_col,
    "matrix.fill": matrix_fill,
    "matrix.copy": matrix_copy,
    "matrix.transpose": matrix_transpose,
    "matrix.sum": matrix_sum,
    "matrix.mult": matrix_mult,
    "matrix.elements_count": matrix_elements_count,
    "matrix.avg": matrix_avg,
    "matrix.max": matrix_max,
    "matrix.min": matrix_min,
    "matrix.median": matrix_median,
    "matrix.diff": matrix_diff,
    "matrix.det": matrix_det,
    "matrix.inv": matrix_inv,
    "matrix.trace": matrix_trace,
    "matrix.mode": matrix_mode,
    "matrix.reshape": matrix_reshape,
    "matrix.reverse": matrix_reverse,
    "matrix.swap_rows": matrix_swap_rows,
    "matrix.swap_columns": matrix_swap_columns,
    "matrix.is_square": matrix_is_square,
}
