"""The DRF API for backtests and its OpenAPI schema."""

import pytest

from backtests import services
from backtests.models import BacktestRun, RunStatus

from .factories import strategy_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(trader, retail_tenant, client_on):
    return client_on(retail_tenant, trader)


def test_starting_a_backtest_returns_202_with_the_queued_run(api, eurusd, trader, in_retail):
    version = strategy_version(trader)
    response = api.post("/api/backtests/", {"strategy_version": version.pk, "symbol": "FX:EURUSD", "timeframe": "60",
                                            "inputs": {"length": 10}}, content_type="application/json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["inputs"] == {"length": 10} and body["bars_total"] == 23054
    assert BacktestRun.objects.filter(pk=body["id"], owner=trader).exists()


def test_bad_requests_and_plan_limits_are_reported(api, eurusd, trader, in_retail):
    version = strategy_version(trader)
    bad = api.post("/api/backtests/", {"strategy_version": version.pk, "symbol": "NOPE:X", "timeframe": "60"},
                   content_type="application/json")
    assert bad.status_code == 400 and "No stored NOPE:X" in bad.json()["detail"]
    from accounts.models import Plan

    Plan.objects.filter(code=Plan.Code.PRO).update(max_concurrent_backtests=0)
    limited = api.post("/api/backtests/", {"strategy_version": version.pk, "symbol": "FX:EURUSD", "timeframe": "60"},
                       content_type="application/json")
    assert limited.status_code == 403 and "concurrent backtests" in limited.json()["detail"]


def test_results_and_sorted_trades_can_be_read(api, eurusd, trader, in_retail):
    run = services.start_backtest(trader, strategy_version(trader), symbol="FX:EURUSD", timeframe="60", enqueue=False)
    assert api.get(f"/api/backtests/{run.pk}/result/").status_code == 409
    services.execute_run(run.pk)
    detail = api.get(f"/api/backtests/{run.pk}/").json()
    assert detail["status"] == RunStatus.SUCCEEDED and detail["progress_percent"] == 100
    result = api.get(f"/api/backtests/{run.pk}/result/").json()
    assert result["trade_count"] == 194 and len(result["equity"]) == 23054 and "long" in result["summary"]
    trades = api.get(f"/api/backtests/{run.pk}/trades/?sort=-profit&limit=5").json()
    assert trades["count"] == 194 and len(trades["results"]) == 5
    profits = [t["profit"] for t in trades["results"]]
    assert profits == sorted(profits, reverse=True)


def test_cancel_through_the_api(api, eurusd, trader, in_retail):
    run = services.start_backtest(trader, strategy_version(trader), symbol="FX:EURUSD", timeframe="60", enqueue=False)
    assert api.post(f"/api/backtests/{run.pk}/cancel/").json()["status"] == "cancelled"


def test_the_openapi_schema_documents_the_backtest_endpoints(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/api/backtests/", "/api/backtests/{id}/cancel/", "/api/backtests/{id}/result/",
                 "/api/backtests/{id}/trades/", "/api/market-series/coverage/"):
        assert path in schema
    assert "StartBacktest" in schema
