"""The backtests UI: start a run, results page, HTMX trade table, chart data, exports, sweeps, market data."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backtests import services
from backtests.models import BacktestRun, ParameterSweep, RunStatus
from strategies.models import StrategyVersion

from .factories import MA_CROSS_STRATEGY, RSI_STRATEGY, TV_REFERENCE, strategy_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(trader, retail_tenant, client_on):
    return client_on(retail_tenant, trader)


@pytest.fixture
def finished_run(eurusd, trader, in_retail):
    run = services.start_backtest(trader, strategy_version(trader), symbol="FX:EURUSD", timeframe="60", enqueue=False)
    services.execute_run(run.pk)
    run.refresh_from_db()
    return run


def test_a_pine_strategy_can_be_created_from_source_and_is_preselected(client, eurusd, trader, in_retail):
    response = client.post("/backtests/strategies/new/", {"name": "RSI", "source": RSI_STRATEGY})
    version = StrategyVersion.objects.get(strategy__owner=trader, strategy__name="RSI")
    assert response.status_code == 302 and response["Location"].endswith(f"?version={version.pk}")
    page = client.get(response["Location"]).content.decode()
    assert f'<option value="{version.pk}" selected>RSI v1</option>' in page
    assert 'name="input__length"' in page and 'min="2"' in page


def test_a_strategy_with_compile_errors_shows_them_with_line_and_column(client, in_retail):
    response = client.post("/backtests/strategies/new/", {"name": "Broken", "source": "//@version=6\nstrategy(\"x\")\nplot(nope)\n"})
    assert response.status_code == 400
    assert "Broken.pine:3:" in response.content.decode()


def test_starting_a_backtest_from_the_form_queues_it_and_redirects_to_its_page(client, eurusd, trader, in_retail):
    version = strategy_version(trader)
    response = client.post("/backtests/", {
        "version": version.pk, "symbol": "FX:EURUSD", "timeframe": "4h", "date_from": "2023-01-01", "date_to": "2023-12-31",
        "initial_capital": "5000", "input__length": "21",
    })
    run = BacktestRun.objects.get(owner=trader)
    assert response.status_code == 302 and response["Location"] == f"/backtests/runs/{run.pk}/"
    assert (run.timeframe, run.inputs, run.initial_capital, run.status) == ("240", {"length": 21}, 5000, RunStatus.QUEUED)
    assert run.date_from.isoformat() == "2023-01-01T00:00:00+00:00"
    page = client.get(response["Location"]).content.decode()
    assert 'ws-connect="/ws/events/"' in page and 'hx-trigger="every 2s"' in page and "Queued" in page


def test_an_out_of_range_input_is_refused_on_the_form(client, eurusd, trader, in_retail):
    version = strategy_version(trader)
    response = client.post("/backtests/", {"version": version.pk, "symbol": "FX:EURUSD", "timeframe": "60", "input__length": "500"})
    assert response.status_code == 400 and not BacktestRun.objects.exists()
    assert "must be" in response.content.decode()


def test_the_results_page_shows_statistics_trades_and_chart_containers(client, finished_run):
    page = client.get(f"/backtests/runs/{finished_run.pk}/").content.decode()
    assert 'id="price-chart"' in page and 'id="equity-chart"' in page and 'id="drawdown-chart"' in page
    assert "<th scope=\"row\">Net Profit</th>" in page and "<th>Long</th>" in page and "<th>Short</th>" in page
    assert page.count('class="bt-trade"') == 50  # first page of 194 trades
    assert "Page 1 of 4 (194 trades)" in page


def test_the_trade_table_sorts_and_pages_through_htmx(client, finished_run):
    response = client.get(f"/backtests/runs/{finished_run.pk}/trades/?sort=-profit&page=2", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Page 2 of 4" in body
    profits = [t.profit for t in finished_run.trades.order_by("-profit", "number")[50:52]]
    first_row = body.split('class="bt-trade"')[1]
    assert f"{profits[0]:.2f}" in first_row


def test_chart_data_has_candles_markers_for_every_trade_and_plot_overlays(client, finished_run):
    data = client.get(f"/backtests/runs/{finished_run.pk}/chart.json").json()
    assert len(data["candles"]["time"]) == 23054
    assert len(data["markers"]) == 194 * 2 - 1  # the last trade is still open
    assert data["timezone"] == "America/New_York"
    assert data["candles"]["time"][0] == 1641160800 - 5 * 3600  # 2022-01-02 17:00 New York, as local seconds
    assert set(data["plots"]) == {"RSI"} and len(data["plots"]["RSI"]) == 23054
    assert len(data["equity"]) == len(data["buy_and_hold"]) == len(data["drawdown_pct"]) == 23054
    times = [m["time"] for m in data["markers"]]
    assert times == sorted(times)


def test_the_tradingview_layout_export_reproduces_the_reference_trade_rows(client, finished_run):
    body = client.get(f"/backtests/runs/{finished_run.pk}/export/trades-tradingview.csv").content.decode()
    ours = list(csv.reader(io.StringIO(body)))
    reference = list(csv.reader(io.StringIO((TV_REFERENCE / "rsi_trades.csv").read_text())))
    assert ours[0] == reference[0]
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours[1:], reference[1:], strict=True):
        assert mine[:6] == theirs[:6] or theirs[3] == "Open"  # trade, type, time, signal, price, qty


def test_statistics_and_plain_trade_exports_are_csv(client, finished_run):
    stats = list(csv.reader(io.StringIO(client.get(f"/backtests/runs/{finished_run.pk}/export/stats.csv").content.decode())))
    assert stats[0] == ["Statistic", "All", "Long", "Short"]
    assert stats[1][0] == "Net Profit" and float(stats[1][1]) == pytest.approx(finished_run.result.summary["net_profit"])
    trades = client.get(f"/backtests/runs/{finished_run.pk}/export/trades.csv")
    assert trades["Content-Type"].startswith("text/csv") and len(trades.content.decode().splitlines()) == 195


def test_other_users_cannot_see_a_run(finished_run, retail_tenant, client_on, member_of):
    stranger = client_on(retail_tenant, member_of(retail_tenant))
    assert stranger.get(f"/backtests/runs/{finished_run.pk}/").status_code == 404
    assert stranger.get(f"/backtests/runs/{finished_run.pk}/chart.json").status_code == 404


def test_a_sweep_queues_one_run_per_combination_and_shows_a_heatmap(client, eurusd, trader, in_retail):
    version = strategy_version(trader, MA_CROSS_STRATEGY)
    base = services.start_backtest(trader, version, symbol="FX:EURUSD", timeframe="240", enqueue=False)
    response = client.post(f"/backtests/runs/{base.pk}/sweep/", {
        "sweep__fast": "on", "from__fast": "4", "to__fast": "8", "step__fast": "2",
        "sweep__slow": "on", "from__slow": "20", "to__slow": "40", "step__slow": "10", "metric": "net_profit",
    })
    sweep = ParameterSweep.objects.get(owner=trader)
    assert response.status_code == 302
    assert sweep.parameters == [
        {"name": "fast", "values": [4, 6, 8], "title": "Fast"}, {"name": "slow", "values": [20, 30, 40], "title": "Slow"}
    ]
    runs = list(sweep.runs.all())
    assert len(runs) == 9 and {(r.inputs["fast"], r.inputs["slow"]) for r in runs} == {(f, s) for f in (4, 6, 8) for s in (20, 30, 40)}
    for run in runs:
        services.execute_run(run.pk)
    page = client.get(sweep.get_absolute_url()).content.decode()
    assert 'id="sweep-heatmap"' in page and "9 / 9 backtests finished" in page
    assert page.count("background:hsl(") == 9
    best = max(runs, key=lambda r: BacktestRun.objects.get(pk=r.pk).result.summary["net_profit"])
    table = page.split('id="sweep-table"')[1]
    assert table.index(f"/backtests/runs/{best.pk}/") < min(table.index(f"/backtests/runs/{r.pk}/") for r in runs if r.pk != best.pk)


def test_the_market_data_page_imports_a_csv_and_reports_the_first_bad_line(client, in_retail):
    good = b"time,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n2024-01-01T01:00:00Z,1.5,2,1,1.2,5\n"
    response = client.post("/backtests/data/", {"file": SimpleUploadedFile("g.csv", good), "symbol": "TEST:UP",
                                                "timeframe": "60", "timezone": "Etc/UTC"})
    assert response.status_code == 302
    assert "TEST:UP" in client.get("/backtests/data/").content.decode()
    bad = good.replace(b"1.5,2,1,1.2", b"1.5,0.1,1,1.2")
    response = client.post("/backtests/data/", {"file": SimpleUploadedFile("b.csv", bad), "symbol": "TEST:BAD2",
                                                "timeframe": "60", "timezone": "Etc/UTC"})
    assert response.status_code == 400
    assert "b.csv: line 3: high 0.1 is below low 1. Nothing was imported." in response.content.decode()


def test_the_gap_report_lists_missing_bars(client, in_retail):
    rows = ["time,open,high,low,close"] + [f"2024-01-01T{h:02d}:00:00Z,1,1,1,1" for h in range(24) if h not in (5, 6, 7)]
    client.post("/backtests/data/", {"file": SimpleUploadedFile("g.csv", "\n".join(rows).encode()), "symbol": "BINANCE:HOLE",
                                     "timeframe": "60", "timezone": "Etc/UTC"})
    from backtests.marketdata.models import MarketSeries

    series = MarketSeries.objects.get(symbol="BINANCE:HOLE")
    body = client.get(f"/backtests/data/{series.pk}/gaps/", HTTP_HX_REQUEST="true").content.decode()
    assert "1 gap" in body and "2024-01-01 04:00 → 2024-01-01 08:00 UTC (3 bars)" in body


def test_listing_runs_does_not_load_their_per_bar_arrays(client, finished_run):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/backtests/")
    assert response.status_code == 200 and "194" in response.content.decode()
    assert not any('"arrays"' in q["sql"] for q in queries.captured_queries)


def test_a_failed_run_page_shows_the_error_with_its_pine_line(client, eurusd, trader, in_retail):
    from .factories import FAILING_STRATEGY

    run = services.start_backtest(trader, strategy_version(trader, FAILING_STRATEGY), symbol="FX:EURUSD", timeframe="60",
                                  enqueue=False)
    services.execute_run(run.pk)
    page = client.get(f"/backtests/runs/{run.pk}/").content.decode()
    assert "The backtest failed at line 4:" in page
    assert "4 | x = array.get(arr, 5)" in page


def test_chart_data_of_a_long_run_keeps_the_most_recent_bars(client, finished_run, monkeypatch):
    from backtests import selectors

    monkeypatch.setattr(selectors, "CHART_MAX_BARS", 1000)
    data = client.get(f"/backtests/runs/{finished_run.pk}/chart.json").json()
    assert data["truncated_bars"] == 23054 - 1000
    assert len(data["candles"]["time"]) == len(data["equity"]) == len(data["plots"]["RSI"]) == 1000
    assert data["series_time"][0] == data["candles"]["time"][0]
    assert all(m["time"] >= data["candles"]["time"][0] for m in data["markers"])
