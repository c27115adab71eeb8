"""Hostile input: compile_source never raises, returns diagnostics and finishes quickly."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies.pine import compile_source

FAST = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    "if", "else", "for", "to", "by", "in", "while", "switch", "=>", "var", "varip", "type", "enum",
    "method", "export", "import", "x", "y", "close", "ta.sma", "strategy.entry", "(", ")", "[", "]",
    ",", ".", "=", ":=", "+=", "+", "-", "*", "/", "%", "?", ":", "==", "and", "or", "not", "1",
    "2.5", ".5", "1e-3", '"s"', "'t'", "#FF0000", "na", "true", "\n", "\n    ", "\n  ", "\t", "//c",
    "array.new<float>", "<", ">", "__import__", "__class__", "eval", "exec", "_",
]  # fmt: skip


def _check(src: str) -> None:
    start = time.perf_counter()
    result = compile_source(src)
    elapsed = time.perf_counter() - start
    assert isinstance(result.diagnostics, list)
    assert result.ok == (not any(d.severity == "error" for d in result.diagnostics))
    for d in result.diagnostics:
        assert d.severity in ("error", "warning")
        assert d.line >= 0 and d.col >= 0
        assert d.code != "internal", d.message
    assert elapsed < 1.0


@FAST
@given(st.text(max_size=400))
def test_random_text_never_raises(src):
    _check(src)


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=120).map(" ".join))
def test_token_soup_never_raises(src):
    _check("//@version=6\nindicator('fuzz')\n" + src)


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=120).map("".join))
def test_glued_token_soup_never_raises(src):
    _check("//@version=6\nstrategy('fuzz')\n" + src)


@FAST
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FFFF), max_size=200))
def test_unicode_and_control_characters_never_raise(src):
    _check('//@version=6\nindicator("u")\nx = ' + src + "\nplot(close)\n")


def test_thousand_nested_parentheses_reports_nesting_limit():
    src = '//@version=6\nindicator("deep")\nx = ' + "(" * 1000 + "1" + ")" * 1000 + "\nplot(x)\n"
    result = compile_source(src)
    assert any("nested too deeply" in d.message for d in result.diagnostics)


def test_deeply_nested_unary_and_ternary_are_bounded():
    for body in ("-" * 5000 + "1", "true ? " * 2000 + "1" + " : 2" * 2000, "not " * 3000 + "true"):
        result = compile_source('//@version=6\nindicator("d")\nx = ' + body + "\nplot(close)\n")
        assert not result.ok


def test_deeply_nested_blocks_are_bounded():
    lines = ['//@version=6', 'indicator("blocks")']
    for depth in range(300):
        lines.append("    " * depth + "if close > open")
    lines.append("    " * 300 + "x = 1")
    _check("\n".join(lines))


def test_huge_literals_are_diagnosed():
    result = compile_source('//@version=6\nindicator("h")\nx = ' + "9" * 5000 + "\ny = 1e99999\nz = \"" + "a" * 100000 + '"\nplot(close)\n')
    messages = [d.message for d in result.diagnostics]
    assert any("out of range" in m for m in messages)
    assert sum("out of range" in m for m in messages) == 2


def test_python_dunder_identifiers_are_plain_pine_variables():
    src = (
        '//@version=6\nindicator("names")\n__import__ = 1\n__class__ = __import__ + 1\neval = 2.0\n'
        "exec(x) => x\n__builtins__ = exec(3)\nplot(__class__ + eval + __builtins__)\n"
    )
    result = compile_source(src)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.program.slot_names[:3] == ["__import__", "__class__", "eval"]


def test_dunder_member_access_on_builtins_is_an_undeclared_identifier():
    result = compile_source('//@version=6\nindicator("d")\nx = close.__class__\ny = ta.__dict__\nplot(close)\n')
    assert not result.ok
    assert all(d.code != "internal" for d in result.diagnostics)


def test_nul_bytes_are_reported_not_crashing():
    result = compile_source('//@version=6\nindicator("n")\nx = 1\0\nplot(close)\n')
    assert any("NUL" in d.message for d in result.diagnostics)


def test_ten_kilobyte_hostile_input_is_fast():
    chunk = "a = ((((b[1][2].c.d(e, f=g, h=[1,2,3]) ? x : y + z * - - - 1 )))) ,  if for while switch =>\n  "
    src = (chunk * (10_000 // len(chunk) + 1))[:10_000]
    start = time.perf_counter()
    compile_source(src)
    assert time.perf_counter() - start < 0.5


def test_ten_kilobyte_of_many_errors_is_fast_and_capped():
    src = '//@version=6\nindicator("e")\n' + "x = undefined_name + 1\n" * 500
    start = time.perf_counter()
    result = compile_source(src)
    assert time.perf_counter() - start < 0.5
    assert 0 < len(result.diagnostics) <= 200


def test_non_string_input_does_not_raise():
    result = compile_source(b"//@version=6\nindicator('b')\n")  # type: ignore[arg-type]
    assert isinstance(result.diagnostics, list)
