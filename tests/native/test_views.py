"""Deployment pages: list, deploy form, detail with log, controls; usable at phone width (layout classes)."""

import html

from django.urls import reverse

from execution.native.models import Deployment, DeploymentEvent
from tests.native.factories import (
    EVERY_BAR_STRATEGY,
    deploy,
    goog_bars_hourly,
    make_paper_account,
    make_series,
    make_version,
)


def test_the_nav_points_deployments_at_the_native_list(in_retail, trader, client_on):
    response = client_on(in_retail, trader).get(reverse("native:list"))
    assert response.status_code == 200
    assert f'href="{reverse("native:list")}"' in response.content.decode()
    assert "Deploy a strategy" in response.content.decode()


def test_the_deploy_form_creates_a_paper_deployment(in_retail, trader, client_on):
    series = make_series(bars=goog_bars_hourly(80))
    version = make_version(trader, EVERY_BAR_STRATEGY)
    account = make_paper_account(trader)
    client = client_on(in_retail, trader)
    assert client.get(reverse("native:create")).status_code == 200

    response = client.post(reverse("native:create"), {
        "name": "my bot", "strategy_version": version.pk, "series": series.pk, "inputs": "", "mode": "paper",
        "accounts": [account.pk], "sizing_mode": "as_alert", "sizing_value": "1", "stale_policy": "skip",
    })

    deployment = Deployment.objects.get(name="my bot")
    assert response.status_code == 302 and response.url == reverse("native:detail", args=[deployment.pk])
    assert deployment.status == "starting" and deployment.routes[0]["account_id"] == account.pk
    assert DeploymentEvent.objects.filter(deployment=deployment, kind="created", actor=trader).exists()


def test_a_live_deploy_without_confirmation_is_refused_with_the_reason(in_retail, trader, client_on):
    series = make_series(bars=goog_bars_hourly(80))
    account = make_paper_account(trader)
    response = client_on(in_retail, trader).post(reverse("native:create"), {
        "strategy_version": make_version(trader).pk, "series": series.pk, "mode": "live", "accounts": [account.pk],
        "sizing_mode": "as_alert", "sizing_value": "1", "stale_policy": "skip",
    })
    assert response.status_code == 400
    assert "must be confirmed" in response.content.decode()
    assert not Deployment.objects.exists()


def test_bad_inputs_json_is_reported_on_the_field(in_retail, trader, client_on):
    series = make_series(bars=goog_bars_hourly(80))
    response = client_on(in_retail, trader).post(reverse("native:create"), {
        "strategy_version": make_version(trader).pk, "series": series.pk, "mode": "paper", "inputs": "{nope",
        "accounts": [make_paper_account(trader).pk], "sizing_mode": "as_alert", "sizing_value": "1",
        "stale_policy": "skip",
    })
    assert response.status_code == 400 and "not valid JSON" in response.content.decode()


def test_the_detail_page_shows_status_log_and_controls_and_pause_works(in_retail, trader, client_on):
    series = make_series(bars=goog_bars_hourly(80))
    deployment = deploy(trader, make_version(trader, EVERY_BAR_STRATEGY), series, [make_paper_account(trader)])
    client = client_on(in_retail, trader)

    page = client.get(reverse("native:detail", args=[deployment.pk])).content.decode()
    assert "Running" in page or "running" in page
    assert "warmed up on 80 bars" in page
    assert 'ws-connect="/ws/events/"' in page
    assert reverse("native:pause", args=[deployment.pk]) in page

    client.post(reverse("native:pause", args=[deployment.pk]))
    deployment.refresh_from_db()
    assert deployment.status == "paused"


def test_someone_elses_deployment_is_not_found(in_retail, trader, member_of, client_on):
    series = make_series(bars=goog_bars_hourly(80))
    deployment = deploy(trader, make_version(trader, EVERY_BAR_STRATEGY), series, [make_paper_account(trader)])
    stranger = member_of(in_retail)
    client = client_on(in_retail, stranger)
    assert client.get(reverse("native:detail", args=[deployment.pk])).status_code == 404
    assert client.post(reverse("native:stop", args=[deployment.pk])).status_code == 404


INPUT_STRATEGY = """//@version=6
strategy("With input", overlay=true, default_qty_type=strategy.fixed, default_qty_value=1)
length = input.int(14, "Length")
if ta.crossover(close, ta.sma(close, length))
    strategy.entry("L", strategy.long)
if ta.crossunder(close, ta.sma(close, length))
    strategy.close("L")
"""


def test_the_deploy_form_starts_from_the_editors_input_values(in_retail, trader, client_on):
    series = make_series(bars=goog_bars_hourly(80))
    version = make_version(trader, INPUT_STRATEGY)
    client = client_on(in_retail, trader)
    url = reverse("native:create")

    page = client.get(url, {"version": version.pk, "series": series.pk, "inputs": '{"length": 9}'}).content.decode()

    assert '"length": 9' in html.unescape(page)
    response = client.post(url, {
        "name": "tuned", "strategy_version": version.pk, "series": series.pk, "inputs": '{"length": 9}',
        "mode": "paper", "accounts": [make_paper_account(trader).pk], "sizing_mode": "as_alert", "sizing_value": "1",
        "stale_policy": "skip",
    })
    assert response.status_code == 302 and Deployment.objects.get(name="tuned").inputs == {"length": 9}


def test_the_deploy_form_ignores_inputs_that_are_not_a_json_object(in_retail, trader, client_on):
    version = make_version(trader, INPUT_STRATEGY)
    page = client_on(in_retail, trader).get(reverse("native:create"),
                                            {"version": version.pk, "inputs": "[1, 2"}).content.decode()
    assert "[1, 2" not in page


def test_the_deploy_form_shows_the_latest_backtest_of_the_version(in_retail, trader, client_on):
    from backtests import services as backtest_services
    from strategies import services as strategy_services

    series = make_series(bars=goog_bars_hourly(300))
    version = strategy_services.save_version(strategy_services.create_strategy(trader, "Backtested"), INPUT_STRATEGY)
    older = backtest_services.start_backtest(trader, version, symbol=series.symbol, timeframe="60", enqueue=False)
    latest = backtest_services.start_backtest(trader, version, symbol=series.symbol, timeframe="60",
                                              inputs={"length": 9}, enqueue=False)
    backtest_services.execute_run(latest.pk)
    latest.refresh_from_db()
    assert latest.status == "succeeded", latest.error

    page = client_on(in_retail, trader).get(reverse("native:create"), {"version": version.pk}).content.decode()

    assert f"Backtest #{latest.pk}" in page and f"Backtest #{older.pk}<" not in page
    assert f"{latest.result.summary['net_profit']:.2f}" in page and "<code>length = 9</code>" in page
    # another version's deploy form does not show it
    other = client_on(in_retail, trader).get(reverse("native:create"),
                                             {"version": make_version(trader).pk}).content.decode()
    assert 'id="latest-backtest"' not in other
