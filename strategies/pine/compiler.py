"""Public entry point: ``compile_source(source) -> CompileResult``."""

from __future__ import annotations

import gc
import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from . import ir
from .diagnostics import Diagnostic, DiagnosticSink

logger = logging.getLogger(__name__)

MAX_SOURCE_CHARS = 1_000_000
RECURSION_LIMIT = 6000


@dataclass(slots=True)
class InputSpec:
    """One ``input*()`` call.  ``name`` is the variable it is assigned to (``None`` if used inline)."""

    index: int
    name: str | None
    kind: str  # int float bool string source timeframe symbol session price color text_area time enum
    defval: Any
    title: str | None = None
    minval: float | int | None = None
    maxval: float | int | None = None
    step: float | int | None = None
    options: list[Any] | None = None
    group: str | None = None
    tooltip: str | None = None
    inline: str | None = None
    confirm: bool = False
    display: str | None = None
    line: int = 0
    function: str = "input"

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "name": self.name,
            "kind": self.kind,
            "defval": _jsonable(self.defval),
            "title": self.title,
            "minval": self.minval,
            "maxval": self.maxval,
            "step": self.step,
            "options": [_jsonable(o) for o in self.options] if self.options is not None else None,
            "group": self.group,
            "tooltip": self.tooltip,
            "inline": self.inline,
            "confirm": self.confirm,
            "display": self.display,
            "line": self.line,
        }


@dataclass(slots=True)
class PlotSpec:
    index: int
    title: str | None
    kind: str  # plot plotshape plotchar plotarrow plotcandle plotbar hline bgcolor barcolor fill
    line: int = 0

    def to_json(self) -> dict:
        return {"index": self.index, "title": self.title, "kind": self.kind, "line": self.line}


@dataclass(slots=True)
class DeclarationSpec:
    kind: str  # strategy | indicator | library
    title: str | None
    args: dict[str, Any] = field(default_factory=dict)
    version: int = 6

    def __getattr__(self, name: str) -> Any:
        # declaration arguments as attributes (``spec.initial_capital``); defaults from the signature
        args = object.__getattribute__(self, "args")
        if name in args:
            return args[name]
        from .builtins import FUNCTIONS

        kind = object.__getattribute__(self, "kind")
        if name in ("margin_long", "margin_short") and kind == "strategy":
            # Pine v6 changed the default margin from 0 (no margin calls) to 100
            return 100 if object.__getattribute__(self, "version") >= 6 else 0
        for p in FUNCTIONS[kind][0].params:
            if p.name == name:
                return p.default
        raise AttributeError(name)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            value = getattr(self, name)
        except AttributeError:
            return default
        return default if value is None else value

    def to_json(self) -> dict:
        return {"kind": self.kind, "title": self.title, "version": self.version, "args": _jsonable(self.args)}


@dataclass(slots=True)
class CompileResult:
    program: ir.Program | None
    diagnostics: list[Diagnostic]
    inputs: list[InputSpec] = field(default_factory=list)
    plots: list[PlotSpec] = field(default_factory=list)
    declaration: DeclarationSpec | None = None
    filename: str = "<input>"

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "declaration": self.declaration.to_json() if self.declaration else None,
            "inputs": [i.to_json() for i in self.inputs],
            "plots": [p.to_json() for p in self.plots],
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, ir.EnumValue):
        return f"{value.enum}.{value.member}"
    if isinstance(value, float) and value != value:
        return None
    return value


def compile_source(source: str, filename: str = "<input>") -> CompileResult:
    """Parse and check Pine source.  Never raises: internal failures become a diagnostic."""
    # The front end allocates many small acyclic objects; pausing the cyclic GC avoids
    # collections mid-compile (halves the time of a 200-line script).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    # the parser bounds nesting (100 levels) and operator chains (500); the recursive checker needs a
    # little more headroom than CPython's default limit of 1000 frames for such inputs
    old_limit = sys.getrecursionlimit()
    if old_limit < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
    try:
        return _compile(source, filename)
    finally:
        if old_limit < RECURSION_LIMIT:
            sys.setrecursionlimit(old_limit)
        if gc_was_enabled:
            gc.enable()


def _compile(source: str, filename: str) -> CompileResult:
    from .checker import check_program
    from .parser import parse_source

    sink = DiagnosticSink()
    try:
        if not isinstance(source, str):
            source = str(source)
        if len(source) > MAX_SOURCE_CHARS:
            sink.error(f"Script is too large ({len(source)} characters; max {MAX_SOURCE_CHARS})", ir.Span(1, 1, 1, 1), "limit")
            return CompileResult(None, sink.items, filename=filename)
        if source.startswith("\ufeff"):
            source = source[1:]  # UTF-8 byte order mark written by some editors
        if "\0" in source:
            line = source[: source.index("\0")].count("\n") + 1
            sink.error("Script contains a NUL character", ir.Span(line, 1, line, 1), "syntax")
            source = source.replace("\0", " ")
        nodes, version = parse_source(source, sink)
        program, inputs, plots, declaration = check_program(nodes, version, sink, source)
        diagnostics = sorted(sink.items, key=lambda d: (d.line, d.col))
        return CompileResult(program, diagnostics, inputs, plots, declaration, filename)
    except RecursionError:
        sink.error("Script is nested too deeply", ir.Span(1, 1, 1, 1), "limit")
    except Exception as exc:  # compile_source must never raise for any input
        logger.exception("internal error in Pine compiler")
        sink.error(f"Internal compiler error: {type(exc).__name__}: {exc}", ir.Span(1, 1, 1, 1), "internal")
    return CompileResult(None, sink.items, filename=filename)


def validate_input_overrides(result: CompileResult, overrides: dict[str, Any]) -> list[str]:
    """Check ``{input variable name or title: value}`` against the script's inputs; return errors."""
    errors: list[str] = []
    by_key: dict[str, InputSpec] = {}
    for spec in result.inputs:
        if spec.title:
            by_key.setdefault(spec.title, spec)
        if spec.name:
            by_key[spec.name] = spec
    for key, value in overrides.items():
        spec = by_key.get(key)
        if spec is None:
            errors.append(f"Unknown input '{key}'")
            continue
        err = _validate_one(spec, value)
        if err:
            errors.append(f"Input '{key}': {err}")
    return errors


_SOURCES = frozenset({"open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4", "hlcc4"})


def _validate_one(spec: InputSpec, value: Any) -> str | None:
    kind = spec.kind
    if kind in ("int", "time"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                return f"expected an integer, got {value!r}"
    elif kind in ("float", "price"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number, got {value!r}"
        if value != value:
            return "expected a number, got NaN"
    elif kind == "bool":
        if not isinstance(value, bool):
            return f"expected true or false, got {value!r}"
    elif kind == "source":
        if value not in _SOURCES:
            return f"expected one of {', '.join(sorted(_SOURCES))}, got {value!r}"
    elif kind == "color":
        if not (isinstance(value, str) and value.startswith("#") and len(value) in (7, 9)):
            return f"expected a color '#RRGGBB[AA]', got {value!r}"
    elif kind == "enum":
        if not isinstance(value, str):
            return f"expected an enum member name, got {value!r}"
        names = [o.member if isinstance(o, ir.EnumValue) else o for o in (spec.options or [])]
        titles = [o.title if isinstance(o, ir.EnumValue) else o for o in (spec.options or [])]
        if names and value not in names and value not in titles:
            return f"expected one of {names}, got {value!r}"
        return None
    elif not isinstance(value, str):
        return f"expected a string, got {value!r}"
    if spec.options:
        if value not in spec.options:
            return f"must be one of {spec.options}, got {value!r}"
        return None
    if kind in ("int", "float", "price", "time"):
        if spec.minval is not None and value < spec.minval:
            return f"must be >= {spec.minval}, got {value!r}"
        if spec.maxval is not None and value > spec.maxval:
            return f"must be <= {spec.maxval}, got {value!r}"
    return None
