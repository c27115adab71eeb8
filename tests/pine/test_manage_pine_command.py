import subprocess
import sys
from pathlib import Path

from tests.tv_reference import STRATEGIES

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


def test_manage_backtest_runs_a_tradingview_template_and_writes_the_trade_list(tmp_path):
    trades_csv = tmp_path / "trades.csv"
    result = subprocess.run(
        [
            sys.executable, "manage.py", "backtest", str(ROOT / "tests/pine/corpus/tv_rsi_strategy.pine"),
            "--data", str(STRATEGIES / "ohlcv.csv"),
            "--symbol", "FX:EURUSD", "--mintick", "0.00001", "--type", "forex", "--timezone", "America/New_York",
            "--trades-csv", str(trades_csv),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Net profit" in result.stdout or "net_profit" in result.stdout.lower()
    header = trades_csv.read_text().splitlines()[0]
    assert header.startswith("Trade #,Type,Date/Time,Signal,Price")


def test_manage_backtest_reports_compile_errors_with_file_line_col(tmp_path):
    bad = tmp_path / "bad.pine"
    bad.write_text('//@version=6\nstrategy("x")\nif close >\n    strategy.entry("L", strategy.long)\n')
    data = tmp_path / "bars.csv"
    data.write_text("time,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n")
    result = run_backtest_command(str(bad), "--data", str(data))
    assert result.returncode == 1
    assert f"{bad}:3:" in result.stdout + result.stderr


def run_backtest_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "backtest", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
