"""The editor's Backtest button starts a run of the latest version with the inputs panel's values."""

import json

from django.urls import reverse

from backtests.models import BacktestRun
from strategies import services
from tests.strategies.factories import GOOD_SOURCE, make_strategy


def test_backtest_starts_a_run_with_the_input_overrides_and_leads_to_its_page(web, trader, in_retail, goog_series):
    strategy = make_strategy(trader)
    version = services.save_version(strategy, GOOD_SOURCE)
    response = web.post(reverse("strategies:backtest", args=[strategy.pk]), {
        "symbol": "NASDAQ:GOOG", "timeframe": "1D", "inputs": json.dumps({"fastLength": 12, "useShorts": True})})
    run = BacktestRun.objects.get(strategy_version=version)
    assert response.status_code == 302
    assert response["Location"] == reverse("backtests:run", args=[run.pk])
    assert (run.symbol, run.timeframe, run.inputs) == ("NASDAQ:GOOG", "1D", {"fastLength": 12, "useShorts": True})


def test_backtest_with_an_input_out_of_range_is_refused_with_the_reason(web, trader, in_retail, goog_series):
    strategy = make_strategy(trader)
    services.save_version(strategy, GOOD_SOURCE)
    response = web.post(reverse("strategies:backtest", args=[strategy.pk]), {
        "symbol": "NASDAQ:GOOG", "timeframe": "1D", "inputs": json.dumps({"fastLength": 500})}, follow=True)
    assert not BacktestRun.objects.exists()
    assert "Backtest not started" in response.content.decode()


def test_backtest_without_a_saved_version_explains_what_to_do(web, trader, in_retail):
    strategy = make_strategy(trader)
    response = web.post(reverse("strategies:backtest", args=[strategy.pk]), {"symbol": "NASDAQ:GOOG", "timeframe": "1D"},
                        follow=True)
    assert "Save a version before running a backtest." in response.content.decode()


def test_the_editor_links_deploy_to_the_native_deployment_form_with_the_version(web, trader, in_retail):
    strategy = make_strategy(trader)
    version = services.save_version(strategy, GOOD_SOURCE)
    page = web.get(reverse("strategies:detail", args=[strategy.pk])).content.decode()
    assert f'href="{reverse("native:create")}?version={version.pk}"' in page


def test_backtest_passes_the_chosen_date_range(web, trader, in_retail, goog_series):
    strategy = make_strategy(trader)
    services.save_version(strategy, GOOD_SOURCE)
    web.post(reverse("strategies:backtest", args=[strategy.pk]), {
        "symbol": "NASDAQ:GOOG", "timeframe": "1D", "date_from": "2010-01-01", "date_to": "2011-12-31"})
    run = BacktestRun.objects.get()
    assert (run.date_from.isoformat(), run.date_to.date().isoformat()) == ("2010-01-01T00:00:00+00:00", "2011-12-31")


def test_backtest_with_a_malformed_date_explains_the_format(web, trader, in_retail, goog_series):
    strategy = make_strategy(trader)
    services.save_version(strategy, GOOD_SOURCE)
    response = web.post(reverse("strategies:backtest", args=[strategy.pk]), {
        "symbol": "NASDAQ:GOOG", "timeframe": "1D", "date_from": "31/01/2010"}, follow=True)
    assert "Dates must look like 2024-01-31." in response.content.decode()
    assert not BacktestRun.objects.exists()
