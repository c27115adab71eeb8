"""Name resolution, type checking and lowering of the syntax tree to :mod:`ir`.

Conservative by design: an error is reported only when TradingView certainly rejects the script;
unknown types (``None``) never produce errors.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from . import ast as A
from . import builtins as B
from . import ir
from .compiler import DeclarationSpec, InputSpec, PlotSpec
from .diagnostics import DiagnosticSink
from .ir import PineType, Span
from .types import NA, NUMERIC, VOID, assignable, describe, from_typeref, qmax, unify

SUPPORTED_VERSIONS = (5, 6)
DEFAULT_VERSION = 6


@dataclass(slots=True)
class Symbol:
    name: str
    slot: int
    scope: str  # global | local
    ty: PineType | None
    mode: str = "plain"
    declared: bool = False  # declared with an explicit type
    decl_span: Span | None = None


@dataclass(slots=True)
class Frame:
    scope: str
    n_slots: int = 0
    slot_names: list[str] = field(default_factory=list)
    history_slots: set[int] = field(default_factory=set)

    def new_slot(self, name: str) -> int:
        self.slot_names.append(name)
        self.n_slots += 1
        return self.n_slots - 1


@dataclass(slots=True)
class UserFunc:
    fdef: ir.FunctionDef
    node: A.FuncDefNode
    result: PineType | None
    receiver: str | None = None  # base type name for methods
    # param index -> (max qualifier accepted, built-in, built-in parameter): inferred from the body,
    # e.g. ``f(len) => ta.ema(close, len)`` requires a 'simple' len
    param_reqs: dict[int, tuple[str, str, str]] = field(default_factory=dict)


class Checker:
    def __init__(self, sink: DiagnosticSink, version: int) -> None:
        self.sink = sink
        self.version = version
        self.global_frame = Frame("global")
        self.frame = self.global_frame
        self.scopes: list[dict[str, Symbol]] = [{}]
        self.functions: dict[str, list[UserFunc]] = {}
        self.methods: dict[str, list[UserFunc]] = {}
        self.all_fdefs: dict[str, ir.FunctionDef] = {}
        self.types: dict[str, ir.TypeDef] = {}
        self.field_types: dict[str, dict[str, PineType]] = {}
        self.enums: dict[str, ir.EnumDef] = {}
        self.imports: dict[str, str] = {}
        self.sites = 0
        self.inputs: list[InputSpec] = []
        self.plots: list[PlotSpec] = []
        self.declaration: DeclarationSpec | None = None
        self.decl_ir: ir.Declaration | None = None
        self.in_function: str | None = None
        self.loop_depth = 0
        self.pending_input_name: str | None = None
        self.source_lines: list[str] = []
        self.cond_depth = 0  # > 0 inside if/switch/loop bodies and ternary branches
        self.statement_nodes: set[int] = set()
        # Pine v6: a variable reassigned anywhere is 'series' from its declaration on; the first pass
        # collects the declarations that get reassigned, a second pass uses them
        self.mutable_decl_spans: set[Span] = set()
        self.reassigned_decl_spans: set[Span] = set()
        self.suggestions_made = 0
        self.result_cache: dict[tuple, PineType | None] = {}
        self.infer_depth = 0
        self.slot_deps: dict[int, frozenset[int]] = {}  # local slot -> params its value derives from
        self.param_reqs: dict[int, tuple[str, str, str]] = {}
        self.strategy_only_use: tuple[str, Span] | None = None

    def text(self, e: ir.Expr) -> str:
        """Source text of an expression for messages (TradingView quotes the argument as written)."""
        sp = e.span
        if sp.line == sp.end_line and 0 < sp.line <= len(self.source_lines):
            txt = self.source_lines[sp.line - 1][sp.col - 1 : sp.end_col - 1].strip()
            if 0 < len(txt) <= 60:
                return txt
        return _short(e)

    # ------------------------------------------------------------------------------------ helpers
    def err(self, msg: str, span: Span, code: str = "error") -> None:
        self.sink.error(msg, span, code)

    def warn(self, msg: str, span: Span, code: str = "warning") -> None:
        self.sink.warning(msg, span, code)

    def site(self) -> int:
        self.sites += 1
        return self.sites - 1

    def lookup(self, name: str) -> Symbol | None:
        for scope in reversed(self.scopes):
            sym = scope.get(name)
            if sym is not None:
                return sym
        return None

    def declare(self, name: str, span: Span, ty: PineType | None, mode: str = "plain", declared: bool = False) -> Symbol:
        scope = self.scopes[-1]
        if name in scope:
            self.err(f"'{name}' is already defined; use ':=' to reassign it", span, "redeclared")
        elif self.lookup(name) is not None:
            self.warn(
                f"Shadowing variable '{name}' which exists in parent scope. Did you want to use the ':=' operator instead of '='?",
                span,
                "shadowing",
            )
        if name in B.VARIABLES or name in self.functions or name in ("na",):
            self.warn(f"Shadowing built-in or function name '{name}'", span, "shadowing")
        sym = Symbol(name, self.frame.new_slot(name), self.frame.scope, ty, mode, declared, span)
        scope[name] = sym
        return sym

    MAX_SUGGESTIONS = 20

    def suggest(self, name: str, kind: str) -> str:
        """' Did you mean ...?' for a misspelt or pre-v5 name (only for the first few errors: difflib is slow)."""
        self.suggestions_made += 1
        if self.suggestions_made > self.MAX_SUGGESTIONS or len(name) > 60:
            return ""
        if name in V4_RENAMES:
            return f". Did you mean '{V4_RENAMES[name]}'? ({V4_RENAMES_NOTE})"
        if "." not in name:
            for ns in ("ta", "math", "str", "array"):
                q = f"{ns}.{name}"
                if q in B.FUNCTIONS or q in B.VARIABLES:
                    return f". Did you mean '{q}'? (built-ins moved into namespaces in Pine v5)"
        prefix = name.rsplit(".", 1)[0] + "." if "." in name else ""
        if kind == "function":
            pool = [n for n in B.FUNCTIONS if n.startswith(prefix) and n.count(".") == name.count(".")]
            pool += [n for n in self.functions if not prefix]
        else:
            pool = [n for n in (*B.VARIABLES, *B.CONSTANTS) if n.startswith(prefix) and n.count(".") == name.count(".")]
            if not prefix:
                pool += [n for scope in self.scopes for n in scope]
                pool += [n for n in B.NAMESPACES if "." not in n]
        match = difflib.get_close_matches(name, pool, n=1, cutoff=0.75)
        return f". Did you mean '{match[0]}'?" if match else ""

    def push(self) -> None:
        self.scopes.append({})

    def pop(self) -> None:
        self.scopes.pop()

    # ------------------------------------------------------------------------------------ program
    def check(self, nodes: list[A.Node]) -> ir.Program:
        body: list[ir.Stmt] = []
        for node in nodes:
            try:
                stmt = self.top_level(node)
            except RecursionError:
                self.err("Script is nested too deeply", node.span, "limit")
                continue
            if stmt is not None:
                body.append(stmt)
        if self.decl_ir is None and not self.imports:
            self.err(
                "Script must contain one declaration statement: indicator(), strategy() or library()",
                Span(1, 1, 1, 1),
                "declaration",
            )
        if self.strategy_only_use is not None and self.decl_ir is not None and self.decl_ir.kind != "strategy":
            used, span = self.strategy_only_use
            self.err(f"'{used}' can only be used in strategies (this script is declared with {self.decl_ir.kind}())", span, "declaration")
        program = ir.Program(
            version=self.version,
            declaration=self.decl_ir,
            body=body,
            functions=self.all_fdefs,
            types=self.types,
            enums=self.enums,
            n_slots=self.global_frame.n_slots,
            slot_names=self.global_frame.slot_names,
            history_slots=self.global_frame.history_slots,
            inputs=self.inputs,
            plots=self.plots,
            n_sites=self.sites,
        )
        return program

    def top_level(self, node: A.Node) -> ir.Stmt | None:
        if isinstance(node, A.FuncDefNode):
            self.function_def(node)
            return None
        if isinstance(node, A.TypeDefNode):
            self.type_def(node)
            return None
        if isinstance(node, A.EnumDefNode):
            self.enum_def(node)
            return None
        if isinstance(node, A.ImportNode):
            alias = node.alias or node.path.split("/")[1] if "/" in node.path else node.path
            self.imports[node.alias or alias] = node.path
            self.err(
                f"Unsupported feature: importing libraries is not supported (cannot import library '{node.path}')",
                node.span,
                "unsupported",
            )
            return None
        if isinstance(node, A.ExprStmtNode) and isinstance(node.expr, A.Call) and isinstance(node.expr.func, A.Name):
            if node.expr.func.name in ("strategy", "indicator", "library"):
                self.declaration_call(node.expr)
                return None
        return self.statement(node)

    # ------------------------------------------------------------------------------------ declarations
    def declaration_call(self, call: A.Call) -> None:
        kind = call.func.name  # type: ignore[attr-defined]
        if self.decl_ir is not None:
            self.err("Script can contain only one declaration statement", call.span, "declaration")
            return
        expr = self.call(call)
        args: dict[str, Any] = {}
        if isinstance(expr, ir.BuiltinCall):
            for pname, arg in zip(expr.param_names, expr.args, strict=False):
                if arg is None:
                    continue
                ok, value = const_value(arg)
                if ok:
                    args[pname] = value
        title = args.get("title")
        self.decl_ir = ir.Declaration(kind, title, args, call.span)
        self.declaration = DeclarationSpec(kind, title, args, self.version)

    def function_def(self, node: A.FuncDefNode) -> None:
        if self.in_function is not None or len(self.scopes) > 1:
            self.err("Functions can only be declared in the global scope", node.span, "syntax")
            return
        if node.export and (self.decl_ir is None or self.decl_ir.kind != "library"):
            self.err("'export' can only be used in libraries", node.span)
        if node.name in B.FUNCTIONS and not node.is_method:
            self.warn(f"Function '{node.name}' shadows a built-in function", node.span, "shadowing")
        existing = self.methods.get(node.name, []) if node.is_method else self.functions.get(node.name, [])
        prefix = "method:" if node.is_method else ""
        key = f"{prefix}{node.name}" if not existing else f"{prefix}{node.name}#{len(existing)}"
        if not node.is_method:
            sig = [_typeref_key(p.declared_type) for p in node.params]
            for uf in existing:
                if [_typeref_key(p.declared_type) for p in uf.fdef.params] == sig:
                    self.err(
                        f"Function '{node.name}' is already defined with the same parameter types",
                        node.span,
                        "redeclared",
                    )
        frame = Frame("local")
        saved = (self.frame, self.scopes, self.in_function, self.loop_depth, self.cond_depth, self.slot_deps, self.param_reqs)
        self.frame, self.scopes, self.in_function, self.loop_depth, self.cond_depth = (
            frame, [self.scopes[0], {}], node.name, 0, 0,
        )
        self.slot_deps, self.param_reqs = {}, {}
        param_reqs = self.param_reqs
        params: list[ir.Param] = []
        receiver = None
        try:
            for i, p in enumerate(node.params):
                pty = None
                if p.declared_type is not None:
                    # an explicit qualifier (``const int n``, ``series float x``) is honoured; without one
                    # the parameter is checked as 'simple' and call sites are checked via param_reqs
                    pty = from_typeref(p.declared_type).with_qualifier(p.declared_type.qualifier or "simple")
                if p.declared_type is not None:
                    self.check_typeref(p.declared_type)
                if i == 0 and node.is_method:
                    if p.declared_type is None:
                        self.err(f"The first parameter of method '{node.name}' must have a type", p.span)
                    else:
                        receiver = p.declared_type.name
                if p.name in self.scopes[-1]:
                    self.err(f"Duplicate parameter '{p.name}'", p.span)
                slot = frame.new_slot(p.name)
                self.scopes[-1][p.name] = Symbol(p.name, slot, "local", pty, "param", p.declared_type is not None)
                self.slot_deps[slot] = frozenset({i})
                default = self.expr(p.default) if p.default is not None else None
                params.append(ir.Param(p.name, slot, p.declared_type, default, p.span))
            body, result = self.block_value(node.body, new_scope=False)
        finally:
            self.frame, self.scopes, self.in_function, self.loop_depth, self.cond_depth, self.slot_deps, self.param_reqs = saved
        fdef = ir.FunctionDef(
            node.name,
            key,
            params,
            body,
            frame.n_slots,
            frame.slot_names,
            frame.history_slots,
            node.is_method,
            node.export,
            node.span,
        )
        uf = UserFunc(fdef, node, result, receiver, param_reqs)
        self.all_fdefs[key] = fdef
        (self.methods if node.is_method else self.functions).setdefault(node.name, []).append(uf)
        if node.is_method:
            # methods can also be called with function syntax
            self.functions.setdefault(node.name, []).append(uf)

    def check_typeref(self, ref: ir.TypeRef) -> None:
        name = ref.name
        known = (
            name in ("int", "float", "bool", "string", "color", "array", "map", "matrix")
            or name in B.DRAWING_TYPES
            or name in self.types
            or name in self.enums
            or name.split(".")[0] in self.imports
        )
        if not known:
            self.err(f"Unknown type '{name}'", ref.span, "undeclared")
        if name in ("array", "matrix") and len(ref.args) != 1:
            self.err(f"'{name}' needs one type argument, e.g. {name}<float>", ref.span)
        if name == "map" and len(ref.args) != 2:
            self.err("'map' needs two type arguments, e.g. map<string, float>", ref.span)
        for a in ref.args:
            self.check_typeref(a)

    def type_def(self, node: A.TypeDefNode) -> None:
        if node.name in self.types or node.name in self.enums:
            self.err(f"Type '{node.name}' is already defined", node.span, "redeclared")
            return
        # register first so fields may refer to the type itself (linked lists, trees)
        tdef = ir.TypeDef(node.name, [], node.export, node.span)
        self.types[node.name] = tdef
        ftypes: dict[str, PineType] = {}
        for f in node.fields:
            self.check_typeref(f.declared_type)
            if f.name in ftypes:
                self.err(f"Field '{f.name}' is already defined in type '{node.name}'", f.span, "redeclared")
                continue
            fty = from_typeref(f.declared_type)
            default = None
            if f.default is not None:
                default = self.expr(f.default)
                if default.ty is not None and default.ty.qualifier not in ("const", None):
                    self.err(f"Default value of field '{f.name}' must be a constant", f.default.span, "qualifier")
                if default.ty is not None and not assignable(fty, default.ty) and fty.base in ("int", "float", "bool", "string", "color"):
                    self.err(
                        f"Cannot assign a value of type '{describe(default.ty)}' to field '{f.name}' of type '{fty.base}'",
                        f.default.span,
                        "type",
                    )
            ftypes[f.name] = fty
            tdef.fields.append(ir.FieldDef(f.name, f.declared_type, default, f.span))
        self.field_types[node.name] = ftypes

    def enum_def(self, node: A.EnumDefNode) -> None:
        if node.name in self.types or node.name in self.enums:
            self.err(f"Type '{node.name}' is already defined", node.span, "redeclared")
            return
        members = []
        seen = set()
        for name, title, span in node.members:
            if name in seen:
                self.err(f"Enum member '{name}' is already defined", span, "redeclared")
                continue
            seen.add(name)
            members.append(ir.EnumValue(node.name, name, title if title is not None else name))
        self.enums[node.name] = ir.EnumDef(node.name, members, node.export, node.span)

    # ------------------------------------------------------------------------------------ statements
    def block(self, nodes: list[A.Node], new_scope: bool = True) -> list[ir.Stmt]:
        if new_scope:
            self.push()
        out = []
        try:
            for n in nodes:
                s = self.statement(n)
                if s is not None:
                    out.append(s)
        finally:
            if new_scope:
                self.pop()
        return out

    def block_value(self, nodes: list[A.Node], new_scope: bool = True) -> tuple[list[ir.Stmt], PineType | None]:
        if new_scope:
            self.push()
        out: list[ir.Stmt] = []
        result: PineType | None = NA
        try:
            for n in nodes:
                s = self.statement(n)
                if s is not None:
                    out.append(s)
            result = stmt_value_type(out[-1]) if out else NA
        finally:
            if new_scope:
                self.pop()
        return out, result

    def statement(self, node: A.Node) -> ir.Stmt | None:
        if isinstance(node, A.DeclStmt):
            return self.decl_stmt(node)
        if isinstance(node, A.AssignStmt):
            return self.assign_stmt(node)
        if isinstance(node, A.TupleDeclStmt):
            return self.tuple_decl(node)
        if isinstance(node, A.ExprStmtNode):
            expr = node.expr
            if isinstance(expr, A.Call) and isinstance(expr.func, A.Name) and expr.func.name in (
                "strategy",
                "indicator",
                "library",
            ):
                self.err("The declaration statement must be in the global scope", node.span, "declaration")
                return None
            if isinstance(expr, A.Call) and any(k == "when" for k, _, _ in expr.kwargs):
                return self.when_call(node, expr)
            return ir.ExprStmt(node.span, self.expr(expr))
        if isinstance(node, (A.IfNode, A.SwitchNode, A.ForNode, A.ForInNode, A.WhileNode)):
            # used as a statement: branch values are discarded, so their types need not agree
            self.statement_nodes.add(id(node))
            return self.expr(node)  # type: ignore[return-value]
        if isinstance(node, A.BreakNode):
            if self.loop_depth == 0:
                self.err("'break' can only be used inside a loop", node.span, "syntax")
            return ir.Break(node.span)
        if isinstance(node, A.ContinueNode):
            if self.loop_depth == 0:
                self.err("'continue' can only be used inside a loop", node.span, "syntax")
            return ir.Continue(node.span)
        if isinstance(node, (A.FuncDefNode, A.TypeDefNode, A.EnumDefNode)):
            kind = {A.FuncDefNode: "Functions", A.TypeDefNode: "Types", A.EnumDefNode: "Enums"}[type(node)]
            self.err(f"{kind} can only be declared in the global scope", node.span, "syntax")
            return None
        if isinstance(node, A.ImportNode):
            self.err("'import' must be in the global scope", node.span, "syntax")
            return None
        self.err("Unsupported statement", node.span, "unsupported")  # pragma: no cover
        return None

    def when_call(self, node: A.ExprStmtNode, call: A.Call) -> ir.Stmt:
        """v5 ``strategy.entry(..., when=cond)`` is lowered to ``if cond`` around the call."""
        q = self._qualified(call.func) or ""
        when = next((v, sp) for k, v, sp in call.kwargs if k == "when")
        if not q.startswith("strategy.") or self.version >= 6:
            detail = (
                "the 'when' parameter was removed in Pine v6; wrap the call in an 'if' statement"
                if q.startswith("strategy.")
                else f"the '{q or 'function'}' function does not have an argument with the name 'when'"
            )
            self.err(detail[0].upper() + detail[1:], when[1], "args")
            rest = A.Call(call.span, call.func, call.args, [kw for kw in call.kwargs if kw[0] != "when"], call.type_args)
            return ir.ExprStmt(node.span, self.expr(rest))
        self.warn("The 'when' parameter is deprecated; use an 'if' statement instead", when[1], "deprecated")
        cond = self.expr(when[0])
        self.condition(cond, when[0].span, "'when'")
        rest = A.Call(call.span, call.func, call.args, [kw for kw in call.kwargs if kw[0] != "when"], call.type_args)
        self.cond_depth += 1
        try:
            inner = self.expr(rest)
        finally:
            self.cond_depth -= 1
        return ir.If(node.span, cond, [ir.ExprStmt(node.span, inner)], [], ty=VOID)

    def decl_stmt(self, node: A.DeclStmt) -> ir.Stmt:
        declared_ty = None
        if node.declared_type is not None:
            self.check_typeref(node.declared_type)
            declared_ty = from_typeref(node.declared_type)
        if isinstance(node.value, A.Call):
            self.pending_input_name = node.name
        n_inputs = len(self.inputs)
        try:
            value = self.expr(node.value)
        finally:
            self.pending_input_name = None
        if len(self.inputs) == n_inputs + 1 and self.inputs[-1].name is None:
            # ``slPct = input.float(1.5, "Stop %") / 100``: the input is known by the variable's name too
            self.inputs[-1].name = node.name
        vty = value.ty
        if vty is not None:
            if vty.base == "void":
                self.err(f"Cannot assign a void expression to variable '{node.name}'", node.value.span, "type")
            elif vty.base == "tuple":
                self.err(
                    f"A function returning a tuple must be assigned to a tuple declaration: [a, b] = ... (variable '{node.name}')",
                    node.value.span,
                    "type",
                )
            elif vty.base == "na" and declared_ty is None:
                self.err(
                    f"Value with NA type cannot be assigned to a variable that was defined without type keyword ('{node.name}'); write e.g. 'float {node.name} = na'",
                    node.value.span,
                    "type",
                )
        ty = vty
        if (
            self.version >= 6
            and declared_ty is not None
            and declared_ty.base == "bool"
            and isinstance(value, ir.Const)
            and value.value is None
        ):
            self.err(
                f"In Pine v6 'bool' values cannot be na: initialize '{node.name}' with true or false",
                node.value.span,
                "type",
            )
        if declared_ty is not None:
            if vty is not None and not assignable(declared_ty, vty) and _certain(value, vty):
                self.err(
                    f"Cannot assign a value of the '{describe(vty)}' type to the '{node.name}' variable declared with the '{declared_ty.base}' type",
                    node.value.span,
                    "type",
                )
            q = declared_ty.qualifier if node.declared_type and node.declared_type.qualifier else (vty.qualifier if vty else "series")
            if node.declared_type and node.declared_type.qualifier and vty is not None:
                if _qrank(vty.qualifier) > _qrank(node.declared_type.qualifier):
                    self.err(
                        f"Variable '{node.name}' is declared '{node.declared_type.qualifier}' but its value is '{vty.qualifier}'",
                        node.value.span,
                        "qualifier",
                    )
            ty = declared_ty.with_qualifier(q)
        if ty is not None and self.version >= 6 and node.name_span in self.mutable_decl_spans:
            ty = ty.with_qualifier("series")
        # an unmodified ``var x = 1`` keeps the qualifier of its initializer (const in TradingView); a
        # reassigned one is series (v6: second pass; v5: raised at each reassignment)
        sym = self.declare(node.name, node.name_span, ty, node.mode, declared_ty is not None)
        if node.declared_type is not None and node.declared_type.qualifier == "const":
            sym.mode = "const"
        if self.in_function is not None and node.mode == "plain":
            deps = self.param_deps(value)
            if deps:
                self.slot_deps[sym.slot] = deps
        target = ir.VarRef(node.name_span, node.name, sym.slot, sym.scope, ty=ty)
        return ir.VarDecl(node.span, target, value, node.mode, node.declared_type)

    def tuple_decl(self, node: A.TupleDeclStmt) -> ir.Stmt:
        value = self.expr(node.value)
        vty = value.ty
        item_types: tuple[PineType, ...] | None = None
        if vty is not None:
            if vty.base != "tuple":
                self.err("The right side of a tuple declaration must return a tuple", node.value.span, "type")
            else:
                item_types = vty.args
                if len(item_types) != len(node.names):
                    self.err(
                        f"The tuple has {len(item_types)} values but {len(node.names)} variables are declared",
                        node.span,
                        "type",
                    )
                    item_types = None
        targets: list[ir.VarRef | None] = []
        for i, (name, span) in enumerate(node.names):
            if name == "_":
                targets.append(None)
                continue
            ty = item_types[i] if item_types else None
            sym = self.declare(name, span, ty)
            targets.append(ir.VarRef(span, name, sym.slot, sym.scope, ty=ty))
        return ir.TupleDecl(node.span, targets, value)

    def assign_stmt(self, node: A.AssignStmt) -> ir.Stmt:
        value = self.expr(node.value)
        if isinstance(node.target, A.Name):
            name = node.target.name
            sym = self.lookup(name)
            if sym is None:
                if name in B.VARIABLES or name == "na":
                    self.err(f"Cannot modify built-in variable '{name}'", node.target.span, "assign")
                else:
                    self.err(f"Undeclared identifier '{name}'{self.suggest(name, 'value')}", node.target.span, "undeclared")
                return ir.ExprStmt(node.span, value)
            if self.in_function is not None and sym.scope == "global":
                self.err(
                    f"Cannot modify global variable '{name}' in function '{self.in_function}'",
                    node.target.span,
                    "assign",
                )
                return ir.ExprStmt(node.span, value)
            if sym.mode == "const":
                self.err(f"Cannot modify '{name}': it is declared 'const'", node.target.span, "assign")
            target: ir.Expr = ir.VarRef(node.target.span, name, sym.slot, sym.scope, ty=sym.ty)
            if sym.decl_span is not None:
                self.reassigned_decl_spans.add(sym.decl_span)
            if sym.scope == "local" and sym.mode != "param":
                self.slot_deps.pop(sym.slot, None)
            self.check_assign_types(name, sym.ty, value, node)
            if sym.ty is not None and value.ty is not None and sym.mode != "param":
                # reassigned variables take the strongest qualifier
                sym.ty = sym.ty.with_qualifier(qmax(sym.ty.qualifier, value.ty.qualifier, "simple" if sym.ty.qualifier == "const" else None))
                if sym.ty.base == "na" and value.ty.base != "na":
                    sym.ty = value.ty
            return ir.Assign(node.span, target, node.op, value)
        target = self.expr(node.target)
        if isinstance(target, ir.FieldAccess):
            self.check_assign_types(target.field, target.ty, value, node)
            return ir.Assign(node.span, target, node.op, value)
        if isinstance(target, (ir.BuiltinVar, ir.Const)):
            self.err(f"Cannot modify built-in variable '{getattr(target, 'name', '?')}'", node.target.span, "assign")
        else:
            self.err("Invalid assignment target", node.target.span, "assign")
        return ir.ExprStmt(node.span, value)

    def check_assign_types(self, name: str, ty: PineType | None, value: ir.Expr, node: A.AssignStmt) -> None:
        vty = value.ty
        if ty is None or vty is None:
            return
        if vty.base == "void":
            self.err(f"Cannot assign a void expression to '{name}'", node.value.span, "type")
            return
        if node.op != ":=":
            op = node.op[0]
            if op == "+" and ty.base == "string" and vty.base == "string":
                return
            if (ty.base not in NUMERIC and ty.base not in ("na",)) or vty.base not in NUMERIC | {"na"}:
                self.err(
                    f"Operator '{node.op}' cannot be applied to '{describe(ty)}' and '{describe(vty)}'",
                    node.span,
                    "type",
                )
                return
            if ty.base == "int" and (vty.base == "float" or op == "/") and _certain(value, vty):
                self.err(
                    f"Cannot assign a value of the 'float' type to the '{name}' variable declared with the 'int' type",
                    node.value.span,
                    "type",
                )
            return
        if ty.base == "na":
            return
        if not assignable(ty, vty) and _certain(value, vty) and (ty.base in B_PRIMS or vty.base in B_PRIMS):
            self.err(
                f"Cannot assign a value of the '{describe(vty)}' type to the '{name}' variable. The variable is declared with the '{ty.base}' type",
                node.value.span,
                "type",
            )

    # ------------------------------------------------------------------------------------ expressions
    def expr(self, node: A.Node) -> ir.Expr:
        meth = getattr(self, "e_" + type(node).__name__)
        return meth(node)

    def e_Literal(self, node: A.Literal) -> ir.Expr:
        return ir.Const(node.span, node.value, ty=PineType(node.kind, (), "const"))

    def e_Name(self, node: A.Name) -> ir.Expr:
        name = node.name
        sym = self.lookup(name)
        if sym is not None:
            return ir.VarRef(node.span, name, sym.slot, sym.scope, ty=sym.ty)
        if name == "na":
            return ir.Const(node.span, None, "na", ty=NA)
        if name in B.VARIABLES:
            base, q = B.VARIABLES[name]
            return ir.BuiltinVar(node.span, name, ty=PineType(base, (), q))
        if name in self.functions or (name in B.FUNCTIONS and name != "na"):
            self.err(f"Function '{name}' must be called: '{name}(...)'", node.span, "syntax")
        elif name in self.types or name in self.enums:
            self.err(f"Type '{name}' cannot be used as a value", node.span, "type")
        elif name in self.imports:
            pass  # already reported at the import
        elif name in B.NAMESPACES:
            self.err(f"Namespace '{name}' cannot be used as a value", node.span, "undeclared")
        else:
            self.err(f"Undeclared identifier '{name}'{self.suggest(name, 'value')}", node.span, "undeclared")
        return ir.Const(node.span, None, ty=None)

    def _qualified(self, node: A.Node) -> str | None:
        """Dotted name ``a.b.c`` if ``node`` is a chain of names not starting with a variable."""
        parts = []
        while isinstance(node, A.Attr):
            parts.append(node.name)
            node = node.obj
        if not isinstance(node, A.Name):
            return None
        parts.append(node.name)
        q = ".".join(reversed(parts))
        if self.lookup(node.name) is not None:
            # a variable named like a namespace (``color``, ``timeframe``) does not hide the
            # namespace's built-ins: ``color.new(color, 50)`` still calls color.new
            ns = q.rsplit(".", 1)[0]
            if q in B.FUNCTIONS or q in B.CONSTANTS or q in B.VARIABLES or (ns in B.DRAWING_NAMESPACES and "." in q):
                return q
            return None
        return q

    def e_Attr(self, node: A.Attr) -> ir.Expr:
        q = self._qualified(node)
        if q is not None:
            if q in B.CONSTANTS:
                value, tyname = B.CONSTANTS[q]
                if self.version < 6 and q in B.V5_COLORS:
                    value = B.V5_COLORS[q]
                qual, base = tyname.split(" ")
                return ir.Const(node.span, value, q, ty=PineType(base, (), qual))
            if q in B.VARIABLES:
                base, qual = B.VARIABLES[q]
                if q.startswith("strategy.") and self.strategy_only_use is None:
                    self.strategy_only_use = (q, node.span)
                return ir.BuiltinVar(node.span, q, ty=PineType(base, (), qual))
            root = q.split(".")[0]
            if root in self.enums and q.count(".") == 1:
                member = q.split(".")[1]
                for ev in self.enums[root].members:
                    if ev.member == member:
                        return ir.Const(node.span, ev, q, ty=PineType(root, (), "const"))
                self.err(f"Enum '{root}' has no member '{member}'", node.name_span or node.span, "undeclared")
                return ir.Const(node.span, None, ty=None)
            if root in self.imports:
                return ir.Const(node.span, None, ty=None)
            if q in B.FUNCTIONS:
                self.err(f"Function '{q}' must be called: '{q}(...)'", node.span, "syntax")
                return ir.Const(node.span, None, ty=None)
            ns = q.rsplit(".", 1)[0]
            if ns in B.NAMESPACES or root in B.NAMESPACES:
                self.err(f"Undeclared identifier '{q}'{self.suggest(q, 'value')}", node.span, "undeclared")
                return ir.Const(node.span, None, ty=None)
            if root in self.types:
                self.err(f"Undeclared identifier '{q}'{self.suggest(q, 'value')}", node.span, "undeclared")
                return ir.Const(node.span, None, ty=None)
        obj = self.expr(node.obj)
        return self.field_access(obj, node.name, node)

    def field_access(self, obj: ir.Expr, name: str, node: A.Attr) -> ir.Expr:
        oty = obj.ty
        fty: PineType | None = None
        type_name = None
        if oty is not None:
            if oty.base in self.field_types:
                type_name = oty.base
                ftypes = self.field_types[oty.base]
                if name not in ftypes:
                    self.err(f"Object of type '{oty.base}' has no field '{name}'", node.name_span or node.span, "undeclared")
                else:
                    fty = ftypes[name]
            elif oty.base not in ("na",):
                self.err(f"Cannot access field '{name}' of a value of type '{describe(oty)}'", node.name_span or node.span, "type")
        return ir.FieldAccess(node.span, obj, name, type_name, ty=fty)

    def e_Subscript(self, node: A.Subscript) -> ir.Expr:
        target = self.expr(node.target)
        offset = self.expr(node.index)
        oty = offset.ty
        if oty is not None and oty.base not in ("int", "na"):
            self.err(
                f"History reference offset must be an integer, not '{describe(oty)}'", node.index.span, "type"
            )
        if isinstance(offset, ir.Const) and isinstance(offset.value, int) and not isinstance(offset.value, bool) and offset.value < 0:
            self.err("Invalid history reference: the offset must be non-negative", node.index.span, "type")
        if target.ty is not None and target.ty.base in ("void", "tuple"):
            self.err("Cannot use the history-referencing operator on this expression", node.span, "type")
        elif self.version >= 6 and isinstance(target, ir.Const):
            self.err(
                "Cannot use the history-referencing operator on literals or built-in constants in Pine v6",
                node.span,
                "type",
            )
        elif self.version >= 6 and isinstance(target, ir.FieldAccess):
            self.err(
                f"Cannot use the history-referencing operator on the field '{target.field}' in Pine v6; "
                f"reference the object's history instead: (obj[n]).{target.field}",
                node.span,
                "type",
            )
        if isinstance(target, ir.VarRef):
            frame = self.global_frame if target.scope == "global" else self.frame
            frame.history_slots.add(target.slot)
        ty = target.ty.with_qualifier("series") if target.ty is not None else None
        return ir.Index(node.span, target, offset, self.site(), ty=ty)

    def e_UnaryOp(self, node: A.UnaryOp) -> ir.Expr:
        operand = self.expr(node.operand)
        oty = operand.ty
        ty = oty
        if oty is not None:
            if node.op == "not":
                if oty.base in ("string", "color") or (self.version >= 6 and oty.base in NUMERIC):
                    self.err(f"Operator 'not' cannot be applied to '{describe(oty)}'", node.span, "type")
                ty = PineType("bool", (), oty.qualifier)
            elif oty.base not in NUMERIC and oty.base != "na":
                self.err(f"Operator '{node.op}' cannot be applied to '{describe(oty)}'", node.span, "type")
        return ir.Unary(node.span, node.op, operand, ty=ty)

    def e_BinOp(self, node: A.BinOp) -> ir.Expr:
        left = self.expr(node.left)
        right = self.expr(node.right)
        lt, rt = left.ty, right.ty
        op = node.op
        ty: PineType | None = None
        if lt is not None and rt is not None:
            q = qmax(lt.qualifier, rt.qualifier)
            lb, rb = lt.base, rt.base
            if op in ("and", "or"):
                for side, sty in ((node.left, lt), (node.right, rt)):
                    if sty.base in ("string", "color") or (self.version >= 6 and sty.base in NUMERIC):
                        self.err(f"Operator '{op}' cannot be applied to '{describe(sty)}'; a 'bool' is expected", side.span, "type")
                ty = PineType("bool", (), q)
            elif op in ("==", "!="):
                ty = PineType("bool", (), q)
                if (lb in NUMERIC and rb in ("string",)) or (lb == "string" and rb in NUMERIC):
                    self.err(f"Cannot compare '{describe(lt)}' with '{describe(rt)}'", node.span, "type")
            elif op in ("<", ">", "<=", ">="):
                ty = PineType("bool", (), q)
                for side, sty in ((node.left, lt), (node.right, rt)):
                    if sty.base not in NUMERIC and sty.base != "na" and sty.base != "string":
                        self.err(f"Operator '{op}' cannot be applied to '{describe(sty)}'", side.span, "type")
            else:
                if op == "+" and (lb == "string" or rb == "string"):
                    if lb in ("string", "na") and rb in ("string", "na"):
                        ty = PineType("string", (), q)
                    else:
                        self.err(
                            f"Operator '+' cannot be applied to '{describe(lt)}' and '{describe(rt)}'; use str.tostring() to convert numbers",
                            node.span,
                            "type",
                        )
                else:
                    bad = False
                    for side, sty in ((node.left, lt), (node.right, rt)):
                        if sty.base not in NUMERIC and sty.base != "na":
                            self.err(f"Operator '{op}' cannot be applied to '{describe(sty)}'", side.span, "type")
                            bad = True
                    if not bad:
                        if lb == "na" and rb == "na":
                            ty = PineType("float", (), q)
                        elif op == "/":
                            ty = PineType("int" if (lb == rb == "int" and self.version < 6 and q == "const") else "float", (), q)
                        elif (lb in ("int", "na")) and (rb in ("int", "na")):
                            ty = PineType("int", (), q)
                        else:
                            ty = PineType("float", (), q)
        elif op in ("and", "or", "==", "!=", "<", ">", "<=", ">="):
            ty = PineType("bool", (), "series")
        return ir.Binary(node.span, op, left, right, ty=ty)

    def condition(self, expr: ir.Expr, span: Span, what: str) -> None:
        ty = expr.ty
        if ty is None:
            return
        if ty.base in ("string", "color", "void", "tuple") or ty.base in self.field_types or ty.base in ("array", "map", "matrix"):
            self.err(f"Cannot use a value of type '{describe(ty)}' as the condition of {what}; a 'bool' is expected", span, "type")
        elif self.version >= 6 and ty.base in NUMERIC:
            self.err(
                f"Cannot use a value of type '{describe(ty)}' as the condition of {what}: Pine v6 does not convert numbers to 'bool' implicitly (compare it, e.g. 'x != 0')",
                span,
                "type",
            )

    def e_TernaryOp(self, node: A.TernaryOp) -> ir.Expr:
        cond = self.expr(node.cond)
        self.condition(cond, node.cond.span, "the '?:' operator")
        self.cond_depth += 1
        try:
            then = self.expr(node.then)
            orelse = self.expr(node.orelse)
        finally:
            self.cond_depth -= 1
        ty = unify(then.ty, orelse.ty)
        if ty is not None and cond.ty is not None:
            ty = ty.with_qualifier(qmax(ty.qualifier, cond.ty.qualifier))
        self._check_branch_types(then.ty, orelse.ty, node.span)
        return ir.Ternary(node.span, cond, then, orelse, ty=ty)

    def _check_branch_types(self, a: PineType | None, b: PineType | None, span: Span) -> None:
        if a is None or b is None or "na" in (a.base, b.base) or a.base == b.base:
            return
        if {a.base, b.base} <= NUMERIC:
            return
        if a.base in B_PRIMS and b.base in B_PRIMS and "void" not in (a.base, b.base):
            self.err(
                f"The branches return different types: '{describe(a)}' and '{describe(b)}'", span, "type"
            )

    def e_TupleLit(self, node: A.TupleLit) -> ir.Expr:
        items = [self.expr(i) for i in node.items]
        tys = [i.ty for i in items]
        ty = None if any(t is None for t in tys) else PineType("tuple", tuple(tys), "series")  # type: ignore[arg-type]
        return ir.TupleExpr(node.span, items, ty=ty)

    # ---- compound expressions
    def e_IfNode(self, node: A.IfNode) -> ir.Expr:
        cond = self.expr(node.cond)
        self.condition(cond, node.cond.span, "'if'")
        self.cond_depth += 1
        try:
            then, tty = self.block_value(node.then)
            orelse, ety = self.block_value(node.orelse) if node.orelse else ([], NA)
        finally:
            self.cond_depth -= 1
        if id(node) not in self.statement_nodes:
            self._check_branch_types(tty, ety, node.span)
        ty = unify(tty, ety)
        if ty is not None and cond.ty is not None:
            ty = ty.with_qualifier(qmax(ty.qualifier, cond.ty.qualifier))
        return ir.If(node.span, cond, then, orelse, ty=ty)

    def e_SwitchNode(self, node: A.SwitchNode) -> ir.Expr:
        subject = self.expr(node.subject) if node.subject is not None else None
        cases = []
        ty: PineType | None = NA
        has_default = False
        for case in node.cases:
            match = None
            if case.match is not None:
                match = self.expr(case.match)
                if subject is None:
                    self.condition(match, case.match.span, "a 'switch' case")
                elif subject.ty is not None and match.ty is not None:
                    sb, mb = subject.ty.base, match.ty.base
                    if sb != mb and not ({sb, mb} <= NUMERIC) and "na" not in (sb, mb):
                        self.err(
                            f"Switch case of type '{describe(match.ty)}' cannot match a subject of type '{describe(subject.ty)}'",
                            case.match.span,
                            "type",
                        )
            else:
                if has_default:
                    self.err("A 'switch' can have only one default case", case.span, "syntax")
                has_default = True
            self.cond_depth += 1
            try:
                body, bty = self.block_value(case.body)
            finally:
                self.cond_depth -= 1
            if id(node) not in self.statement_nodes:
                self._check_branch_types(ty, bty, case.span)
            ty = unify(ty, bty)
            cases.append(ir.SwitchCase(match, body, case.span))
        if ty is not None:
            ty = ty.with_qualifier("series")
        return ir.Switch(node.span, subject, cases, ty=ty)

    def e_ForNode(self, node: A.ForNode) -> ir.Expr:
        start = self.expr(node.start)
        end = self.expr(node.end)
        step = self.expr(node.step) if node.step is not None else None
        for e, n in ((start, node.start), (end, node.end), (step, node.step)):
            if e is not None and e.ty is not None and e.ty.base not in NUMERIC and e.ty.base != "na":
                self.err(f"Loop bounds must be numbers, not '{describe(e.ty)}'", n.span, "type")  # type: ignore[union-attr]
        self.push()
        self.loop_depth += 1
        self.cond_depth += 1
        try:
            sym = self.declare(node.var, node.var_span, PineType("int", (), "series"))
            var = ir.VarRef(node.var_span, node.var, sym.slot, sym.scope, ty=sym.ty)
            body, ty = self.block_value(node.body, new_scope=False)
        finally:
            self.loop_depth -= 1
            self.cond_depth -= 1
            self.pop()
        return ir.For(node.span, var, start, end, step, body, ty=ty.with_qualifier("series") if ty else None)

    def e_ForInNode(self, node: A.ForInNode) -> ir.Expr:
        iterable = self.expr(node.iterable)
        ity = iterable.ty
        item_ty: PineType | None = None
        idx_ty: PineType | None = PineType("int", (), "series")
        if ity is not None:
            if ity.base in ("array", "matrix"):
                el = ity.args[0] if ity.args else None
                item_ty = el if ity.base == "array" else PineType("array", (el,) if el else (), "series")
            elif ity.base == "map":
                if node.index is None:
                    self.err("Iterating a map requires 'for [key, value] in map'", node.span, "type")
                idx_ty = ity.args[0] if len(ity.args) == 2 else None
                item_ty = ity.args[1] if len(ity.args) == 2 else None
            else:
                self.err(f"Cannot iterate over a value of type '{describe(ity)}'; an array, matrix or map is expected", node.iterable.span, "type")
        self.push()
        self.loop_depth += 1
        self.cond_depth += 1
        try:
            index = None
            if node.index is not None:
                isym = self.declare(node.index, node.span, idx_ty)
                index = ir.VarRef(node.span, node.index, isym.slot, isym.scope, ty=idx_ty)
            sym = self.declare(node.item, node.span, item_ty)
            item = ir.VarRef(node.span, node.item, sym.slot, sym.scope, ty=item_ty)
            body, ty = self.block_value(node.body, new_scope=False)
        finally:
            self.loop_depth -= 1
            self.cond_depth -= 1
            self.pop()
        return ir.ForIn(node.span, index, item, iterable, body, ty=ty.with_qualifier("series") if ty else None)

    def e_WhileNode(self, node: A.WhileNode) -> ir.Expr:
        cond = self.expr(node.cond)
        self.condition(cond, node.cond.span, "'while'")
        self.loop_depth += 1
        self.cond_depth += 1
        try:
            body, ty = self.block_value(node.body)
        finally:
            self.loop_depth -= 1
            self.cond_depth -= 1
        return ir.While(node.span, cond, body, ty=ty.with_qualifier("series") if ty else None)

    def e_DeclStmt(self, node: A.Node) -> ir.Expr:  # pragma: no cover - parser never nests these
        self.err("A declaration cannot be used as an expression", node.span, "syntax")
        return ir.Const(node.span, None, ty=None)

    e_AssignStmt = e_DeclStmt
    e_TupleDeclStmt = e_DeclStmt

    def e_ExprStmtNode(self, node: A.ExprStmtNode) -> ir.Expr:  # pragma: no cover
        return self.expr(node.expr)

    # ------------------------------------------------------------------------------------ calls
    def e_Call(self, node: A.Call) -> ir.Expr:
        return self.call(node)

    def call(self, node: A.Call) -> ir.Expr:
        func = node.func
        if isinstance(func, A.Name):
            name = func.name
            if self.lookup(name) is not None and name not in self.functions:
                self.err(f"'{name}' is a variable, not a function", func.span, "type")
                self._eval_args(node)
                return ir.Const(node.span, None, ty=None)
            if name in self.functions:
                return self.user_call(node, self.functions[name], None, name)
            if name in B.DRAWING_TYPES and len(node.args) == 1 and not node.kwargs:
                # ``line(na)``: typed na of a drawing type; ``line(id)`` is the identity
                arg = self.expr(node.args[0])
                if arg.ty is not None and arg.ty.base not in ("na", name):
                    self.err(f"Cannot cast a value of type '{describe(arg.ty)}' to '{name}'", arg.span, "type")
                if isinstance(arg, ir.Const) and arg.value is None:
                    return ir.Const(node.span, None, name, ty=PineType(name, (), "series"))
                arg.ty = PineType(name, (), "series")
                return arg
            if name in B.FUNCTIONS:
                return self.builtin_call(node, name, None)
            if name in self.types and len(node.args) == 1 and not node.kwargs:
                # ``Point(na)``: a typed na of a user-defined type
                arg = self.expr(node.args[0])
                if arg.ty is not None and arg.ty.base not in ("na", name):
                    self.err(f"Cannot cast a value of type '{describe(arg.ty)}' to '{name}'", arg.span, "type")
                return ir.Const(node.span, None, name, ty=PineType(name, (), "series"))
            if name in self.imports:
                self._eval_args(node)
                return ir.Const(node.span, None, ty=None)
            self._eval_args(node)
            self.err(f"Could not find function or function reference '{name}'{self.suggest(name, 'function')}", func.span, "undeclared")
            return ir.Const(node.span, None, ty=None)
        if isinstance(func, A.Attr):
            q = self._qualified(func)
            if q is not None:
                root = q.split(".")[0]
                if root in self.types and q.count(".") == 1:
                    return self.type_static_call(node, root, func.name)
                if root in self.imports:
                    self._eval_args(node)
                    return ir.Const(node.span, None, ty=None)
                if q in B.UNSUPPORTED_FUNCTIONS:
                    self._eval_args(node)
                    self.err(f"Unsupported feature: {B.UNSUPPORTED_FUNCTIONS[q]} is not supported", func.span, "unsupported")
                    return ir.Const(node.span, None, ty=None)
                if q in B.FUNCTIONS:
                    return self.builtin_call(node, q, None)
                ns = q.rsplit(".", 1)[0]
                if ns in B.DRAWING_NAMESPACES:
                    return self.drawing_call(node, q, None)
                if ns not in B.NAMESPACES and (ns in B.VARIABLES or ns in B.CONSTANTS):
                    # method call on a built-in value: ``close.twice()``
                    receiver = self.expr(func.obj)
                    return self.method_call(node, receiver, func.name)
                if root in B.NAMESPACES or root in B.VARIABLES or root in B.FUNCTIONS or root in self.enums:
                    self._eval_args(node)
                    self.err(f"Could not find function or function reference '{q}'{self.suggest(q, 'function')}", func.span, "undeclared")
                    return ir.Const(node.span, None, ty=None)
                if root in self.functions:
                    self._eval_args(node)
                    self.err(f"Could not find function or function reference '{q}'{self.suggest(q, 'function')}", func.span, "undeclared")
                    return ir.Const(node.span, None, ty=None)
                if self.lookup(root) is None:
                    self._eval_args(node)
                    self.err(f"Undeclared identifier '{root}'{self.suggest(root, 'value')}", _name_span(func), "undeclared")
                    return ir.Const(node.span, None, ty=None)
            receiver = self.expr(func.obj)
            return self.method_call(node, receiver, func.name)
        callee = self.expr(func)
        self._eval_args(node)
        if callee.ty is not None:
            self.err("This expression is not a function", func.span, "type")
        return ir.Const(node.span, None, ty=None)

    def _eval_args(self, node: A.Call) -> tuple[list[ir.Expr], dict[str, ir.Expr]]:
        args = [self.expr(a) for a in node.args]
        kwargs: dict[str, ir.Expr] = {}
        for name, value, span in node.kwargs:
            evaluated = self.expr(value)
            if name in kwargs:
                if self.version >= 6:
                    self.err(f"Argument '{name}' is given more than once", span, "args")
                else:
                    self.warn(f"Argument '{name}' is given more than once; only the first value is used", span, "args")
                continue
            kwargs[name] = evaluated
        return args, kwargs

    def method_call(self, node: A.Call, receiver: ir.Expr, name: str) -> ir.Expr:
        rty = receiver.ty
        rbase = rty.base if rty is not None else None
        # user methods: exact receiver type first, then any with that name
        cands = self.methods.get(name, [])
        if cands:
            exact = [uf for uf in cands if uf.receiver == rbase]
            chosen = exact or ([uf for uf in cands if rbase is None or uf.receiver in (None, rbase)] if rbase is None else [])
            if not chosen and rbase is not None and rbase in ("int", "float") :
                chosen = [uf for uf in cands if uf.receiver in ("float", "int")]
            if chosen:
                return self.user_call(node, chosen, receiver, name)
        if rbase in self.field_types:
            if name == "copy":
                self._eval_args(node)
                return ir.BuiltinCall(node.span, "udt.copy", [receiver], ("id",), [receiver], {}, self.site(), True, ty=rty)
            if name == "delete":
                self._eval_args(node)
                return ir.BuiltinCall(node.span, "udt.delete", [receiver], ("id",), [receiver], {}, self.site(), True, ty=VOID)
            self._eval_args(node)
            self.err(f"Could not find method '{name}' for type '{rbase}'", _name_span(node.func), "undeclared")
            return ir.Const(node.span, None, ty=None)
        if rbase in ("array", "map", "matrix"):
            q = f"{rbase}.{name}"
            if q in B.FUNCTIONS:
                return self.builtin_call(node, q, receiver)
            self._eval_args(node)
            self.err(f"Could not find method '{name}' for type '{describe(rty)}'", _name_span(node.func), "undeclared")
            return ir.Const(node.span, None, ty=None)
        if rbase in B.DRAWING_TYPES:
            return self.drawing_call(node, f"{rbase}.{name}", receiver)
        if rbase is None:
            # receiver of unknown static type (an untyped function parameter): pick the collection
            # namespace whose signature accepts the arguments; the runtime re-dispatches on the receiver's
            # actual type (see ir.BuiltinCall).  No diagnostics: the type is unknown here.
            candidates = [f"{ns}.{name}" for ns in ("array", "map", "matrix") if f"{ns}.{name}" in B.FUNCTIONS]
            evaluated = self._eval_args(node)
            if not candidates:
                return ir.Const(node.span, None, ty=None)
            real_sink = self.sink
            chosen_call: ir.Expr | None = None
            try:
                for q in candidates:
                    self.sink = DiagnosticSink()
                    call = self.builtin_call(node, q, receiver, evaluated)
                    if chosen_call is None or not self.sink.has_errors:
                        chosen_call = call
                    if not self.sink.has_errors:
                        break
            finally:
                self.sink = real_sink
            return chosen_call  # type: ignore[return-value]
        self._eval_args(node)
        self.err(f"Could not find method '{name}' for type '{describe(rty)}'", _name_span(node.func), "undeclared")
        return ir.Const(node.span, None, ty=None)

    def type_static_call(self, node: A.Call, type_name: str, member: str) -> ir.Expr:
        args, kwargs = self._eval_args(node)
        ty = PineType(type_name, (), "series")
        if member == "new":
            tdef = self.types[type_name]
            fields: dict[str, ir.Expr] = {}
            names = [f.name for f in tdef.fields]
            if len(args) > len(names):
                self.err(f"Too many arguments for '{type_name}.new': the type has {len(names)} fields", node.span, "args")
            for fname, value in zip(names, args, strict=False):
                fields[fname] = value
            for (kname, _, kspan), value in zip(node.kwargs, kwargs.values(), strict=False):
                if kname not in names:
                    self.err(f"Type '{type_name}' has no field '{kname}'", kspan, "args")
                elif kname in fields:
                    self.err(f"Field '{kname}' is given more than once", kspan, "args")
                else:
                    fields[kname] = value
            ftypes = self.field_types.get(type_name, {})
            for fname, value in fields.items():
                fty = ftypes.get(fname)
                if fty is not None and value.ty is not None and fty.base in B_PRIMS and not assignable(fty, value.ty) and _certain(value, value.ty):
                    self.err(
                        f"Cannot assign a value of type '{describe(value.ty)}' to field '{fname}' of type '{fty.base}'",
                        value.span,
                        "type",
                    )
            return ir.NewObject(node.span, type_name, fields, self.site(), ty=ty)
        if member == "copy" and len(args) == 1:
            return ir.BuiltinCall(node.span, "udt.copy", args, ("id",), args, kwargs, self.site(), ty=ty)
        cands = [uf for uf in self.methods.get(member, []) if uf.receiver == type_name]
        if cands:
            return self.user_call(node, cands, None, member)
        self.err(f"Could not find function or function reference '{type_name}.{member}'", node.func.span, "undeclared")
        return ir.Const(node.span, None, ty=None)

    def drawing_call(self, node: A.Call, name: str, receiver: ir.Expr | None) -> ir.Expr:
        args, kwargs = self._eval_args(node)
        if receiver is not None:
            args = [receiver, *args]
        ns, member = name.rsplit(".", 1)
        ty: PineType = VOID
        if member in ("new", "copy") or ns == "chart.point":
            ty = PineType(ns, (), "series")
        elif member.startswith("get_"):
            ty = PineType("float", (), "series")
        all_args: list[ir.Expr | None] = list(args) + list(kwargs.values())
        return ir.BuiltinCall(
            node.span, name, all_args, (), args, kwargs, self.site(), receiver is not None, None, True, ty=ty
        )

    def user_call(self, node: A.Call, cands: list[UserFunc], receiver: ir.Expr | None, name: str) -> ir.Expr:
        args, kwargs = self._eval_args(node)
        if receiver is not None:
            args = [receiver, *args]
        nargs = len(args)
        chosen = None
        best_score = None
        for uf in cands:
            pnames = [p.name for p in uf.fdef.params]
            if nargs <= len(pnames) and all(k in pnames[nargs:] for k in kwargs):
                # overloads: prefer the one whose declared parameter types fit the arguments
                score = 0
                given = list(zip(uf.fdef.params, args, strict=False))
                given += [(p, kwargs[p.name]) for p in uf.fdef.params if p.name in kwargs]
                for p, a in given:
                    if p.declared_type is not None and a.ty is not None and not assignable(from_typeref(p.declared_type), a.ty):
                        score += 1
                required = sum(1 for p in uf.fdef.params[nargs:] if p.default is None and p.name not in kwargs)
                score += 10 * required
                if best_score is None or score < best_score:
                    chosen, best_score = uf, score
                if score == 0:
                    break
        if chosen is None:
            uf = cands[0]
            pnames = [p.name for p in uf.fdef.params]
            if nargs > len(pnames):
                self.err(
                    f"Too many arguments passed to '{name}': expected at most {len(pnames) - (receiver is not None)}, got {nargs - (receiver is not None)}",
                    node.span,
                    "args",
                )
            for kname, _, kspan in node.kwargs:
                if kname not in pnames:
                    self.err(f"The '{name}' function does not have an argument with the name '{kname}'", kspan, "args")
            return ir.Const(node.span, None, ty=None)
        fdef = chosen.fdef
        bound: list[ir.Expr | None] = [None] * len(fdef.params)
        for i, a in enumerate(args):
            bound[i] = a
        for kname, value in kwargs.items():
            idx = [p.name for p in fdef.params].index(kname)
            if bound[idx] is not None:
                self.err(f"Argument '{kname}' of '{name}' is given more than once", node.span, "args")
            bound[idx] = value
        for p, a in zip(fdef.params, bound, strict=True):
            if a is None and p.default is None:
                self.err(f"Missing value for the required argument '{p.name}' of '{name}'", node.span, "args")
            elif a is not None and p.declared_type is not None and a.ty is not None:
                pty = from_typeref(p.declared_type)
                if pty.base in B_PRIMS and not assignable(pty, a.ty) and _certain(a, a.ty):
                    self.err(
                        f"Cannot call '{name}' with argument '{p.name}': an argument of '{describe(a.ty)}' type was used but a '{pty.base}' is expected",
                        a.span,
                        "type",
                    )
        for idx, (req_q, bname, bparam) in chosen.param_reqs.items():
            a = bound[idx] if idx < len(bound) else None
            if a is None:
                continue
            if self.in_function is not None:
                self.require_params(a, req_q, bname, bparam)
            if a.ty is not None and _qrank(a.ty.qualifier) > _qrank(req_q) and a.ty.base in B_PRIMS:
                pname = fdef.params[idx].name
                self.err(
                    f"Cannot call '{name}' with argument '{pname}'='{self.text(a)}'. An argument of '{describe(a.ty)}' type was used but a '{req_q} {a.ty.base}' is expected (it is passed to '{bname}' as '{bparam}')",
                    a.span,
                    "qualifier",
                )
        result = chosen.result
        if any(p.declared_type is None for p in fdef.params):
            typed = self.infer_call_result(chosen, bound)
            if typed is not None:
                if typed.base != "tuple":
                    typed = typed.with_qualifier(qmax(typed.qualifier, "simple"))
                return ir.UserCall(node.span, name, fdef.key, bound, self.site(), receiver is not None, ty=typed)
        if result is not None:
            arg_q = qmax(*(a.ty.qualifier if a is not None and a.ty is not None else "series" for a in bound))
            if result.base == "tuple":
                result = PineType("tuple", tuple(t.with_qualifier(qmax(t.qualifier, arg_q)) for t in result.args), "series")
            else:
                result = result.with_qualifier(qmax(result.qualifier, arg_q))
        return ir.UserCall(node.span, name, fdef.key, bound, self.site(), receiver is not None, ty=result)

    MAX_INFER_DEPTH = 12

    def infer_call_result(self, uf: UserFunc, bound: list[ir.Expr | None]) -> PineType | None:
        """Type of a call's value: Pine functions are polymorphic in untyped parameters, so the body is
        re-typed with the argument types of this call (diagnostics and IR of that pass are discarded)."""
        fdef = uf.fdef
        arg_types: list[PineType | None] = []
        for p, a in zip(fdef.params, bound, strict=True):
            if a is not None:
                arg_types.append(a.ty)
            elif p.default is not None:
                arg_types.append(p.default.ty)
            else:
                arg_types.append(None)
        if any(t is None for t in arg_types) or self.infer_depth >= self.MAX_INFER_DEPTH:
            return None
        cache_key = (fdef.key, tuple(arg_types))
        if cache_key in self.result_cache:
            return self.result_cache[cache_key]
        sub = Checker(DiagnosticSink(), self.version)
        sub.functions, sub.methods, sub.types = self.functions, self.methods, self.types
        sub.field_types, sub.enums, sub.imports = self.field_types, self.enums, self.imports
        sub.result_cache, sub.infer_depth = self.result_cache, self.infer_depth + 1
        sub.decl_ir = self.decl_ir
        sub.mutable_decl_spans = self.mutable_decl_spans
        sub.frame = Frame("local")
        sub.scopes = [self.scopes[0], {}]
        sub.in_function = fdef.name
        for p, pty, pnode in zip(fdef.params, arg_types, uf.node.params, strict=True):
            declared = from_typeref(pnode.declared_type) if pnode.declared_type is not None else None
            ty = declared.with_qualifier(pty.qualifier) if declared is not None and pty is not None else pty
            sub.scopes[-1][p.name] = Symbol(p.name, sub.frame.new_slot(p.name), "local", ty, "param")
        try:
            _, result = sub.block_value(uf.node.body, new_scope=False)
        except RecursionError:
            result = None
        self.result_cache[cache_key] = result
        return result

    def param_deps(self, e: ir.Expr) -> frozenset[int] | None:
        """Parameters of the current function that ``e`` is computed from (None if it also depends on
        anything that is not a constant or a parameter)."""
        if isinstance(e, (ir.Const, ir.InputValue)):
            return frozenset()
        if isinstance(e, ir.VarRef):
            return self.slot_deps.get(e.slot) if e.scope == "local" else None
        if isinstance(e, ir.Unary):
            return self.param_deps(e.operand)
        if isinstance(e, (ir.Binary, ir.Ternary)):
            parts = (e.left, e.right) if isinstance(e, ir.Binary) else (e.cond, e.then, e.orelse)
            out: frozenset[int] = frozenset()
            for part in parts:
                d = self.param_deps(part)
                if d is None:
                    return None
                out |= d
            return out
        if isinstance(e, ir.BuiltinCall) and (e.name.startswith("math.") or e.name in ("int", "float", "nz")):
            out = frozenset()
            for part in e.args:
                if part is None:
                    continue
                d = self.param_deps(part)
                if d is None:
                    return None
                out |= d
            return out
        return None

    def require_params(self, e: ir.Expr, qualifier: str, builtin: str, bparam: str) -> None:
        deps = self.param_deps(e)
        if not deps:
            return
        for idx in deps:
            old = self.param_reqs.get(idx)
            if old is None or _qrank(qualifier) < _qrank(old[0]):
                self.param_reqs[idx] = (qualifier, builtin, bparam)

    # ---- built-in calls
    def builtin_call(
        self,
        node: A.Call,
        name: str,
        receiver: ir.Expr | None,
        evaluated: tuple[list[ir.Expr], dict[str, ir.Expr]] | None = None,
    ) -> ir.Expr:
        is_input = name in B.INPUT_FUNCTIONS
        input_name = self.pending_input_name if is_input else None
        self.pending_input_name = None
        args, kwargs = evaluated if evaluated is not None else self._eval_args(node)
        if receiver is not None:
            args = [receiver, *args]
        sigs = B.FUNCTIONS[name]
        # overloads: the first signature that binds and type-checks wins; else report the closest one
        best: tuple[int, list[tuple[str, Span, str]], B.FuncSig, list[ir.Expr | None]] | None = None
        for sig in sigs:
            bind_errors, bound = self._bind(sig, args, kwargs, node, name, receiver is not None)
            if bind_errors:
                problems = [(m, sp, "args") for m, sp in bind_errors]
                score = 1000 + len(problems)
            else:
                problems = self._check_arg_types(sig, bound, name)
                score = len(problems)
            if best is None or score < best[0]:
                best = (score, problems, sig, bound)
            if not problems:
                break
        assert best is not None
        _, problems, sig, bound = best
        for msg, span, code in problems:
            self.err(msg, span, code)
        ty = self._result_type(sig, bound, node)
        call = ir.BuiltinCall(
            node.span, name, bound, sig.param_names, args, kwargs, self.site(), receiver is not None, ty=ty
        )
        if is_input:
            return self.make_input(call, sig, input_name, node)
        if name.startswith("strategy.") and self.strategy_only_use is None:
            self.strategy_only_use = (name, node.span)
        if self.version >= 6 and name in ("na", "nz", "fixnan") and bound and bound[0] is not None:
            a0 = bound[0]
            if a0.ty is not None and a0.ty.base == "bool":
                self.err(
                    f"Cannot call '{name}' with a 'bool' argument: in Pine v6 'bool' values are never na",
                    a0.span,
                    "type",
                )
        if self.version >= 6 and name in ("plot", "hline") and "linewidth" in sig.param_names:
            lw = bound[sig.param_names.index("linewidth")]
            ok, lw_value = const_value(lw) if lw is not None else (False, None)
            if ok and _is_number(lw_value) and lw_value < 1:
                self.err(f"The 'linewidth' of '{name}' must be at least 1 in Pine v6", lw.span, "args")
        if "transp" in kwargs:
            if self.version >= 6:
                self.err("The 'transp' parameter was removed in Pine v6; use color.new(color, transp)", kwargs["transp"].span, "args")
            else:
                self.warn("The 'transp' parameter is deprecated; use color.new(color, transp)", kwargs["transp"].span, "deprecated")
        if (name in B.OUTPUT_FUNCTIONS or name == "alertcondition") and (len(self.scopes) > 1 or self.in_function):
            self.err(f"Cannot use '{name}' in local scope", node.span, "scope")
        if self.cond_depth > 0 and name.startswith("ta.") and name not in B.STATELESS_TA:
            self.warn(
                f"The function '{name}' should be called on each calculation for consistency. It is recommended to extract the call from this scope",
                node.span,
                "consistency",
            )
        if name in B.OUTPUT_FUNCTIONS:
            call.output_index = len(self.plots)
            title = None
            if "title" in sig.param_names:
                t_arg = bound[sig.param_names.index("title")]
                ok, title = const_value(t_arg) if t_arg is not None else (False, None)
                if not ok:
                    title = None
            self.plots.append(PlotSpec(len(self.plots), title if isinstance(title, str) else None, name, node.span.line))
        if name == "request.security":
            lookahead = kwargs.get("lookahead")
            expr_arg = bound[2] if len(bound) > 2 else None
            if isinstance(lookahead, ir.Const) and lookahead.value == "lookahead_on" and not isinstance(expr_arg, ir.Index):
                self.warn(
                    "request.security() with lookahead=barmerge.lookahead_on uses future data on historical bars",
                    lookahead.span,
                    "lookahead",
                )
        return call

    def _bind(
        self, sig: B.FuncSig, args: list[ir.Expr], kwargs: dict[str, ir.Expr], node: A.Call, name: str, method: bool
    ) -> tuple[list[tuple[str, Span]], list[ir.Expr | None]]:
        errors: list[tuple[str, Span]] = []
        params = sig.params
        if params and params[-1].variadic:
            fixed = [p for p in params if not p.variadic]
            bound_v: list[ir.Expr | None] = list(args)
            for kname, _, kspan in node.kwargs:
                if kname not in [p.name for p in fixed]:
                    errors.append((f"The '{name}' function does not have an argument with the name '{kname}'", kspan))
                else:
                    idx = [p.name for p in fixed].index(kname)
                    bound_v.insert(idx, kwargs[kname])
            required = [p for p in fixed if p.required]
            if len(bound_v) < len(required) or (not bound_v and not fixed):
                errors.append((f"Missing required argument(s) for '{name}'", node.span))
            return errors, bound_v
        bound: list[ir.Expr | None] = [None] * len(params)
        if len(args) > len(params):
            shift = 1 if method else 0
            errors.append(
                (
                    f"Too many arguments passed to '{name}': expected at most {len(params) - shift}, got {len(args) - shift}",
                    args[len(params)].span if len(args) > len(params) else node.span,
                )
            )
        for i, a in enumerate(args[: len(params)]):
            bound[i] = a
        names = [p.name for p in params]
        kw_spans: dict[str, Span] = {}
        for kname, _, kspan in node.kwargs:
            kw_spans.setdefault(kname, kspan)
        for kname, kspan in kw_spans.items():
            if kname not in names:
                errors.append((f"The '{name}' function does not have an argument with the name '{kname}'", kspan))
                continue
            idx = names.index(kname)
            if bound[idx] is not None:
                if self.version >= 6:
                    errors.append((f"Argument '{kname}' of '{name}' is given both by position and by name", kspan))
                continue  # v5: the first (positional) value is used
            bound[idx] = kwargs[kname]
        for p, a in zip(params, bound, strict=True):
            if a is None and p.required:
                errors.append((f"Missing value for the required argument '{p.name}' of '{name}'", node.span))
        return errors, bound

    def _check_arg_types(self, sig: B.FuncSig, bound: list[ir.Expr | None], name: str) -> list[tuple[str, Span, str]]:
        problems: list[tuple[str, Span, str]] = []
        params = sig.params
        if params and params[-1].variadic:
            pairs = []
            fixed = [p for p in params if not p.variadic]
            for i, a in enumerate(bound):
                pairs.append((fixed[i] if i < len(fixed) else params[-1], a))
        else:
            pairs = list(zip(params, bound, strict=True))
        for p, a in pairs:
            if a is not None and a.ty is None and p.qualifier in ("const", "input", "simple") and self.in_function is not None:
                self.require_params(a, p.qualifier, name, p.name)
            if a is None or a.ty is None:
                continue
            aty = a.ty
            base = p.base
            msg = None
            if aty.base == "na":
                continue
            if base in ("int", "float", "number"):
                if aty.base in ("string", "bool", "color") or aty.base in ("array", "map", "matrix", "tuple", "void"):
                    msg = base if base != "number" else "float"
                elif base == "int" and aty.base == "float" and _certain(a, aty):
                    msg = "int"
            elif base in ("string", "bool", "color"):
                if aty.base != base and (aty.base in B_PRIMS or aty.base in ("void", "tuple")):
                    if not (base == "bool" and aty.base in NUMERIC and self.version < 6):
                        msg = base
            elif base.startswith(("array", "map", "matrix")):
                want = base.split("<")[0]
                if aty.base != want and (aty.base in B_PRIMS or aty.base in ("array", "map", "matrix")):
                    msg = base
            elif base in ("any", "T") and aty.base == "void":
                msg = "value"
            if msg is not None:
                want_q = p.qualifier or "series"
                problems.append((
                    f"Cannot call '{name}' with argument '{p.name}'='{self.text(a)}'. An argument of '{describe(aty)}' type was used but a '{want_q} {msg}' is expected",
                    a.span,
                    "type",
                ))
                continue
            if p.qualifier in ("const", "input", "simple") and self.in_function is not None:
                self.require_params(a, p.qualifier, name, p.name)
            if p.qualifier in ("const", "input", "simple") and _qrank(aty.qualifier) > _qrank(p.qualifier):
                if p.name == "offset" and self.version < 6:
                    self.warn(
                        f"A 'series' offset passed to '{name}' uses only its last value (an error in Pine v6)",
                        a.span,
                        "qualifier",
                    )
                    continue
                if aty.base in B_PRIMS or aty.base in self.enums:
                    problems.append((
                        f"Cannot call '{name}' with argument '{p.name}'='{self.text(a)}'. An argument of '{describe(aty)}' type was used but a '{p.qualifier} {p.base if p.base in B_PRIMS else aty.base}' is expected",
                        a.span,
                        "qualifier",
                    ))
        return problems

    def _result_type(self, sig: B.FuncSig, bound: list[ir.Expr | None], node: A.Call) -> PineType | None:
        ret = sig.returns
        # arguments of unknown type (untyped function parameters on the first pass) do not make the result
        # 'series': that would report qualifier errors TradingView does not (requirements on parameters are
        # tracked separately and checked at the call sites)
        arg_q = qmax(*(a.ty.qualifier if a is not None and a.ty is not None else "const" for a in bound))
        if ret == "void" or ret in ("plot", "hline"):
            return PineType(ret, (), "const") if ret != "void" else VOID
        if ret.startswith("["):
            items = []
            for part in ret[1:-1].split(","):
                q, b = part.strip().split(" ")
                items.append(PineType(b, (), q))
            return PineType("tuple", tuple(items), "series")
        words = ret.split(" ", 1)
        qual = words[0] if len(words) == 2 else None
        base = words[1] if qual else ret
        # generic resolution
        first_t = None
        for p, a in zip(sig.params if not (sig.params and sig.params[-1].variadic) else [sig.params[0]] * len(bound), bound, strict=False):
            if a is not None and p.base in ("T", "any", "number") and a.ty is not None and a.ty.base != "na":
                first_t = a.ty
                break
        if sig.params and sig.params[-1].variadic and first_t is None:
            for a in bound:
                if a is not None and a.ty is not None and a.ty.base != "na":
                    first_t = a.ty
                    break
        elem = None
        recv = bound[0] if bound else None
        if recv is not None and recv.ty is not None and recv.ty.base in ("array", "matrix", "map") and recv.ty.args:
            elem = recv.ty.args
        if node.type_args:
            targs = tuple(from_typeref(t).with_qualifier("series") for t in node.type_args)
            for tref in node.type_args:
                self.check_typeref(tref)
        else:
            targs = None
        if sig.name in ("math.round",) and len([a for a in bound if a is not None]) == 1:
            return PineType("int", (), arg_q)
        if sig.name in ("math.max", "math.min") and first_t is not None:
            all_int = all(a is None or (a.ty is not None and a.ty.base in ("int", "na")) for a in bound)
            return PineType("int" if all_int else "float", (), arg_q)
        if base == "T":
            if sig.name in ("input", "input.enum"):
                return first_t.with_qualifier("input") if first_t else None
            if first_t is None:
                return None
            return first_t.with_qualifier(qual or qmax(arg_q, first_t.qualifier))
        if base in ("E", "K", "V"):
            if elem is None:
                return None
            pick = {"E": 0, "K": 0, "V": 1}[base]
            if base == "E" and recv is not None and recv.ty is not None and recv.ty.base == "map":
                pick = 1
            return elem[pick].with_qualifier("series") if pick < len(elem) else None
        if base.startswith(("array<", "map<", "matrix<")):
            kind = base.split("<")[0]
            inner = base[len(kind) + 1 : -1]
            if targs is not None:
                return PineType(kind, targs, "series")
            if inner in ("float", "int", "bool", "string", "color", "label", "line", "box", "table", "linefill"):
                return PineType(kind, (PineType(inner, (), "series"),), "series")
            if inner == "T":
                if sig.name == "array.new" or sig.name == "matrix.new":
                    init = bound[-1] if bound else None
                    if init is not None and init.ty is not None and init.ty.base != "na":
                        return PineType(kind, (init.ty.with_qualifier("series"),), "series")
                    return PineType(kind, (), "series")
                if sig.name == "array.from":
                    return PineType(kind, (first_t.with_qualifier("series"),) if first_t else (), "series")
                if recv is not None and recv.ty is not None:
                    return recv.ty
                return PineType(kind, (), "series")
            if inner in ("E", "K", "V"):
                if elem is None:
                    return PineType(kind, (), "series")
                pick = 1 if inner == "V" or (recv is not None and recv.ty is not None and recv.ty.base == "map" and inner == "E") else 0
                return PineType(kind, (elem[pick],) if pick < len(elem) else (), "series")
            if inner == "K,V":
                return recv.ty if recv is not None and recv.ty is not None else PineType("map", (), "series")
            return PineType(kind, (), "series")
        if base == "series" or base == "any":
            return None
        return PineType(base, (), qual or arg_q)

    def make_input(self, call: ir.BuiltinCall, sig: B.FuncSig, var_name: str | None, node: A.Call) -> ir.Expr:
        values: dict[str, Any] = {}
        exprs: dict[str, ir.Expr] = {}
        for pname, arg in zip(sig.param_names, call.args, strict=False):
            if arg is None:
                continue
            exprs[pname] = arg
            ok, v = const_value(arg)
            if ok:
                values[pname] = v
        fn = call.name
        kind = fn.split(".", 1)[1] if "." in fn else None
        defexpr = exprs.get("defval")
        defval = values.get("defval")
        if fn == "input.source" or (fn == "input" and isinstance(defexpr, ir.BuiltinVar)):
            kind = "source"
            if isinstance(defexpr, ir.BuiltinVar):
                defval = defexpr.name
            elif defexpr is not None:
                self.err("The default value of a source input must be a built-in price series such as 'close'", defexpr.span, "type")
        elif kind is None:
            dty = defexpr.ty if defexpr is not None else None
            kind = dty.base if dty is not None and dty.base in ("int", "float", "bool", "string", "color") else "float"
            if dty is not None and dty.base in self.enums:
                kind = "enum"
        if kind == "enum" and defexpr is not None and defexpr.ty is not None and defexpr.ty.base in self.enums:
            options = values.get("options")
            if options is None:
                options = list(self.enums[defexpr.ty.base].members)
            values["options"] = options
        if fn == "input" and kind != "source" and defexpr is not None and defexpr.ty is not None:
            if _qrank(defexpr.ty.qualifier) > _qrank("const"):
                self.err(
                    f"Cannot call 'input' with argument 'defval'='{self.text(defexpr)}'. An argument of '{describe(defexpr.ty)}' type was used but a 'const {defexpr.ty.base}' is expected",
                    defexpr.span,
                    "qualifier",
                )
        options = values.get("options")
        if isinstance(options, tuple):
            options = list(options)
        if "options" in exprs and not isinstance(options, list):
            self.err("'options' must be a list of constant values, e.g. options=[\"A\", \"B\"]", exprs["options"].span, "type")
            options = None
        if options is not None and defval is not None and defval not in options:
            self.err(f"The default value {defval!r} is not one of the options {options}", (defexpr or call).span, "input")
        minval, maxval = values.get("minval"), values.get("maxval")
        if not _is_number(minval):
            minval = None
        if not _is_number(maxval):
            maxval = None
        if _is_number(defval):
            if minval is not None and defval < minval:
                self.err(f"The default value {defval} is less than minval {minval}", (defexpr or call).span, "input")
            if maxval is not None and defval > maxval:
                self.err(f"The default value {defval} is greater than maxval {maxval}", (defexpr or call).span, "input")
        spec = InputSpec(
            index=len(self.inputs),
            name=var_name,
            kind=kind or "float",
            defval=defval,
            title=values.get("title") if isinstance(values.get("title"), str) else None,
            minval=minval,
            maxval=maxval,
            step=values.get("step") if _is_number(values.get("step")) else None,
            options=options,
            group=_str_or_none(values.get("group")),
            tooltip=_str_or_none(values.get("tooltip")),
            inline=_str_or_none(values.get("inline")),
            confirm=bool(values.get("confirm", False)),
            display=_str_or_none(values.get("display")),
            line=node.span.line,
            function=fn,
        )
        if self.in_function is not None:
            self.warn("Inputs declared inside a function are evaluated once per call site", node.span, "input")
        self.inputs.append(spec)
        ty = call.ty
        if kind == "source":
            ty = PineType("float", (), "series")
        elif ty is None and defexpr is not None and defexpr.ty is not None:
            ty = defexpr.ty.with_qualifier("input")
        return ir.InputValue(node.span, spec.index, defexpr, ty=ty)


B_PRIMS = frozenset({"int", "float", "bool", "string", "color"})
V4_RENAMES = {
    "study": "indicator",
    "security": "request.security",
    "iff": "the ?: operator",
    "tostring": "str.tostring",
    "tonumber": "str.tonumber",
    "valuewhen": "ta.valuewhen",
    "barssince": "ta.barssince",
    "pivothigh": "ta.pivothigh",
    "pivotlow": "ta.pivotlow",
}
V4_RENAMES_NOTE = "Pine v5 renamed or removed this v4 built-in"



def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _typeref_key(ref: ir.TypeRef | None) -> str | None:
    if ref is None:
        return None
    return ref.name + ("<" + ",".join(str(_typeref_key(a)) for a in ref.args) + ">" if ref.args else "")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _qrank(q: str | None) -> int:
    return ir.QUALIFIER_RANK.get(q or "series", 3)


def _name_span(func: A.Node) -> Span:
    if isinstance(func, A.Attr) and func.name_span is not None:
        return func.name_span
    return func.span


def _short(e: ir.Expr) -> str:
    if isinstance(e, ir.Const):
        return "na" if e.value is None else (e.name or repr(e.value))
    if isinstance(e, ir.VarRef):
        return e.name
    if isinstance(e, ir.BuiltinVar):
        return e.name
    if isinstance(e, (ir.BuiltinCall, ir.UserCall)):
        return f"{e.name}(...)"
    return "expr"


def _certain(e: ir.Expr, ty: PineType) -> bool:
    """Is the inferred type of ``e`` certain enough to report a mismatch (int vs float)?"""
    if ty.base != "float":
        return True
    if isinstance(e, (ir.Const, ir.BuiltinVar, ir.InputValue)):
        return True
    if isinstance(e, ir.BuiltinCall) and e.name.startswith(("ta.", "math.sqrt", "math.log", "math.exp", "math.pow")):
        return True
    if isinstance(e, ir.VarRef):
        return False
    return False


def stmt_value_type(stmt: ir.Stmt | ir.Expr) -> PineType | None:
    if isinstance(stmt, ir.ExprStmt):
        return stmt.expr.ty
    if isinstance(stmt, ir.Expr):
        return stmt.ty
    if isinstance(stmt, ir.VarDecl):
        return stmt.target.ty
    if isinstance(stmt, ir.Assign):
        return stmt.target.ty
    if isinstance(stmt, ir.TupleDecl):
        return VOID
    return NA


def const_value(e: ir.Expr) -> tuple[bool, Any]:
    """Fold a constant expression to a Python value."""
    if isinstance(e, ir.Const):
        return True, e.value
    if isinstance(e, ir.Unary):
        ok, v = const_value(e.operand)
        if ok and isinstance(v, (int, float)) and not isinstance(v, bool):
            if e.op == "-":
                return True, -v
            if e.op == "+":
                return True, v
        if ok and e.op == "not" and isinstance(v, bool):
            return True, not v
        return False, None
    if isinstance(e, ir.Binary):
        ok1, a = const_value(e.left)
        ok2, b = const_value(e.right)
        if not (ok1 and ok2):
            return False, None
        try:
            if isinstance(a, str) and isinstance(b, str) and e.op == "+":
                return True, a + b
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
                if e.op == "+":
                    return True, a + b
                if e.op == "-":
                    return True, a - b
                if e.op == "*":
                    return True, a * b
                if e.op == "/":
                    return (True, a / b) if b != 0 else (False, None)
        except (OverflowError, ValueError):
            return False, None
        return False, None
    if isinstance(e, ir.TupleExpr):
        out = []
        for item in e.items:
            ok, v = const_value(item)
            if not ok:
                return False, None
            out.append(v)
        return True, out
    return False, None


def check_program(
    nodes: list[A.Node], version: int | None, sink: DiagnosticSink, source: str = ""
) -> tuple[ir.Program, list[InputSpec], list[PlotSpec], DeclarationSpec | None]:
    if version is None:
        sink.warning(
            "Missing '//@version=6' annotation; compiling as Pine Script v6", Span(1, 1, 1, 1), "version"
        )
        version = DEFAULT_VERSION
    elif version not in SUPPORTED_VERSIONS:
        sink.error(
            f"Pine Script version {version} is not supported; use //@version=5 or //@version=6",
            Span(1, 1, 1, 1),
            "version",
        )
        # older versions differ too much (study(), security(), no namespaces): do not flood with errors
        return ir.Program(version, None, []), [], [], None
    before = (list(sink.items), set(sink._seen))
    checker = Checker(sink, version)
    checker.source_lines = source.split("\n")
    program = checker.check(nodes)
    if version >= 6 and checker.reassigned_decl_spans:
        # second pass: mutable variables are 'series' everywhere (TradingView v6 semantics)
        sink.items, sink._seen = list(before[0]), set(before[1])
        mutable = checker.reassigned_decl_spans
        checker = Checker(sink, version)
        checker.source_lines = source.split("\n")
        checker.mutable_decl_spans = mutable
        program = checker.check(nodes)
    return program, checker.inputs, checker.plots, checker.declaration
