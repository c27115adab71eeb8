"""`pine check` command line: output format and exit codes."""

from __future__ import annotations

import json

from strategies.pine.cli import main

GOOD = '//@version=6\nindicator("ok")\nlen = input.int(10, "Length")\nplot(ta.sma(close, len), "SMA")\n'
BAD = '//@version=6\nindicator("bad")\nplot(ta.sma(close, lenn))\nx = foo(1)\n'


def test_clean_file_exits_zero_and_prints_nothing(tmp_path, capsys):
    f = tmp_path / "good.pine"
    f.write_text(GOOD)
    assert main(["check", str(f)]) == 0
    assert capsys.readouterr().out == ""


def test_file_with_errors_exits_one_and_prints_file_line_col(tmp_path, capsys):
    f = tmp_path / "bad.pine"
    f.write_text(BAD)
    assert main(["check", str(f)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{f}:3:20: error: Undeclared identifier 'lenn'",
        f"{f}:4:5: error: Could not find function or function reference 'foo'",
    ]


def test_any_bad_file_among_several_gives_exit_one(tmp_path):
    good, bad = tmp_path / "a.pine", tmp_path / "b.pine"
    good.write_text(GOOD)
    bad.write_text(BAD)
    assert main(["check", str(good), str(bad)]) == 1


def test_missing_file_is_reported_as_error(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.pine")]) == 1
    assert "cannot read file" in capsys.readouterr().out


def test_json_output_lists_inputs_plots_and_diagnostics_per_file(tmp_path, capsys):
    good, bad = tmp_path / "a.pine", tmp_path / "b.pine"
    good.write_text(GOOD)
    bad.write_text(BAD)
    assert main(["check", "--json", str(good), str(bad)]) == 1
    doc = json.loads(capsys.readouterr().out)
    a, b = doc["files"][str(good)], doc["files"][str(bad)]
    assert a["ok"] is True
    assert a["inputs"][0]["name"] == "len" and a["inputs"][0]["kind"] == "int" and a["inputs"][0]["defval"] == 10
    assert a["plots"] == [{"index": 0, "title": "SMA", "kind": "plot", "line": 4}]
    assert a["declaration"]["kind"] == "indicator"
    assert b["ok"] is False
    assert {(d["line"], d["col"], d["severity"]) for d in b["diagnostics"]} == {(3, 20, "error"), (4, 5, "error")}


def test_warnings_are_printed_but_do_not_fail(tmp_path, capsys):
    f = tmp_path / "warn.pine"
    f.write_text('//@version=5\nstrategy("w")\nstrategy.entry("L", strategy.long, when=close > open)\n')
    assert main(["check", str(f)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{f}:3:36: warning: The 'when' parameter is deprecated; use an 'if' statement instead"
    )
