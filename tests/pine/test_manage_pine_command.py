import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "pine", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_manage_pine_check_prints_file_line_col_errors_and_exits_1(tmp_path):
    bad = tmp_path / "bad.pine"
    bad.write_text('//@version=6\nstrategy("x")\nplot(undefined_thing)\n')
    result = run("check", str(bad))
    assert result.returncode == 1
    assert f"{bad}:3:6: error:" in result.stdout


def test_manage_pine_check_exits_0_on_a_clean_corpus_file():
    result = run("check", str(ROOT / "tests/pine/corpus/tv_rsi_strategy.pine"))
    assert result.returncode == 0, result.stdout + result.stderr
