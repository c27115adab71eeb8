"""Type helpers for the checker: construction, unification, qualifier arithmetic, display."""

from __future__ import annotations

from .ir import QUALIFIER_RANK, PineType, TypeRef

PRIMITIVES = frozenset({"int", "float", "bool", "string", "color"})
NUMERIC = frozenset({"int", "float"})
COLLECTIONS = frozenset({"array", "map", "matrix"})


def qmax(*qualifiers: str | None) -> str:
    best = "const"
    for q in qualifiers:
        if q is not None and QUALIFIER_RANK.get(q, 3) > QUALIFIER_RANK[best]:
            best = q
    return best


def t(base: str, qualifier: str = "series", *args: PineType) -> PineType:
    return PineType(base, tuple(args), qualifier)


NA = PineType("na", (), "const")
VOID = PineType("void", (), "const")


def qualifier_of(ty: PineType | None) -> str | None:
    return ty.qualifier if ty is not None else None


def base_of(ty: PineType | None) -> str | None:
    return ty.base if ty is not None else None


def unify(a: PineType | None, b: PineType | None) -> PineType | None:
    """Common type of two branches (``?:``, if/switch values)."""
    if a is None or b is None:
        return None
    q = qmax(a.qualifier, b.qualifier)
    if a.base == "na":
        return b.with_qualifier(q)
    if b.base == "na":
        return a.with_qualifier(q)
    if a.base == b.base:
        return a.with_qualifier(q)
    if {a.base, b.base} == {"int", "float"}:
        return PineType("float", (), q)
    return a.with_qualifier(q)


def from_typeref(ref: TypeRef, known_udts: set[str] | None = None) -> PineType:
    q = ref.qualifier or "series"
    name = ref.name
    if name in ("array", "matrix"):
        inner = from_typeref(ref.args[0], known_udts) if ref.args else None
        return PineType(name, (inner.with_qualifier("series"),) if inner else (), q)
    if name == "map":
        args = tuple(from_typeref(a, known_udts).with_qualifier("series") for a in ref.args)
        return PineType("map", args, q)
    return PineType(name, (), q)


def assignable(target: PineType, value: PineType) -> bool:
    """Can a value of ``value`` type be stored in a variable of ``target`` type (ignoring qualifiers)?"""
    if value.base == "na" or target.base == value.base:
        return True
    if target.base == "float" and value.base == "int":
        return True
    return False


def describe(ty: PineType | None) -> str:
    return str(ty) if ty is not None else "unknown"
