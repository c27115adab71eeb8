"""Trade-list export (CSV layout, JSON dict) and summary statistics of the broker emulator."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from strategies.pine.runtime.broker import BacktestResult, StrategyConfig, StrategyEmulator, SymbolInfo
from strategies.pine.runtime.report import csv_header, result_to_dict, trades_csv, trades_csv_rows
from strategies.pine.runtime.stats import max_drawdown, monthly_returns, sharpe_sortino

HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
NY = SymbolInfo(ticker="TEST", mintick=0.01, type="stock", timezone="America/New_York")


def _run(bars, actions, config=None, symbol=NY) -> BacktestResult:
    emu = StrategyEmulator(config or StrategyConfig(initial_capital=10_000.0), symbol)
    for i, (o, h, lo, c) in enumerate(bars):
        emu.process_bar(i, T0 + i * HOUR, o, h, lo, c)
        if i in actions:
            actions[i](emu)
        emu.after_script(i)
    return emu.finish()


def _two_trades() -> BacktestResult:
    bars = [(100, 100, 100, 100), (100, 104, 99, 102), (105, 106, 104, 105), (105, 105, 105, 105),
            (103, 103, 101, 102), (102, 102, 102, 102)]
    return _run(bars, {0: lambda e: e.entry("L", "long", qty=2, comment="go long"),
                       1: lambda e: e.close("L", comment="flat"),
                       3: lambda e: e.entry("S", "short", qty=1)})


def test_csv_has_tradingview_header_and_entry_then_exit_rows() -> None:
    rows = trades_csv_rows(_two_trades())
    assert rows[0] == csv_header("USD")
    assert [r[1] for r in rows[1:]] == ["Entry long", "Exit long", "Entry short", "Exit short"]
    entry, exit_ = rows[1], rows[2]
    # 2024-01-01T01:00Z is 20:00 the previous day in New York (EST, -0500)
    assert entry[:7] == ["1", "Entry long", "2023-12-31T20:00:00-0500", "go long", "100", "2", "200"]
    assert exit_[:5] == ["1", "Exit long", "2023-12-31T21:00:00-0500", "flat", "105"]
    assert entry[7:] == exit_[7:]  # the P&L cells repeat on both rows
    assert entry[7] == "10"  # net P&L 2 * (105 - 100)


def test_csv_marks_the_open_trade_with_signal_open() -> None:
    rows = trades_csv_rows(_two_trades())
    assert rows[-1][1:4:2] == ["Exit short", "Open"]
    assert rows[-1][4] == "102"  # marked at the last close


def test_csv_money_cells_keep_a_significant_digit() -> None:
    from strategies.pine.runtime.report import _money

    assert (_money(261.144), _money(0.00091), _money(0.00006), _money(-25.5), _money(0.0)) == \
        ("261.14", "0.001", "0.0001", "-25.5", "0")


def test_csv_text_round_trips() -> None:
    text = trades_csv(_two_trades())
    assert text.splitlines()[0].startswith("Trade #,Type,Date/Time,Signal,Price USD")
    assert len(text.splitlines()) == 5


def test_json_dict_uses_iso_utc_times_and_is_serialisable() -> None:
    d = result_to_dict(_two_trades(), include_events=True)
    json.dumps(d, allow_nan=False)
    first = d["trades"][0]
    assert (first["entry_time"], first["exit_time"]) == ("2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z")
    assert (first["entry_signal"], first["exit_signal"], first["profit"]) == ("go long", "flat", 10.0)
    assert d["trades"][1]["is_open"] is True
    assert len(d["equity"]) == 6
    assert {e["kind"] for e in d["events"]} >= {"new", "fill"}


def test_summary_counts_and_profit_figures() -> None:
    s = _two_trades().summary
    assert (s["total_closed_trades"], s["winning_trades"], s["losing_trades"]) == (1, 1, 0)
    assert s["net_profit"] == 10
    assert s["net_profit_pct"] == pytest.approx(0.1)
    assert s["open_pl"] == pytest.approx(1.0)  # short 1 from the bar-4 open 103, marked at 102
    assert s["long"]["total_closed_trades"] == 1 and s["short"]["total_closed_trades"] == 0
    assert s["avg_bars_in_trades"] == 1
    assert math.isnan(s["profit_factor"])  # no losing trade: undefined, like TradingView's "N/A"


def test_summary_profit_factor_and_averages() -> None:
    bars = [(100, 100, 100, 100)] + [(100 + k, 100 + k, 100 + k, 100 + k) for k in (0, 6, 6, 2, 2)]
    res = _run(bars, {0: lambda e: e.entry("A", "long"), 1: lambda e: e.close("A"),
                      2: lambda e: e.entry("B", "long"), 3: lambda e: e.close("B")})
    s = res.summary
    # A: 100 -> 106 (+6); B: 106 -> 102 (-4)
    assert (s["gross_profit"], s["gross_loss"], s["profit_factor"]) == (6, 4, 1.5)
    assert (s["avg_winning_trade"], s["avg_losing_trade"], s["ratio_avg_win_avg_loss"]) == (6, 4, 1.5)
    assert (s["largest_winning_trade"], s["largest_losing_trade"]) == (6, 4)
    assert s["percent_profitable"] == 50


def test_max_drawdown_uses_intrabar_equity() -> None:
    # equity peaks at 110 (bar high), later trough at 95 (bar low): drawdown 15, % of the peak
    hi = np.array([100.0, 110.0, 104.0])
    lo = np.array([100.0, 103.0, 95.0])
    dd, pct = max_drawdown(hi, lo, 100.0)
    assert dd == 15 and pct == pytest.approx(15 / 110 * 100)


def test_monthly_returns_and_sharpe() -> None:
    # month-end equity 101, 103.02, 101.9898 from 100 -> returns 1%, 2%, -1%
    jan, feb, mar = 1_704_067_200_000, 1_706_745_600_000, 1_709_251_200_000
    r = monthly_returns(np.array([jan, feb, mar]), np.array([101.0, 103.02, 101.9898]), 100.0)
    assert r == pytest.approx([0.01, 0.02, -0.01])
    sharpe, sortino = sharpe_sortino(r)
    rf = 0.02 / 12
    excess = float(np.mean(r)) - rf
    assert sharpe == pytest.approx(excess / float(np.std(r)))
    downside = np.minimum(r - rf, 0.0)
    assert sortino == pytest.approx(excess / math.sqrt(float(np.mean(downside**2))))


def test_buy_and_hold_return() -> None:
    s = _two_trades().summary
    # first open 100, last close 102: 2% of 10,000
    assert s["buy_and_hold_return_pct"] == pytest.approx(2.0)
    assert s["buy_and_hold_return"] == pytest.approx(200.0)


def test_new_layout_puts_the_exit_row_first_with_short_local_times() -> None:
    rows = trades_csv_rows(_two_trades(), layout="new")
    assert rows[0][:7] == ["Trade #", "Type", "Date and time", "Signal", "Price USD", "Size (qty)",
                           "Size (value)"]
    assert rows[0][9] == "Favorable excursion USD" and rows[0][11] == "Adverse excursion USD"
    assert [r[1] for r in rows[1:3]] == ["Exit long", "Entry long"]
    assert rows[2][2] == "2023-12-31 20:00"


def test_unknown_layout_is_rejected() -> None:
    with pytest.raises(ValueError, match="layout"):
        trades_csv_rows(_two_trades(), layout="fancy")
