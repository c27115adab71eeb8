"""Recursive-descent parser for Pine Script over the logical lines produced by :mod:`lexer`.

Expressions use precedence climbing (Pine precedence, lowest first): ``?:``, ``or``, ``and``,
``== !=``, ``< > <= >=``, ``+ -``, ``* / %``, unary ``+ - not``, postfix ``[] . ()``.
A syntax error aborts the current top-level statement; parsing resyncs at the next line of the
enclosing block, so several errors per file are reported.
"""

from __future__ import annotations

from . import ast as A
from .diagnostics import DiagnosticSink, PineSyntaxError
from .ir import Span, TypeRef
from .lexer import LogicalLine, Token, split_logical_lines

MAX_DEPTH = 100
MAX_BLOCK_DEPTH = 40
MAX_CHAIN = 500  # operators in one left-associative chain / postfix operations on one operand
BINARY_PREC = {
    "or": 2,
    "and": 3,
    "==": 4,
    "!=": 4,
    "<": 5,
    ">": 5,
    "<=": 5,
    ">=": 5,
    "+": 6,
    "-": 6,
    "*": 7,
    "/": 7,
    "%": 7,
}
ASSIGN_OPS = frozenset({":=", "+=", "-=", "*=", "/=", "%="})
QUALIFIER_WORDS = frozenset({"const", "simple", "series"})
MAX_INT = 2**63 - 1


def _join(a: Span, b: Span) -> Span:
    return Span(a.line, a.col, b.end_line, b.end_col)


class Parser:
    def __init__(self, lines: list[LogicalLine], sink: DiagnosticSink) -> None:
        self.lines = lines
        self.sink = sink
        self.li = 0  # index of the current logical line
        self.toks: list[Token] = []
        self.pos = 0
        self.depth = 0

    # ---- token helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.pos]

    def peek(self, k: int = 1) -> Token:
        i = self.pos + k
        return self.toks[i] if i < len(self.toks) else self.toks[-1]

    def at(self, value: str) -> bool:
        t = self.toks[self.pos]
        return t.value == value and t.kind in ("OP", "KW")

    def accept(self, value: str) -> Token | None:
        if self.at(value):
            t = self.toks[self.pos]
            self.pos += 1
            return t
        return None

    def expect(self, value: str, what: str | None = None) -> Token:
        t = self.accept(value)
        if t is None:
            self.mismatched(self.tok, what or value)
        return t  # type: ignore[return-value]

    def mismatched(self, tok: Token, expecting: str) -> None:
        """TradingView's wording: ``Mismatched input 'X' expecting 'Y'``."""
        msg = f"Mismatched input '{tok.describe()}' expecting '{expecting}'"
        if tok.continuation:
            msg += (
                "; this line is indented by a non-multiple of 4 spaces, so it continues the previous line"
                " (indent a block by exactly 4 spaces or a tab)"
            )
        raise PineSyntaxError(msg, tok.span)

    def expect_eol(self) -> None:
        if self.tok.kind != "EOL":
            self.mismatched(self.tok, "end of line without line continuation")

    def error_at(self, tok: Token, detail: str = "") -> None:
        msg = f"Syntax error at input '{tok.describe()}'"
        if tok.kind == "EOL":
            msg = "Syntax error: unexpected end of line"
        if detail:
            msg += f" ({detail})"
        if tok.continuation:
            msg += (
                "; this line is indented by a non-multiple of 4 spaces, so it continues the previous line"
                " (indent a block by exactly 4 spaces or a tab)"
            )
        raise PineSyntaxError(msg, tok.span)

    def expect_ident(self) -> Token:
        t = self.tok
        if t.kind != "ID":
            self.error_at(t, "expecting an identifier")
        self.pos += 1
        return t

    def prev_span(self) -> Span:
        return self.toks[self.pos - 1].span if self.pos > 0 else self.tok.span

    # ---- program / blocks -----------------------------------------------------------------------
    def parse_program(self) -> list[A.Node]:
        stmts: list[A.Node] = []
        while self.li < len(self.lines):
            line = self.lines[self.li]
            if line.level != 0:
                t = line.tokens[0]
                self.sink.error(
                    "Syntax error: unexpected indentation (blocks must follow a statement such as "
                    "'if', 'for' or a function header; wrapped lines must be indented by a non-multiple of 4)",
                    t.span,
                    "indent",
                )
                self.li += 1
                continue
            self._parse_line_into(stmts, 0)
        return stmts

    def _parse_line_into(self, out: list[A.Node], level: int) -> None:
        """Parse the statements of the current logical line (and the blocks they own)."""
        line = self.lines[self.li]
        self.toks = line.tokens
        self.pos = 0
        self.li += 1
        self.depth = 0
        try:
            while True:
                out.append(self.parse_statement(level))
                if self.accept(","):
                    continue
                self.expect_eol()
                break
        except PineSyntaxError as exc:
            if exc.span.line not in self.sink.lexical_error_lines:
                self.sink.error(exc.message, exc.span, exc.code)
            # skip the rest of this statement: lines belonging to deeper blocks
            while self.li < len(self.lines) and self.lines[self.li].level > level:
                self.li += 1
        except RecursionError:
            self.sink.error("Expression is nested too deeply", line.tokens[0].span, "limit")
            while self.li < len(self.lines) and self.lines[self.li].level > level:
                self.li += 1

    def parse_block(self, level: int, header: Token) -> list[A.Node]:
        """Parse the lines at exactly ``level`` following the current line."""
        saved = (self.toks, self.pos, self.depth)
        body: list[A.Node] = []
        if level > MAX_BLOCK_DEPTH:
            raise PineSyntaxError(
                f"Blocks are nested too deeply (more than {MAX_BLOCK_DEPTH} levels)", header.span, "limit"
            )
        if self.li >= len(self.lines) or self.lines[self.li].level < level:
            self.toks, self.pos, self.depth = saved
            raise PineSyntaxError(
                f"Syntax error: expecting an indented block after '{header.value}'", header.span
            )
        while self.li < len(self.lines) and self.lines[self.li].level >= level:
            line = self.lines[self.li]
            if line.level > level:
                self.sink.error(
                    "Syntax error: unexpected indentation", line.tokens[0].span, "indent"
                )
                self.li += 1
                continue
            self._parse_line_into(body, level)
        self.toks, self.pos, self.depth = saved
        return body

    def _line_starts_with(self, level: int, word: str) -> bool:
        if self.li >= len(self.lines):
            return False
        line = self.lines[self.li]
        t = line.tokens[0]
        return line.level == level and t.kind == "KW" and t.value == word

    # ---- statements -------------------------------------------------------------------------------
    def parse_statement(self, level: int) -> A.Node:
        t = self.tok
        if t.kind == "KW":
            v = t.value
            if v == "export":
                self.pos += 1
                nxt = self.tok
                if nxt.kind == "KW" and nxt.value in ("type", "enum", "method"):
                    node = self.parse_statement(level)
                elif nxt.kind == "ID" and self._looks_like_funcdef():
                    node = self.parse_funcdef(level, is_method=False)
                else:
                    self.error_at(nxt, "expecting a function, method, type or enum after 'export'")
                node.export = True  # type: ignore[attr-defined]
                return node
            if v in ("var", "varip"):
                self.pos += 1
                return self.parse_declaration(level, mode=v, start=t)
            if v == "if":
                return self.parse_if(level)
            if v == "for":
                return self.parse_for(level)
            if v == "while":
                return self.parse_while(level)
            if v == "switch":
                return self.parse_switch(level)
            if v == "break":
                self.pos += 1
                return A.BreakNode(t.span)
            if v == "continue":
                self.pos += 1
                return A.ContinueNode(t.span)
            if v == "method":
                self.pos += 1
                return self.parse_funcdef(level, is_method=True, start=t)
            if v == "type" and self.peek().kind == "ID":
                return self.parse_typedef(level)
            if v == "enum" and self.peek().kind == "ID":
                return self.parse_enumdef(level)
            if v == "import":
                return self.parse_import()
        if t.kind == "OP" and t.value == "[":
            tup = self._try_tuple_decl(level)
            if tup is not None:
                return tup
        if t.kind == "ID":
            nxt = self.peek()
            if nxt.kind == "OP" and nxt.value == "=":
                return self.parse_declaration(level, mode="plain", start=t)
            if nxt.kind == "OP" and nxt.value == "(" and self._looks_like_funcdef():
                return self.parse_funcdef(level, is_method=False)
            if (
                t.value in QUALIFIER_WORDS
                or nxt.kind == "ID"
                or (nxt.kind == "OP" and nxt.value == "<")
                or (nxt.kind == "OP" and nxt.value == "[" and self.peek(2).value == "]")
            ):
                decl = self._try_typed_declaration(level, t)
                if decl is not None:
                    return decl
        start = t
        expr = self.parse_expression(level)
        if self.tok.kind == "OP" and self.tok.value in ASSIGN_OPS:
            op = self.tok
            if not isinstance(expr, (A.Name, A.Attr)):
                raise PineSyntaxError(
                    f"Syntax error: cannot assign with '{op.value}' to this expression", expr.span
                )
            self.pos += 1
            value = self.parse_expression(level)
            return A.AssignStmt(_join(start.span, value.span), expr, op.value, value)
        if self.at("="):
            if isinstance(expr, A.Attr):
                raise PineSyntaxError(
                    "Syntax error: use ':=' to assign to a field", self.tok.span
                )
            self.error_at(self.tok)
        return A.ExprStmtNode(expr.span, expr)

    def _looks_like_funcdef(self) -> bool:
        """``name(`` ... matching ``)`` followed by ``=>``."""
        i = self.pos + 1
        toks = self.toks
        if i >= len(toks) or toks[i].value != "(" or toks[i].kind != "OP":
            return False
        depth = 0
        while i < len(toks):
            tk = toks[i]
            if tk.kind == "OP":
                if tk.value in "([":
                    depth += 1
                elif tk.value in ")]":
                    depth -= 1
                    if depth == 0:
                        nxt = toks[i + 1] if i + 1 < len(toks) else None
                        return nxt is not None and nxt.kind == "OP" and nxt.value == "=>"
            i += 1
        return False

    def _try_typed_declaration(self, level: int, start: Token) -> A.Node | None:
        saved = self.pos
        try:
            ty = self.parse_type()
        except PineSyntaxError:
            self.pos = saved
            return None
        if self.tok.kind == "ID" and self.peek().kind == "OP" and self.peek().value == "=":
            return self._finish_declaration(level, "plain", start, ty)
        self.pos = saved
        return None

    def parse_declaration(self, level: int, mode: str, start: Token) -> A.Node:
        ty: TypeRef | None = None
        if not (self.tok.kind == "ID" and self.peek().kind == "OP" and self.peek().value == "="):
            ty = self.parse_type()
        return self._finish_declaration(level, mode, start, ty)

    def _finish_declaration(self, level: int, mode: str, start: Token, ty: TypeRef | None) -> A.Node:
        name = self.expect_ident()
        self.expect("=")
        value = self.parse_expression(level)
        return A.DeclStmt(_join(start.span, value.span), name.value, name.span, value, mode, ty)

    def _try_tuple_decl(self, level: int) -> A.Node | None:
        toks = self.toks
        i = self.pos + 1
        names: list[tuple[str, Span]] = []
        while i < len(toks) and toks[i].kind == "ID":
            names.append((toks[i].value, toks[i].span))
            i += 1
            if toks[i].kind == "OP" and toks[i].value == ",":
                i += 1
                continue
            break
        if not names or not (toks[i].kind == "OP" and toks[i].value == "]"):
            return None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if nxt is None or nxt.kind != "OP" or nxt.value not in ("=", ":="):
            return None
        start = self.tok
        if nxt.value == ":=":
            raise PineSyntaxError(
                "Tuple reassignment with ':=' is not supported by Pine; declare new variables with '='",
                nxt.span,
                "unsupported",
            )
        self.pos = i + 2
        value = self.parse_expression(level)
        return A.TupleDeclStmt(_join(start.span, value.span), names, value)

    def parse_type(self) -> TypeRef:
        self._enter()
        try:
            return self._parse_type()
        finally:
            self.depth -= 1

    def _parse_type(self) -> TypeRef:
        t = self.tok
        qualifier = None
        if t.kind == "ID" and t.value in QUALIFIER_WORDS and self.peek().kind == "ID":
            qualifier = t.value
            self.pos += 1
            t = self.tok
        name_tok = self.expect_ident()
        name = name_tok.value
        # dotted type names (chart.point, lib.Type)
        while self.at(".") and self.peek().kind == "ID":
            self.pos += 1
            name += "." + self.tok.value
            self.pos += 1
        args: list[TypeRef] = []
        if self.at("<"):
            self.pos += 1
            args.append(self.parse_type())
            while self.accept(","):
                args.append(self.parse_type())
            self.expect(">")
        if self.at("[") and self.peek().kind == "OP" and self.peek().value == "]":
            # legacy array type syntax ``float[]``
            self.pos += 2
            args = [TypeRef(name, args, None, name_tok.span)]
            name = "array"
        return TypeRef(name, args, qualifier, _join(t.span, self.prev_span()))

    def parse_funcdef(self, level: int, is_method: bool, start: Token | None = None) -> A.Node:
        name = self.expect_ident()
        start = start or name
        self.expect("(")
        params: list[A.ParamNode] = []
        if not self.at(")"):
            while True:
                params.append(self.parse_param(level))
                if not self.accept(","):
                    break
        self.expect(")")
        arrow = self.expect("=>")
        if self.tok.kind == "EOL":
            body = self.parse_block(level + 1, arrow)
            end = body[-1].span if body else arrow.span
        else:
            expr = self.parse_statement(level)
            body = [expr]
            end = expr.span
        return A.FuncDefNode(_join(start.span, end), name.value, params, body, is_method)

    def parse_param(self, level: int) -> A.ParamNode:
        start = self.tok
        ty = None
        if self.tok.kind == "ID" and (
            self.peek().kind == "ID"
            or (self.peek().kind == "OP" and self.peek().value in ("<", "."))
            or self.tok.value in QUALIFIER_WORDS
        ):
            ty = self.parse_type()
        name = self.expect_ident()
        default = None
        if self.accept("="):
            default = self.parse_expression(level)
        return A.ParamNode(name.value, ty, default, _join(start.span, self.prev_span()))

    def parse_typedef(self, level: int) -> A.Node:
        kw = self.tok
        self.pos += 1
        name = self.expect_ident()
        self.expect_eol()
        fields: list[A.FieldNode] = []
        saved = (self.toks, self.pos, self.depth)
        if self.li >= len(self.lines) or self.lines[self.li].level <= level:
            raise PineSyntaxError(f"Syntax error: type '{name.value}' has no fields", name.span)
        while self.li < len(self.lines) and self.lines[self.li].level > level:
            line = self.lines[self.li]
            self.li += 1
            self.toks, self.pos = line.tokens, 0
            try:
                if line.level != level + 1:
                    raise PineSyntaxError("Syntax error: unexpected indentation", line.tokens[0].span)
                fstart = self.tok
                if self.tok.kind == "KW" and self.tok.value in ("var", "varip"):
                    self.pos += 1
                fty = self.parse_type()
                fname = self.expect_ident()
                default = None
                if self.accept("="):
                    default = self.parse_expression(level + 1)
                self.expect_eol()
                fields.append(A.FieldNode(fname.value, fty, default, _join(fstart.span, self.prev_span())))
            except PineSyntaxError as exc:
                self.sink.error(exc.message, exc.span, exc.code)
        self.toks, self.pos, self.depth = saved
        return A.TypeDefNode(_join(kw.span, name.span), name.value, fields)

    def parse_enumdef(self, level: int) -> A.Node:
        kw = self.tok
        self.pos += 1
        name = self.expect_ident()
        self.expect_eol()
        members: list[tuple[str, str | None, Span]] = []
        saved = (self.toks, self.pos, self.depth)
        while self.li < len(self.lines) and self.lines[self.li].level > level:
            line = self.lines[self.li]
            self.li += 1
            self.toks, self.pos = line.tokens, 0
            try:
                m = self.expect_ident()
                title = None
                if self.accept("="):
                    if self.tok.kind != "STR":
                        self.error_at(self.tok, "enum titles must be string literals")
                    title = self.tok.value
                    self.pos += 1
                self.expect_eol()
                members.append((m.value, title, m.span))
            except PineSyntaxError as exc:
                self.sink.error(exc.message, exc.span, exc.code)
        self.toks, self.pos, self.depth = saved
        if not members:
            raise PineSyntaxError(f"Syntax error: enum '{name.value}' has no members", name.span)
        return A.EnumDefNode(_join(kw.span, name.span), name.value, members)

    def parse_import(self) -> A.Node:
        kw = self.tok
        self.pos += 1
        parts = []
        while self.tok.kind != "EOL" and not (self.tok.kind == "KW" and self.tok.value == "as"):
            parts.append(self.tok.text or self.tok.value)
            self.pos += 1
        path = "".join(parts)
        alias = None
        if self.accept("as"):
            alias = self.expect_ident().value
        return A.ImportNode(_join(kw.span, self.prev_span()), path, alias)

    # ---- compound statements (also expressions) -------------------------------------------------
    def parse_if(self, level: int) -> A.Node:
        kw = self.tok
        self.pos += 1
        cond = self.parse_expression(level)
        self.expect_eol()
        then = self.parse_block(level + 1, kw)
        orelse: list[A.Node] = []
        end = then[-1].span if then else kw.span
        if self._line_starts_with(level, "else"):
            line = self.lines[self.li]
            toks = line.tokens
            else_tok = toks[0]
            if len(toks) > 2 and toks[1].kind == "KW" and toks[1].value == "if":
                # ``else if``: parse as a nested if starting at token 1 of that line
                self.li += 1
                saved = (self.toks, self.pos)
                self.toks, self.pos = toks, 1
                nested = self.parse_if(level)
                self.expect_eol()
                self.toks, self.pos = saved
                orelse = [nested]
                end = nested.span
            else:
                if len(toks) != 2:
                    raise PineSyntaxError(
                        f"Syntax error at input '{toks[1].describe()}' (expecting end of line after 'else')",
                        toks[1].span,
                    )
                self.li += 1
                orelse = self.parse_block(level + 1, else_tok)
                if orelse:
                    end = orelse[-1].span
        return A.IfNode(_join(kw.span, end), cond, then, orelse)

    def parse_for(self, level: int) -> A.Node:
        kw = self.tok
        self.pos += 1
        if self.at("["):
            self.pos += 1
            idx = self.expect_ident()
            self.expect(",")
            item = self.expect_ident()
            self.expect("]")
            self.expect("in")
            iterable = self.parse_expression(level)
            self._expect_eol()
            body = self.parse_block(level + 1, kw)
            return A.ForInNode(self._end_span(kw, body), idx.value, item.value, iterable, body)
        var = self.expect_ident()
        if self.accept("in"):
            iterable = self.parse_expression(level)
            self._expect_eol()
            body = self.parse_block(level + 1, kw)
            return A.ForInNode(self._end_span(kw, body), None, var.value, iterable, body)
        self.expect("=")
        start = self.parse_expression(level)
        self.expect("to")
        end = self.parse_expression(level)
        step = None
        if self.accept("by"):
            step = self.parse_expression(level)
        self._expect_eol()
        body = self.parse_block(level + 1, kw)
        return A.ForNode(self._end_span(kw, body), var.value, var.span, start, end, step, body)

    def parse_while(self, level: int) -> A.Node:
        kw = self.tok
        self.pos += 1
        cond = self.parse_expression(level)
        self._expect_eol()
        body = self.parse_block(level + 1, kw)
        return A.WhileNode(self._end_span(kw, body), cond, body)

    def parse_switch(self, level: int) -> A.Node:
        kw = self.tok
        self.pos += 1
        subject = None
        if self.tok.kind != "EOL":
            subject = self.parse_expression(level)
        self._expect_eol()
        saved = (self.toks, self.pos, self.depth)
        cases: list[A.SwitchCaseNode] = []
        if self.li >= len(self.lines) or self.lines[self.li].level <= level:
            raise PineSyntaxError("Syntax error: 'switch' has no cases", kw.span)
        case_level = level + 1
        while self.li < len(self.lines) and self.lines[self.li].level > level:
            line = self.lines[self.li]
            self.li += 1
            self.toks, self.pos, self.depth = line.tokens, 0, 0
            try:
                if line.level != case_level:
                    raise PineSyntaxError("Syntax error: unexpected indentation", line.tokens[0].span)
                first = self.tok
                match = None
                if not self.at("=>"):
                    match = self.parse_expression(case_level)
                arrow = self.expect("=>")
                if self.tok.kind == "EOL":
                    body = self.parse_block(case_level + 1, arrow)
                else:
                    body = [self.parse_statement(case_level)]
                    while self.accept(","):
                        body.append(self.parse_statement(case_level))
                    self._expect_eol()
                cases.append(A.SwitchCaseNode(match, body, _join(first.span, self.prev_span())))
            except PineSyntaxError as exc:
                self.sink.error(exc.message, exc.span, exc.code)
                while self.li < len(self.lines) and self.lines[self.li].level > case_level:
                    self.li += 1
        self.toks, self.pos, self.depth = saved
        end = cases[-1].span if cases else kw.span
        return A.SwitchNode(_join(kw.span, end), subject, cases)

    def _expect_eol(self) -> None:
        self.expect_eol()

    def _end_span(self, kw: Token, body: list[A.Node]) -> Span:
        return _join(kw.span, body[-1].span) if body else kw.span

    # ---- expressions ------------------------------------------------------------------------------
    def parse_expression(self, level: int) -> A.Node:
        t = self.tok
        if t.kind == "KW":
            if t.value == "if":
                return self.parse_if(level)
            if t.value == "switch":
                return self.parse_switch(level)
            if t.value == "for":
                return self.parse_for(level)
            if t.value == "while":
                return self.parse_while(level)
        return self.parse_ternary()

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise PineSyntaxError(
                f"Expression is nested too deeply (more than {MAX_DEPTH} levels)", self.tok.span, "limit"
            )

    def parse_ternary(self) -> A.Node:
        """``c1 ? a : c2 ? b : d`` -- the else-chain is parsed iteratively (long mapping chains are common
        in real scripts and must not count as nesting); the ``then`` branch nests as usual."""
        self._enter()
        arms: list[tuple[A.Node, A.Node]] = []
        cond = self.parse_binary(2)
        while self.at("?"):
            if len(arms) >= MAX_CHAIN:
                raise PineSyntaxError(
                    f"Expression is too long (more than {MAX_CHAIN} chained '?:' operators)", self.tok.span, "limit"
                )
            self.pos += 1
            then = self.parse_ternary()
            self.expect(":")
            arms.append((cond, then))
            cond = self.parse_binary(2)
        node = cond
        for c, then in reversed(arms):
            node = A.TernaryOp(_join(c.span, node.span), c, then, node)
        self.depth -= 1
        return node

    def parse_binary(self, min_prec: int) -> A.Node:
        left = self.parse_unary()
        count = 0
        while True:
            t = self.tok
            if t.kind not in ("OP", "KW"):
                break
            prec = BINARY_PREC.get(t.value)
            if prec is None or prec < min_prec:
                break
            self.pos += 1
            count += 1
            if count > MAX_CHAIN:
                raise PineSyntaxError(f"Expression is too long (more than {MAX_CHAIN} operators)", t.span, "limit")
            right = self.parse_binary(prec + 1)
            left = A.BinOp(_join(left.span, right.span), t.value, left, right)
        return left

    def parse_unary(self) -> A.Node:
        t = self.tok
        if (t.kind == "OP" and t.value in ("-", "+")) or (t.kind == "KW" and t.value == "not"):
            self.pos += 1
            self._enter()
            operand = self.parse_unary()
            self.depth -= 1
            if t.value == "-" and isinstance(operand, A.Literal) and operand.kind in ("int", "float"):
                return A.Literal(_join(t.span, operand.span), operand.kind, -operand.value)
            return A.UnaryOp(_join(t.span, operand.span), t.value, operand)
        return self.parse_postfix()

    def parse_postfix(self) -> A.Node:
        node = self.parse_primary()
        count = 0
        while True:
            t = self.tok
            if t.kind != "OP":
                break
            count += 1
            if count > MAX_CHAIN:
                raise PineSyntaxError(
                    f"Expression is too long (more than {MAX_CHAIN} member accesses, calls or history references)",
                    t.span,
                    "limit",
                )
            if t.value == "[":
                self.pos += 1
                self._enter()
                idx = self.parse_ternary()
                self.depth -= 1
                end = self.expect("]")
                node = A.Subscript(_join(node.span, end.span), node, idx)
            elif t.value == ".":
                self.pos += 1
                name = self.tok
                if name.kind not in ("ID", "KW"):
                    self.error_at(name, "expecting a member name")
                self.pos += 1
                node = A.Attr(_join(node.span, name.span), node, name.value, name.span)
            elif t.value == "(":
                node = self.parse_call(node, [])
            elif t.value == "<" and isinstance(node, (A.Attr, A.Name)):
                type_args = self._try_type_args()
                if type_args is None:
                    break
                node = self.parse_call(node, type_args)
            else:
                break
        return node

    def _try_type_args(self) -> list[TypeRef] | None:
        """``array.new<float>(`` -- template arguments followed by a call."""
        saved = self.pos
        try:
            self.pos += 1
            args = [self.parse_type()]
            while self.accept(","):
                args.append(self.parse_type())
            if not self.at(">") or not (self.peek().kind == "OP" and self.peek().value == "("):
                raise PineSyntaxError("", self.tok.span)
            self.pos += 1
            return args
        except PineSyntaxError:
            self.pos = saved
            return None

    def parse_call(self, func: A.Node, type_args: list[TypeRef]) -> A.Node:
        self.expect("(")
        self._enter()
        args: list[A.Node] = []
        kwargs: list[tuple[str, A.Node, Span]] = []
        if not self.at(")"):
            while True:
                t = self.tok
                if t.kind == "ID" and self.peek().kind == "OP" and self.peek().value == "=":
                    self.pos += 2
                    kwargs.append((t.value, self.parse_ternary(), t.span))
                else:
                    if kwargs:
                        raise PineSyntaxError(
                            "Syntax error: positional argument follows named argument", t.span
                        )
                    args.append(self.parse_ternary())
                if not self.accept(","):
                    break
        end = self.expect(")")
        self.depth -= 1
        return A.Call(_join(func.span, end.span), func, args, kwargs, type_args)

    def parse_primary(self) -> A.Node:
        t = self.tok
        k = t.kind
        if k == "NUM":
            self.pos += 1
            return self._number(t)
        if k == "STR":
            self.pos += 1
            return A.Literal(t.span, "string", t.value)
        if k == "COLOR":
            self.pos += 1
            v = t.value if len(t.value) == 9 else t.value + "FF"
            return A.Literal(t.span, "color", v)
        if k == "ID":
            self.pos += 1
            return A.Name(t.span, t.value)
        if k == "KW":
            if t.value in ("true", "false"):
                self.pos += 1
                return A.Literal(t.span, "bool", t.value == "true")
            if t.value in ("if", "switch", "for", "while"):
                self.error_at(t, f"'{t.value}' can only be used as a statement or as the whole value of a declaration")
        if k == "OP":
            if t.value == "(":
                self.pos += 1
                self._enter()
                inner = self.parse_ternary()
                self.depth -= 1
                self.expect(")")
                return inner
            if t.value == "[":
                self.pos += 1
                self._enter()
                items = [self.parse_ternary()]
                while self.accept(","):
                    items.append(self.parse_ternary())
                self.depth -= 1
                end = self.expect("]")
                return A.TupleLit(_join(t.span, end.span), items)
        self.error_at(t)
        raise AssertionError("unreachable")

    def _number(self, t: Token) -> A.Node:
        text = t.value
        if any(c in text for c in ".eE"):
            try:
                value = float(text)
            except (ValueError, OverflowError):
                raise PineSyntaxError(f"Invalid number literal '{text[:40]}'", t.span) from None
            if value in (float("inf"), float("-inf")):
                raise PineSyntaxError(f"Number literal '{text[:40]}' is out of range", t.span, "limit")
            return A.Literal(t.span, "float", value)
        if len(text) > 19 or int(text) > MAX_INT:
            raise PineSyntaxError(
                f"Integer literal '{text[:40]}' is out of range (max {MAX_INT})", t.span, "limit"
            )
        return A.Literal(t.span, "int", int(text))


def parse_source(source: str, sink: DiagnosticSink) -> tuple[list[A.Node], int | None]:
    lines, version = split_logical_lines(source, sink)
    parser = Parser(lines, sink)
    return parser.parse_program(), version
