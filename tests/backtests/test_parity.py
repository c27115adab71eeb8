"""TradingView parity report: our run of TradingView's RSI template against its exported trade list."""

import pytest

from backtests import parity, selectors, services
from backtests.models import RunStatus

from .factories import TV_REFERENCE, strategy_version

pytestmark = pytest.mark.django_db

REFERENCE = (TV_REFERENCE / "rsi_trades.csv").read_bytes()


@pytest.fixture
def rsi_run(eurusd, trader, in_retail):
    run = services.start_backtest(trader, strategy_version(trader), symbol="FX:EURUSD", timeframe="60", enqueue=False)
    services.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def ours(run):
    return parity.run_trades_as_reference(selectors.trade_rows(run))


def test_the_tradingview_export_parses_into_trades_with_utc_times():
    trades = parity.read_tradingview_trades(REFERENCE)
    assert len(trades) == 194
    first = trades[0]
    assert (first.number, first.direction, first.entry_signal, first.entry_price) == (1, "long", "RsiLE", 1.13018)
    assert first.entry_time == 1641254400000  # 2022-01-03T19:00:00-0500
    assert trades[-1].is_open and trades[-1].exit_time is None


def test_our_run_of_the_rsi_template_matches_tradingview_trade_for_trade(rsi_run):
    report = parity.compare_trades(parity.read_tradingview_trades(REFERENCE), ours(rsi_run), mintick=0.00001)
    assert (report.matched, report.different, report.missing, report.extra) == (194, 0, 0, 0)
    assert report.match_rate == 1.0 and report.first_divergence is None


def test_missing_extra_and_different_trades_are_reported_with_the_first_divergence(rsi_run):
    lines = REFERENCE.decode().splitlines()
    header, rows = lines[0], lines[1:]
    rows = [r for r in rows if not r.startswith("5,")]  # TradingView has no trade 5 -> ours is "extra"
    rows = [r.replace("1.13554", "1.13560") if r.startswith("2,Entry") else r for r in rows]  # entry price differs
    report = parity.compare_trades(parity.read_tradingview_trades("\n".join([header, *rows])), ours(rsi_run), 0.00001)
    assert (report.matched, report.different, report.missing, report.extra) == (192, 1, 0, 1)
    assert report.match_rate == pytest.approx(192 / 194)
    divergence = report.first_divergence
    assert divergence.time == 1641769200000  # trade 2's entry, 2022-01-09T18:00-0500
    assert "entry price 1.13554 vs 1.1356" in divergence.what
    assert "slippage" in divergence.reason


def test_the_newer_one_row_per_trade_layout_is_accepted(rsi_run):
    rows = ["Trade #,Type,Entry time,Entry price,Entry signal,Exit time,Exit price,Exit signal,Quantity,Net P&L USD"]
    for t in ours(rsi_run):
        exit_time = "" if t.is_open else f"{t.exit_time}"
        rows.append(f"{t.number},{'Long' if t.direction == 'long' else 'Short'},{t.entry_time},{t.entry_price},{t.entry_signal},"
                    f"{exit_time},{t.exit_price or ''},{'Open' if t.is_open else t.exit_signal},{t.quantity},{round(t.profit, 2)}")
    report = parity.compare_trades(parity.read_tradingview_trades("\n".join(rows)), ours(rsi_run), 0.00001)
    assert report.match_rate == 1.0


def test_a_file_that_is_not_a_trade_list_is_rejected_with_a_line():
    with pytest.raises(parity.ParityFileError, match="line 1: no 'Trade #' column"):
        parity.read_tradingview_trades(b"time,open,high\n1,2,3\n")
    with pytest.raises(parity.ParityFileError, match="line 3: type 'Sideways'"):
        parity.read_tradingview_trades(REFERENCE.decode().replace("1,Exit long", "1,Sideways", 1))


def test_the_parity_page_compares_an_uploaded_export(rsi_run, trader, retail_tenant, client_on):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_on(retail_tenant, trader)
    response = client.post(f"/backtests/runs/{rsi_run.pk}/parity/", {"file": SimpleUploadedFile("rsi.csv", REFERENCE)})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="match-rate">100%' in body and "The trade lists are identical." in body
    assert body.count('class="parity-matched"') == 194


def test_the_newer_two_row_layout_with_exit_rows_first_is_accepted(rsi_run):
    lines = REFERENCE.decode().splitlines()
    header = lines[0].replace("Date/Time", "Date and time").replace("Run-up", "Favorable excursion").replace(
        "Drawdown", "Adverse excursion"
    )
    pairs = [lines[i : i + 2] for i in range(1, len(lines), 2)]
    newest_first = [row for pair in reversed(pairs) for row in reversed(pair)]  # exit row, then entry row
    report = parity.compare_trades(parity.read_tradingview_trades("\n".join([header, *newest_first])), ours(rsi_run), 0.00001)
    assert report.matched == 194 and report.match_rate == 1.0
