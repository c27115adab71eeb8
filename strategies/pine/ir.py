"""Typed intermediate representation produced by the Pine front end.

Contract for the runtime / evaluator (``strategies/pine/runtime/evaluator.py``).
This module is STABLE: changes are additive only and are listed under "Changelog" at the end.

Overview
========
``compile_source(src).program`` is a :class:`Program`.  Every node carries ``span`` (1-based
``line, col, end_line, end_col``).  Names are fully resolved by the checker:

* Variables are :class:`VarRef` with a numbered ``slot`` in a *frame*.  ``scope == "global"`` means the
  program frame (``Program.n_slots`` slots), ``scope == "local"`` means the frame of the function being
  executed (``FunctionDef.n_slots`` slots; parameters occupy slots ``0..len(params)-1``).  Every
  declaration gets its own slot (no reuse between blocks), so a frame is a flat list.  Slot names are in
  ``Program.slot_names`` / ``FunctionDef.slot_names`` (debugging only).
* Built-in *variables* (``close``, ``bar_index``, ``strategy.position_size``, ``syminfo.mintick``,
  ``barstate.islast``, ``time``, ``ta.tr``, ...) are :class:`BuiltinVar` with the qualified name.
  Built-in *constants* whose value is known statically (``color.red``, ``strategy.long``,
  ``strategy.percent_of_equity``, ``shape.triangleup``, ``dayofweek.monday``, ``barmerge.lookahead_on``,
  ``math.pi`` ...) are folded to :class:`Const` with ``name`` set to the qualified name.  See
  ``builtins.CONSTANTS`` for the value table (strings for enum-like constants, e.g. ``strategy.long`` ->
  ``"long"``, ``strategy.short`` -> ``"short"``, ``strategy.percent_of_equity`` -> ``"percent_of_equity"``,
  ``strategy.commission.percent`` -> ``"percent"``, colors -> ``"#RRGGBBAA"`` strings).
* Calls are classified: :class:`BuiltinCall` (name from our table, e.g. ``"ta.sma"``, ``"array.push"``,
  ``"strategy.entry"``, ``"nz"``, ``"plot"``), :class:`UserCall` (user function or user method, resolved to
  a ``FunctionDef.key``), :class:`NewObject` (``UDT.new(...)``), :class:`InputValue` (``input.*(...)``).
  Method syntax on built-in types is desugared: ``a.push(x)`` on an ``array<float>`` becomes
  ``BuiltinCall("array.push", args=[a, x], method_syntax=True)``; ``p.copy()`` on a UDT becomes
  ``BuiltinCall("udt.copy", args=[p])``; user methods ``p.m(1)`` become ``UserCall(key, args=[p, 1])``.
* Method calls on a receiver whose type is not known statically (an untyped parameter of a user
  function, e.g. ``f(m) => m.get("a")``; Pine functions are polymorphic in such parameters) get
  ``method_syntax=True`` and ``name`` set to the best static guess among ``array.*``, ``map.*`` and
  ``matrix.*``; the runtime must dispatch on the receiver's actual type (same member name).
* ``BuiltinCall.args`` holds the arguments bound to the built-in's parameters **in signature order**
  (``BuiltinCall.param_names``), with ``None`` where the argument was omitted (the runtime applies the
  default; defaults are in ``builtins.FUNCTIONS[name].params[i].default`` as Python constants).  The
  original spelling is preserved in ``raw_args`` / ``raw_kwargs``.  Variadic built-ins (``math.max``,
  ``str.format``, ``array.from``) have ``param_names == ()`` and all args in ``args``.
* ``UserCall.args`` is bound to ``FunctionDef.params`` in order; omitted args are ``None`` (use
  ``Param.default``, an :class:`Expr`).
* Every call of a user function and every built-in call gets a program-unique ``site`` id.  State that
  Pine keeps per call site (``ta.*`` history, ``var`` variables inside functions, series history of
  function locals) must be keyed by ``site`` (nested: by the chain of sites).
* Expressions carry ``ty`` (:class:`PineType` or ``None`` when unknown) as inferred by the checker.

Semantics of the nodes
======================
Program
    ``version`` (5/6), ``declaration`` (:class:`Declaration`), ``body`` (top-level executable statements,
    executed once per bar in order), ``functions`` (key -> :class:`FunctionDef`, includes methods),
    ``types`` (name -> :class:`TypeDef`), ``enums`` (name -> :class:`EnumDef`), ``n_slots``,
    ``slot_names``, ``history_slots`` (global slots referenced with ``[n]``; others need no history),
    ``inputs`` / ``plots`` (same specs as on ``CompileResult``).
VarDecl
    ``x = e`` / ``var x = e`` / ``varip x = e`` / ``float x = e``.  ``mode`` is ``"plain"`` (evaluate and
    assign every bar), ``"var"`` (evaluate and assign only the first time the declaration is reached; keep
    the value across bars), ``"varip"`` (same as var for backtests).  ``declared_type`` is the explicit
    type or ``None``.  ``value`` may be ``None`` only when the declared type is given and no initializer
    (not valid Pine; never produced) -- so ``value`` is always an Expr.
TupleDecl
    ``[a, b, _] = f()``.  ``targets`` are VarRef or ``None`` for ``_``.  ``value`` yields a tuple.
Assign
    ``x := e`` (``op == ":="``), ``x += e`` etc. (``op`` in ``+= -= *= /= %=``; meaning ``x := x op e``).
    ``target`` is a VarRef or a :class:`FieldAccess` (``obj.field := e``).  For ``:=`` on a variable the
    slot already exists (declared earlier).
ExprStmt
    An expression evaluated for its effect/value (calls, or the value of a block).
Block value
    Where a block is used as a value (function body, ``if``/``switch``/loop used as an expression), its
    value is the value of its last statement if that is an ExprStmt, If, Switch, For, ForIn or While;
    a VarDecl/Assign as last statement yields the assigned value; otherwise ``na``.  A function body
    ending in a :class:`TupleExpr` returns a tuple.
If
    ``cond``, ``then`` (list of statements), ``orelse`` (list, possibly empty).  ``else if`` is an If
    nested as the single statement of ``orelse``.  As an expression (``x = if c ...``) the If node appears
    directly as the value; a missing branch yields ``na``.
Switch
    ``subject`` (Expr or ``None``), ``cases``: list of :class:`SwitchCase` (``match`` Expr or ``None`` for
    the default ``=>`` case, ``body``).  With a subject, a case matches when ``subject == match``; without,
    when ``match`` is true.  First matching case runs.  As an expression, value of the selected body, or
    ``na`` if none matched.
For
    ``for i = start to end [by step]``: ``var`` (VarRef of the counter), ``start``, ``end``, ``step``
    (Expr or ``None``: then +1 if start <= end else -1, evaluated once).  Bounds inclusive.  ``end`` is
    re-evaluated each iteration in Pine v6 (v5 evaluates once; use ``Program.version``).
ForIn
    ``for x in arr`` (``index`` is ``None``) / ``for [i, x] in arr``.  Iterates array elements (index =
    position), matrix rows (item = row array), or map entries with ``for [k, v] in m`` (index = key,
    item = value, in insertion order).
While
    ``cond``, ``body``.
Break / Continue
    Loop control (innermost loop).
Expressions
    Const(value, ty, name)      literal or folded built-in constant; ``value`` is int/float/bool/str,
                                 ``None`` for ``na``, an :class:`EnumValue` for enum members.  Colors are
                                 ``"#RRGGBBAA"`` strings.
    VarRef(name, slot, scope)   variable read.
    BuiltinVar(name)            runtime-provided variable (``close``, ``strategy.equity`` ...).
    Index(target, offset)       history reference ``target[offset]`` (value ``offset`` bars ago).
                                 ``target`` may be any expression (``(a+b)[1]``, ``f()[1]``); for a VarRef
                                 use the slot history, otherwise the runtime must keep a history of that
                                 expression at that node (``Index.site`` is a unique id for that purpose).
    Unary(op, operand)          ``-``, ``+``, ``not``.
    Binary(op, left, right)     ``+ - * / %``, ``== != < > <= >=``, ``and or``.  ``and``/``or`` are
                                 lazy (short-circuit) in Pine v6 but STRICT in v5 (both operands are
                                 evaluated every bar -- matters for ``ta.*`` calls on the right side).
                                 ``/`` of two ints: v5 truncates when both operands are ``const``
                                 (``ty.base == "int"``), otherwise fractional.
    Ternary(cond, then, orelse) ``c ? a : b``.
    FieldAccess(obj, field)     UDT field read (``obj.field``); ``type_name`` is the UDT name if known.
    TupleExpr(items)            ``[a, b]`` (function result / tuple value).
    ArrayLiteral is not Pine; not produced.
    BuiltinCall / UserCall / NewObject / InputValue as described above.
    If / Switch / For / ForIn / While can appear as expressions (see above).
InputValue
    ``index`` into ``Program.inputs``; value = override or ``spec.defval``.  For ``input.source`` the
    default is the name of a built-in series (``"close"``, ``"hl2"``...) in ``spec.defval`` and the
    expression in ``default_expr``.
BuiltinCall for outputs
    ``plot``/``plotshape``/``plotchar``/``plotarrow``/``plotcandle``/``hline``/``bgcolor``/``barcolor``/
    ``fill`` have ``output_index`` into ``Program.plots``.  ``label.*``, ``line.*``, ``box.*``, ``table.*``,
    ``linefill.*``, ``polyline.*``, ``chart.point.*`` have ``drawing=True`` (no-op in backtests; return
    ``na``).

Types
=====
:class:`PineType` = ``base`` (``int float bool string color na void label line box table linefill
polyline chart.point array map matrix tuple`` or a UDT/enum name), ``args`` (element/key/value types for
array/map/matrix, or tuple element types), ``qualifier`` (``const`` < ``input`` < ``simple`` < ``series``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

QUALIFIERS = ("const", "input", "simple", "series")
QUALIFIER_RANK = {q: i for i, q in enumerate(QUALIFIERS)}


@dataclass(frozen=True, slots=True)
class Span:
    line: int
    col: int
    end_line: int
    end_col: int


NO_SPAN = Span(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class PineType:
    base: str
    args: tuple[PineType, ...] = ()
    qualifier: str = "series"

    def with_qualifier(self, qualifier: str) -> PineType:
        return PineType(self.base, self.args, qualifier)

    def __str__(self) -> str:
        inner = self.base
        if self.args and self.base != "tuple":
            inner = f"{self.base}<{', '.join(str(a.with_qualifier('series')).removeprefix('series ') for a in self.args)}>"
        elif self.base == "tuple":
            inner = "[" + ", ".join(str(a) for a in self.args) + "]"
        if self.base in ("int", "float", "bool", "string", "color"):
            return f"{self.qualifier} {inner}"
        return inner


@dataclass(frozen=True, slots=True)
class EnumValue:
    enum: str
    member: str
    title: str

    def __str__(self) -> str:
        return self.title


@dataclass(slots=True)
class TypeRef:
    """A type as written in source: ``float``, ``array<float>``, ``map<string, int>``, ``Point``."""

    name: str
    args: list[TypeRef] = field(default_factory=list)
    qualifier: str | None = None
    span: Span = NO_SPAN


# ----------------------------------------------------------------------------------------------------
# Expressions
# ----------------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Expr:
    span: Span
    ty: PineType | None = field(default=None, kw_only=True)


@dataclass(slots=True, eq=False)
class Const(Expr):
    value: Any
    name: str | None = None


@dataclass(slots=True, eq=False)
class VarRef(Expr):
    name: str
    slot: int = -1
    scope: str = "global"  # "global" | "local"


@dataclass(slots=True, eq=False)
class BuiltinVar(Expr):
    name: str


@dataclass(slots=True, eq=False)
class Index(Expr):
    target: Expr
    offset: Expr
    site: int = -1


@dataclass(slots=True, eq=False)
class Unary(Expr):
    op: str
    operand: Expr


@dataclass(slots=True, eq=False)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(slots=True, eq=False)
class Ternary(Expr):
    cond: Expr
    then: Expr
    orelse: Expr


@dataclass(slots=True, eq=False)
class FieldAccess(Expr):
    obj: Expr
    field: str
    type_name: str | None = None


@dataclass(slots=True, eq=False)
class TupleExpr(Expr):
    items: list[Expr]


@dataclass(slots=True, eq=False)
class BuiltinCall(Expr):
    name: str
    args: list[Expr | None]
    param_names: tuple[str, ...] = ()
    raw_args: list[Expr] = field(default_factory=list)
    raw_kwargs: dict[str, Expr] = field(default_factory=dict)
    site: int = -1
    method_syntax: bool = False
    output_index: int | None = None
    drawing: bool = False


@dataclass(slots=True, eq=False)
class UserCall(Expr):
    name: str
    key: str
    args: list[Expr | None]
    site: int = -1
    method_syntax: bool = False


@dataclass(slots=True, eq=False)
class NewObject(Expr):
    type_name: str
    fields: dict[str, Expr]  # only the fields given; others take TypeDef field defaults
    site: int = -1


@dataclass(slots=True, eq=False)
class InputValue(Expr):
    index: int
    default_expr: Expr | None = None


# ----------------------------------------------------------------------------------------------------
# Statements (If/Switch/For/ForIn/While are also expressions)
# ----------------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Stmt:
    span: Span


@dataclass(slots=True, eq=False)
class VarDecl(Stmt):
    target: VarRef
    value: Expr
    mode: str = "plain"  # "plain" | "var" | "varip"
    declared_type: TypeRef | None = None


@dataclass(slots=True, eq=False)
class TupleDecl(Stmt):
    targets: list[VarRef | None]
    value: Expr


@dataclass(slots=True, eq=False)
class Assign(Stmt):
    target: Expr  # VarRef | FieldAccess
    op: str  # ":=" "+=" "-=" "*=" "/=" "%="
    value: Expr


@dataclass(slots=True, eq=False)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(slots=True, eq=False)
class Break(Stmt):
    pass


@dataclass(slots=True, eq=False)
class Continue(Stmt):
    pass


@dataclass(slots=True, eq=False)
class If(Expr):
    cond: Expr
    then: list[Stmt]
    orelse: list[Stmt] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class SwitchCase:
    match: Expr | None
    body: list[Stmt]
    span: Span = NO_SPAN


@dataclass(slots=True, eq=False)
class Switch(Expr):
    subject: Expr | None
    cases: list[SwitchCase]


@dataclass(slots=True, eq=False)
class For(Expr):
    var: VarRef
    start: Expr
    end: Expr
    step: Expr | None
    body: list[Stmt]


@dataclass(slots=True, eq=False)
class ForIn(Expr):
    index: VarRef | None
    item: VarRef
    iterable: Expr
    body: list[Stmt]


@dataclass(slots=True, eq=False)
class While(Expr):
    cond: Expr
    body: list[Stmt]


# ----------------------------------------------------------------------------------------------------
# Definitions
# ----------------------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Param:
    name: str
    slot: int
    declared_type: TypeRef | None = None
    default: Expr | None = None
    span: Span = NO_SPAN


@dataclass(slots=True, eq=False)
class FunctionDef:
    name: str
    key: str  # unique: "name" or "name#N" for overloads, methods "method:name#N"
    params: list[Param]
    body: list[Stmt]
    n_slots: int = 0
    slot_names: list[str] = field(default_factory=list)
    history_slots: set[int] = field(default_factory=set)
    is_method: bool = False
    export: bool = False
    span: Span = NO_SPAN


@dataclass(slots=True, eq=False)
class FieldDef:
    name: str
    declared_type: TypeRef
    default: Expr | None = None
    span: Span = NO_SPAN


@dataclass(slots=True, eq=False)
class TypeDef:
    name: str
    fields: list[FieldDef]
    export: bool = False
    span: Span = NO_SPAN


@dataclass(slots=True, eq=False)
class EnumDef:
    name: str
    members: list[EnumValue]
    export: bool = False
    span: Span = NO_SPAN


@dataclass(slots=True, eq=False)
class Declaration:
    kind: str  # "strategy" | "indicator" | "library"
    title: str | None
    args: dict[str, Any]  # named args folded to Python constants (positional ones named by signature)
    span: Span = NO_SPAN


@dataclass(slots=True, eq=False)
class Program:
    version: int
    declaration: Declaration | None
    body: list[Stmt]
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    types: dict[str, TypeDef] = field(default_factory=dict)
    enums: dict[str, EnumDef] = field(default_factory=dict)
    n_slots: int = 0
    slot_names: list[str] = field(default_factory=list)
    history_slots: set[int] = field(default_factory=set)
    inputs: list[Any] = field(default_factory=list)  # list[InputSpec]
    plots: list[Any] = field(default_factory=list)  # list[PlotSpec]
    n_sites: int = 0


# Changelog (additive changes after first publication):
# - ForIn: ``for [k, v] in some_map`` is accepted by the checker (Pine v5/v6 allow iterating a map with a
#   [key, value] tuple); index = key, item = value, insertion order.
# - Declaration: ``DeclarationSpec`` (CompileResult.declaration) exposes every strategy()/indicator()
#   argument as an attribute with TradingView's default when omitted (``spec.pyramiding``); margin_long /
#   margin_short default to 100 in v6 and 0 in v5.
# - Binary: documented v5 strict vs v6 lazy ``and``/``or``.
# - Const colors: ``color.red/teal/yellow`` carry the v5 palette values in v5 scripts.
# - ``line(na)``, ``label(na)``, ``UDT(na)`` casts are folded to ``Const(None)``; ``line(x)`` is ``x``.
# - v5 ``strategy.*(..., when=cond)`` is lowered to ``If(cond, [ExprStmt(call)])``.
# - Method calls on receivers of unknown static type: runtime dispatch on the receiver (see above).
