"""Malformed scripts report exactly the diagnostics stated in their ``// expect: L:C: message`` headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from strategies.pine import compile_source

MALFORMED = Path(__file__).parent / "malformed"
FILES = sorted(MALFORMED.glob("*.pine"))
EXPECT_RE = re.compile(r"^// expect: (\d+):(\d+): (.+)$")


def _expectations(text: str) -> list[tuple[int, int, str]]:
    out = []
    for line in text.splitlines():
        m = EXPECT_RE.match(line)
        if m:
            out.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    return out


def test_malformed_cases_exist():
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_malformed_script_reports_expected_errors(path: Path):
    text = path.read_text()
    expected = _expectations(text)
    assert expected, "each malformed case states its expected diagnostics"
    result = compile_source(text, filename=path.name)
    assert not result.ok
    errors = [d for d in result.diagnostics if d.severity == "error"]
    got = {(d.line, d.col): d.message for d in errors}
    for line, col, message in expected:
        assert (line, col) in got, f"missing {line}:{col}: {message}; got {[d.format() for d in errors]}"
        assert message in got[(line, col)]
    assert len(errors) == len(expected), [d.format() for d in errors]


def test_syntax_error_recovery_reports_errors_on_later_lines():
    src = '//@version=6\nindicator("x")\na = (1 +\nb = 2 +* 3\nc = undefined_thing\nplot(close)\n'
    lines = sorted({d.line for d in compile_source(src).diagnostics if d.severity == "error"})
    assert lines == [3, 4, 5]


def test_diagnostic_format_is_file_line_col_severity_message():
    result = compile_source('//@version=6\nindicator("x")\nplot(qqqq)\n')
    assert result.diagnostics[0].format("s.pine") == "s.pine:3:6: error: Undeclared identifier 'qqqq'"


def test_diagnostics_carry_end_positions_and_codes():
    d = compile_source('//@version=6\nindicator("x")\nplot(qqqq)\n').diagnostics[0]
    assert (d.line, d.col, d.end_line, d.end_col) == (3, 6, 3, 10)
    assert d.code == "undeclared"
