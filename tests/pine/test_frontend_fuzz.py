"""Hostile input: compile_source never raises, returns diagnostics and finishes quickly."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies.pine import compile_source

# PINE_FUZZ_EXAMPLES=5000 runs a long fuzzing session; the default keeps the suite fast
FAST = settings(
    max_examples=int(os.environ.get("PINE_FUZZ_EXAMPLES", "150")),
    deadline=1000,
    suppress_health_check=[HealthCheck.too_slow],
)

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


CORPUS_TEXTS = [p.read_text() for p in sorted((Path(__file__).parent / "corpus").glob("*.pine"))]


@FAST
@given(
    st.sampled_from(CORPUS_TEXTS),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.sampled_from([*TOKENS, "", " ", "    "])), max_size=8),
)
def test_mutated_corpus_scripts_never_raise(text, edits):
    for pos, length, insert in edits:
        pos %= len(text) + 1
        text = text[:pos] + insert + text[pos + length :]
    _check(text)


@FAST
@given(st.sampled_from(CORPUS_TEXTS), st.data())
def test_corpus_scripts_with_shuffled_lines_never_raise(text, data):
    lines = text.split("\n")
    perm = data.draw(st.permutations(lines))
    _check("\n".join(perm))


def test_long_operator_and_member_chains_are_bounded():
    bodies = ["1+" * 3000 + "1", "a<" * 3000 + "a", "a." * 4000 + "b", "f()" + ".g()" * 800, "close" + "[1]" * 900]
    for body in bodies:
        start = time.perf_counter()
        result = compile_source('//@version=6\nindicator("c")\nx = ' + body + "\nplot(close)\n")
        assert time.perf_counter() - start < 1.0
        assert any(d.code == "limit" for d in result.diagnostics), body[:20]


def test_chains_below_the_limits_compile():
    result = compile_source('//@version=6\nindicator("c")\nx = ' + "1 + " * 450 + "1\nplot(x)\n")
    assert result.ok


def test_byte_order_mark_and_non_breaking_spaces_are_whitespace():
    src = "\ufeff//@version=6\nindicator(\"bom\")\nx =\u00a0close\u00a0+ 1\nplot(x)\n"
    result = compile_source(src)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.declaration.version == 6


def test_front_end_sources_never_execute_or_generate_python():
    package = Path(__file__).parents[2] / "strategies" / "pine"
    # builtins exec/eval/compile (not re.compile), dynamic imports, attribute writes by name
    forbidden = re.compile(r"(?<![\w.])(exec|eval|compile|__import__|setattr)\(|importlib")
    for path in package.glob("*.py"):
        match = forbidden.search(path.read_text())
        assert match is None, f"{path.name} uses {match.group()}"


def test_internal_failure_becomes_an_internal_diagnostic(monkeypatch):
    import strategies.pine.checker as checker_module

    def explode(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(checker_module, "check_program", explode)
    result = compile_source('//@version=6\nindicator("x")\nplot(close)\n')
    assert not result.ok
    assert result.program is None
    assert [d.code for d in result.diagnostics] == ["internal"]
    assert "KeyError" in result.diagnostics[0].message


def test_long_ternary_mapping_chains_compile_but_nested_ternaries_are_bounded():
    chain = " : ".join(f"k == {i} ? {i}.5" for i in range(300)) + " : 0.0"
    assert compile_source('//@version=6\nindicator("t")\nk = bar_index % 300\nx = ' + chain + "\nplot(x)\n").ok
    nested = "true ? " * 150 + "1" + " : 2" * 150
    result = compile_source('//@version=6\nindicator("t")\nx = ' + nested + "\nplot(x)\n")
    assert any(d.code == "limit" for d in result.diagnostics)
