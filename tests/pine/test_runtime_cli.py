"""The ``backtest`` command line core."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from strategies.pine.runtime.cli import main
from tests.tv_reference import STRATEGIES

CORPUS = Path(__file__).parent / "corpus"
REF = STRATEGIES

BARS_CSV = "time,open,high,low,close,volume\n" + "".join(
    f"{1_704_067_200 + 3600 * k},{100 + k % 7},{102 + k % 7},{99 + k % 7},{101 + k % 5},10\n" for k in range(200))


def _write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err)
    return code, out.getvalue(), err.getvalue()


STRATEGY = """//@version=6
strategy("cli", overlay=true)
len = input.int(5, "Length")
ma = ta.sma(close, len)
if ta.crossover(close, ma)
    strategy.entry("L", strategy.long)
if ta.crossunder(close, ma)
    strategy.close("L")
"""


def test_backtest_prints_summary_and_writes_json_and_trades_csv(tmp_path: Path) -> None:
    pine = _write(tmp_path, "s.pine", STRATEGY)
    data = _write(tmp_path, "bars.csv", BARS_CSV)
    out_json, out_csv = tmp_path / "o.json", tmp_path / "t.csv"
    code, out, err = _run(["backtest", pine, "--data", data, "--symbol", "BINANCE:ETHUSDT.P", "--timeframe", "60",
                           "--set", "len=3", "--json", str(out_json), "--trades-csv", str(out_csv)])
    assert code == 0, err
    assert "Net profit" in out and "Bars processed" in out
    doc = json.loads(out_json.read_text())
    assert doc["inputs"]["len"] == 3
    assert doc["trades"] and doc["trades"][0]["entry_time"].endswith("Z")
    assert len(doc["equity"]) == 200
    rows = list(csv.reader(out_csv.read_text().splitlines()))
    assert rows[0][:3] == ["Trade #", "Type", "Date/Time"]
    assert len(rows) == 1 + 2 * len(doc["trades"])


def test_compile_error_prints_file_line_col_and_exits_1(tmp_path: Path) -> None:
    pine = _write(tmp_path, "bad.pine", '//@version=6\nstrategy("x")\nx = undefined_thing + 1\n')
    data = _write(tmp_path, "bars.csv", BARS_CSV)
    code, _out, err = _run(["backtest", pine, "--data", data])
    assert code == 1
    assert err.startswith(f"{pine}:3:") and ": error: " in err


def test_runtime_error_prints_location_and_exits_2(tmp_path: Path) -> None:
    pine = _write(tmp_path, "rt.pine", '//@version=6\nstrategy("x")\nif bar_index == 5\n    runtime.error("stop")\n')
    data = _write(tmp_path, "bars.csv", BARS_CSV)
    code, _out, err = _run(["backtest", pine, "--data", data])
    assert code == 2
    assert err.strip() == f"{pine}:4:5: runtime error: stop"


def test_unknown_input_is_rejected(tmp_path: Path) -> None:
    pine = _write(tmp_path, "s.pine", STRATEGY)
    data = _write(tmp_path, "bars.csv", BARS_CSV)
    code, _out, err = _run(["backtest", pine, "--data", data, "--set", "nope=1"])
    assert code == 1 and "nope" in err


def test_trades_csv_matches_tradingview_export_for_macd_strategy(tmp_path: Path) -> None:
    if not REF.exists():
        return
    out_csv = tmp_path / "t.csv"
    code, _out, err = _run(["backtest", str(CORPUS / "tv_macd_strategy.pine"), "--data", str(REF / "ohlcv.csv"),
                            "--symbol", "OANDA:EURUSD", "--mintick", "0.00001", "--timeframe", "60",
                            "--trades-csv", str(out_csv)])
    assert code == 0, err
    ours = list(csv.reader(out_csv.read_text().splitlines()))
    ref = list(csv.reader((REF / "macd_trades.csv").read_text().splitlines()))
    # entry/exit rows: trade number, type, time, signal, price, qty must be identical
    assert [r[:6] for r in ours[:41]] == [r[:6] for r in ref[:41]]
