"""Syntax tree produced by the parser (unresolved names).  The checker lowers it to :mod:`ir`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ir import Span, TypeRef

# ---- expressions -----------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Node:
    span: Span


@dataclass(slots=True, eq=False)
class Literal(Node):
    kind: str  # int float bool string color
    value: Any


@dataclass(slots=True, eq=False)
class Name(Node):
    name: str


@dataclass(slots=True, eq=False)
class Attr(Node):
    obj: Node
    name: str
    name_span: Span | None = None


@dataclass(slots=True, eq=False)
class Call(Node):
    func: Node  # Name | Attr
    args: list[Node]
    kwargs: list[tuple[str, Node, Span]]
    type_args: list[TypeRef] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Subscript(Node):
    target: Node
    index: Node


@dataclass(slots=True, eq=False)
class UnaryOp(Node):
    op: str
    operand: Node


@dataclass(slots=True, eq=False)
class BinOp(Node):
    op: str
    left: Node
    right: Node


@dataclass(slots=True, eq=False)
class TernaryOp(Node):
    cond: Node
    then: Node
    orelse: Node


@dataclass(slots=True, eq=False)
class TupleLit(Node):
    items: list[Node]


@dataclass(slots=True, eq=False)
class IfNode(Node):
    cond: Node
    then: list[Node]
    orelse: list[Node]


@dataclass(slots=True, eq=False)
class SwitchCaseNode:
    match: Node | None
    body: list[Node]
    span: Span


@dataclass(slots=True, eq=False)
class SwitchNode(Node):
    subject: Node | None
    cases: list[SwitchCaseNode]


@dataclass(slots=True, eq=False)
class ForNode(Node):
    var: str
    var_span: Span
    start: Node
    end: Node
    step: Node | None
    body: list[Node]


@dataclass(slots=True, eq=False)
class ForInNode(Node):
    index: str | None
    item: str
    iterable: Node
    body: list[Node]


@dataclass(slots=True, eq=False)
class WhileNode(Node):
    cond: Node
    body: list[Node]


# ---- statements ------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class DeclStmt(Node):
    name: str
    name_span: Span
    value: Node
    mode: str = "plain"
    declared_type: TypeRef | None = None


@dataclass(slots=True, eq=False)
class TupleDeclStmt(Node):
    names: list[tuple[str, Span]]
    value: Node


@dataclass(slots=True, eq=False)
class AssignStmt(Node):
    target: Node  # Name | Attr
    op: str
    value: Node


@dataclass(slots=True, eq=False)
class ExprStmtNode(Node):
    expr: Node


@dataclass(slots=True, eq=False)
class BreakNode(Node):
    pass


@dataclass(slots=True, eq=False)
class ContinueNode(Node):
    pass


@dataclass(slots=True, eq=False)
class ParamNode:
    name: str
    declared_type: TypeRef | None
    default: Node | None
    span: Span


@dataclass(slots=True, eq=False)
class FuncDefNode(Node):
    name: str
    params: list[ParamNode]
    body: list[Node]
    is_method: bool = False
    export: bool = False


@dataclass(slots=True, eq=False)
class FieldNode:
    name: str
    declared_type: TypeRef
    default: Node | None
    span: Span


@dataclass(slots=True, eq=False)
class TypeDefNode(Node):
    name: str
    fields: list[FieldNode]
    export: bool = False


@dataclass(slots=True, eq=False)
class EnumDefNode(Node):
    name: str
    members: list[tuple[str, str | None, Span]]
    export: bool = False


@dataclass(slots=True, eq=False)
class ImportNode(Node):
    path: str
    alias: str | None
