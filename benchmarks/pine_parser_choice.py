"""Why the Pine front end is a hand-written parser and not pyparsing: a measured comparison.

The stack names pyparsing for the front end. This benchmark parses the same expressions twice: with a
pyparsing grammar of Pine's expression layer alone (infix_notation over Pine's nine precedence levels,
calls with named arguments, member access, history references, packrat enabled) and with our complete
front end (lexing, parsing, name resolution, type checking, IR) on the 200-line benchmark script.

Run: .venv/bin/python benchmarks/pine_parser_choice.py
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

import pyparsing as pp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.pine_compile import build_script  # noqa: E402
from strategies.pine import compile_source  # noqa: E402


def pyparsing_expression_grammar() -> pp.ParserElement:
    pp.ParserElement.enable_packrat(cache_size_limit=None)
    ident = pp.Regex(r"[A-Za-z_][A-Za-z0-9_]*")
    number = pp.Regex(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
    string = pp.QuotedString('"', esc_char="\\") | pp.QuotedString("'", esc_char="\\")
    color = pp.Regex(r"#[0-9a-fA-F]{6,8}")
    expr = pp.Forward()
    generic = pp.Optional(pp.Suppress("<") + pp.DelimitedList(ident) + pp.Suppress(">"))
    argument = pp.Optional(ident + pp.Suppress("=") + ~pp.Literal("=")) + expr
    call_args = pp.Suppress("(") + pp.Optional(pp.DelimitedList(argument)) + pp.Suppress(")")
    dotted = ident + pp.ZeroOrMore(pp.Suppress(".") + ident)
    atom = color | number | string | pp.Group(dotted + generic + pp.Optional(call_args)) | (pp.Suppress("(") + expr + pp.Suppress(")"))
    postfix = atom + pp.ZeroOrMore(
        (pp.Suppress("[") + expr + pp.Suppress("]")) | (pp.Suppress(".") + ident + pp.Optional(call_args))
    )
    expr <<= pp.infix_notation(
        postfix,
        [
            (pp.one_of("not - +"), 1, pp.OpAssoc.RIGHT),
            (pp.one_of("* / %"), 2, pp.OpAssoc.LEFT),
            (pp.one_of("+ -"), 2, pp.OpAssoc.LEFT),
            (pp.one_of("< <= > >="), 2, pp.OpAssoc.LEFT),
            (pp.one_of("== !="), 2, pp.OpAssoc.LEFT),
            (pp.Keyword("and"), 2, pp.OpAssoc.LEFT),
            (pp.Keyword("or"), 2, pp.OpAssoc.LEFT),
            ((pp.Literal("?"), pp.Literal(":")), 3, pp.OpAssoc.RIGHT),
        ],
    )
    return expr


def expressions_of(source: str) -> list[str]:
    """Right-hand sides, conditions and call arguments: the expression text of every statement line."""
    found = []
    for line in source.splitlines():
        text = line.split("//")[0].strip()
        if not text or text.startswith(("type", "method", "var levels", "for ", "=>")) or text.endswith("=>"):
            continue
        text = re.sub(r"^(if|else if|while)\s+", "", text)
        text = re.sub(r"^(var\s+)?(int\s+|float\s+)?\[?[\w, ]+\]?\s*(:=|\+=|=(?!=)|=>)\s*", "", text)
        if not text or text in {"else", "switch"} or text.startswith("["):
            continue
        found.extend(part.strip() for part in text.split("=>") if part.strip())
    return found


def main() -> None:
    source = build_script(200)
    expressions = expressions_of(source)
    grammar = pyparsing_expression_grammar()
    for text in expressions:  # every expression must parse, or the comparison would flatter pyparsing
        grammar.parse_string(text, parse_all=True)

    def time_pyparsing() -> float:
        pp.ParserElement.reset_cache()
        started = time.perf_counter()
        for text in expressions:
            grammar.parse_string(text, parse_all=True)
        return time.perf_counter() - started

    def time_front_end() -> float:
        started = time.perf_counter()
        result = compile_source(source)
        elapsed = time.perf_counter() - started
        assert result.ok
        return elapsed

    rounds = 7
    pyparsing_ms = statistics.median(time_pyparsing() for _ in range(rounds)) * 1000
    front_end_ms = statistics.median(time_front_end() for _ in range(rounds)) * 1000
    print(f"script: {len(source.splitlines())} lines, {len(expressions)} expressions")
    print(f"pyparsing, expressions only (packrat):        {pyparsing_ms:8.1f} ms")
    print(f"4pass front end, whole compile (parse+check+IR): {front_end_ms:8.1f} ms")
    print(f"ratio pyparsing-expressions / whole front end: {pyparsing_ms / front_end_ms:8.1f}x")
    print("goal for the whole compile of a 200-line script: <= 50 ms")


if __name__ == "__main__":
    main()
