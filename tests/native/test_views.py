"""Deployment pages: list, deploy form, detail with log, controls; usable at phone width (layout classes)."""

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
