"""The trade screen's tabs: one server-rendered URL per tab, panel-only responses for htmx, live targets."""

import json
import re

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Plan
from tests.webhooks.factories import link, make_binding
from webhooks import services as webhook_services
from webhooks.models import Alert

pytestmark = pytest.mark.django_db

PANEL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "tab-panel"}


@pytest.mark.parametrize("tab", ["positions", "orders", "alerts", "deployments"])
def test_each_tab_has_its_own_full_page_with_that_tab_selected(web, paper, tab):
    html = web.get(f"/trade/{tab}/").content.decode()
    assert '<form id="ticket"' in html
    assert re.search(rf'id="tab-{tab}"[^>]*aria-selected="true"', html, re.S)
    assert f'data-tab="{tab}"' in html.split('id="tab-panel"', 1)[1]


@pytest.mark.parametrize("tab", ["positions", "orders", "alerts", "deployments"])
def test_an_htmx_request_for_the_panel_gets_only_the_tab_content(web, paper, tab):
    html = web.get(f"/trade/{tab}/", **PANEL).content.decode()
    assert html.lstrip().startswith(f'<div class="tab-content" data-tab="{tab}">')
    assert "<form" not in html


def test_trade_redirects_to_positions_keeping_the_account(web, paper):
    response = web.get(f"/trade/?account={paper.pk}")
    assert response.status_code == 302 and response["Location"] == f"/trade/positions/?account={paper.pk}"


def test_the_page_listens_for_live_events(web, paper):
    html = web.get("/trade/orders/").content.decode()
    assert 'hx-ext="ws" ws-connect="/ws/events/"' in html
    assert 'id="order-rows"' in html  # the core's pushed order rows land here


def test_the_positions_tab_shows_a_filled_buy_with_a_close_button(web, paper, btc_price, run_jobs):
    sheet = web.post("/trade/ticket/review/", {"account": paper.pk, "symbol": "BINANCE:BTCUSDT", "side": "buy",
                                               "quantity": "0.02", "order_type": "market"}, HTTP_HX_REQUEST="true")
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', sheet.content.decode()))
    web.post("/trade/ticket/place/", fields, HTTP_HX_REQUEST="true")
    run_jobs()
    html = web.get("/trade/positions/", **PANEL).content.decode()
    assert 'data-symbol="BINANCE:BTCUSDT"' in html
    assert 'data-side="sell" data-quantity="0.02"' in html
    assert "USDT" in html  # cash after the buy


def test_the_alerts_tab_shows_each_alert_with_the_orders_it_produced(
    client_on, retail_tenant, member_of, btc_price, run_jobs
):
    from brokers.services import ensure_default_paper_account

    owner = member_of(retail_tenant, plan=Plan.objects.get(code=Plan.Code.PRO))
    with schema_context(retail_tenant.schema_name):
        account = ensure_default_paper_account(owner)
        _binding, token = make_binding(owner, links=[link(account.pk)], ip_allowlist=["52.89.214.238"])
    hook = Client(REMOTE_ADDR="52.89.214.238")
    body = {"id": "a1", "ticker": "BINANCE:BTCUSDT", "action": "buy", "contracts": "0.01", "close": "50000"}
    assert hook.post(f"/hook/{token}", json.dumps(body), content_type="application/json").status_code == 200
    with schema_context(retail_tenant.schema_name):
        for alert in Alert.objects.filter(status=Alert.Status.ACCEPTED):
            webhook_services.process_alert(alert.pk)
    run_jobs()
    html = client_on(retail_tenant, owner).get("/trade/alerts/", **PANEL).content.decode()
    assert "Test binding" in html
    assert "buy 0.01 BINANCE:BTCUSDT" in html
    assert "badge-filled" in html


def test_the_deployments_tab_lists_native_deployments_and_offers_to_deploy(web, paper):
    html = web.get("/trade/deployments/", **PANEL).content.decode()
    assert "No native deployments yet." in html
    assert 'href="/deployments/"' in html and 'href="/deployments/new/' in html


def test_an_unknown_tab_is_not_found(web):
    assert web.get("/trade/settings/").status_code == 404
