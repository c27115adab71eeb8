"""The order ticket end to end through the execution core and the persisted paper broker."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django_tenants.utils import schema_context

from brokers.core.calendars import is_open
from brokers.core.symbols import parse_tradingview
from execution.models import AuditEvent, Order, OrderEvent, SignalRecord

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def review(web, account, **fields):
    data = {"account": account.pk, "symbol": "BINANCE:BTCUSDT", "side": "buy", "quantity": "0.01",
            "order_type": "market"} | fields
    return web.post("/trade/ticket/review/", data, **HX)


def confirm(web, sheet_html: str):
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', sheet_html))
    return web.post("/trade/ticket/place/", fields, **HX), fields


def test_review_shows_the_exact_order_and_its_estimated_value(web, paper, btc_price):
    response = review(web, paper, quantity="0.0123456")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-confirm-qty>0.01234<' in html
    assert "≈ 617.00 USDT" in html
    assert "Quantity rounded down to 0.01234" in html
    assert "Place buy" in html


def test_a_ticket_error_is_shown_on_the_ticket_not_in_the_sheet(web, paper, btc_price):
    response = review(web, paper, quantity="0.00001")
    assert response["HX-Retarget"] == "#ticket-feedback"
    assert "below the minimum 5" in response.content.decode()


def test_a_confirmed_ticket_is_placed_through_the_core_with_a_manual_signal_and_full_audit(
    web, paper, btc_price, run_jobs, retail_tenant
):
    response, fields = confirm(web, review(web, paper).content.decode())
    assert response.status_code == 200
    assert "Sending to the broker" in response.content.decode()
    run_jobs()
    with schema_context(retail_tenant.schema_name):
        record = SignalRecord.objects.get()
        assert record.source == "manual"
        assert record.idempotency_key.endswith(fields["token"])
        order = Order.objects.get()
        assert (order.side, order.quantity, order.symbol, order.state) == ("buy", D("0.01"), "BINANCE:BTCUSDT", "filled")
        assert list(OrderEvent.objects.filter(order=order).values_list("to_state", flat=True)) == [
            "new", "submitted", "acknowledged", "filled"]
        assert list(AuditEvent.objects.filter(signal=record).values_list("stage", flat=True)) == [
            "dispatched", "sized", "submitted", "acknowledged", "filled"]
    outcome = web.get(f"/trade/ticket/outcome/{record.pk}/", **HX).content.decode()
    assert "Bought 0.01 BINANCE:BTCUSDT at 50000" in outcome
    assert "hx-trigger" not in outcome  # final: the sheet stops polling


def test_a_double_tap_on_confirm_places_one_order(web, paper, btc_price, run_jobs, retail_tenant):
    sheet = review(web, paper).content.decode()
    confirm(web, sheet)
    confirm(web, sheet)
    run_jobs()
    with schema_context(retail_tenant.schema_name):
        assert SignalRecord.objects.count() == 1
        assert Order.objects.count() == 1


def test_a_broker_refusal_is_shown_on_the_sheet_with_the_brokers_reason(web, paper, btc_price, run_jobs):
    response, _ = confirm(web, review(web, paper, quantity="10").content.decode())  # 500k USDT > 100k cash
    signal_id = re.search(r"/trade/ticket/outcome/(\d+)/", response.content.decode())[1]
    run_jobs()
    outcome = web.get(f"/trade/ticket/outcome/{signal_id}/", **HX).content.decode()
    assert "Order rejected" in outcome
    assert re.search(r"insufficient|not enough|cash", outcome, re.IGNORECASE), outcome


def test_an_order_in_a_closed_market_is_refused_with_the_next_open(web, paper, run_jobs):
    now = dt.datetime.now(dt.UTC)
    closed = next(s for s in ("TWSE:2330", "NASDAQ:GOOG") if not is_open(parse_tradingview(s), now))
    response, _ = confirm(web, review(web, paper, symbol=closed, quantity="1", order_type="limit",
                                      limit_price="100").content.decode())
    signal_id = re.search(r"/trade/ticket/outcome/(\d+)/", response.content.decode())[1]
    run_jobs()
    outcome = web.get(f"/trade/ticket/outcome/{signal_id}/", **HX).content.decode()
    assert "Order rejected" in outcome
    assert "is closed" in outcome and "next open" in outcome


def test_a_sell_to_close_never_sells_more_than_the_position(web, paper, btc_price, run_jobs, retail_tenant):
    confirm(web, review(web, paper, quantity="0.02").content.decode())
    run_jobs()
    sheet = review(web, paper, side="sell", quantity="5", close_only="on").content.decode()
    assert "Capped at the open position (0.02)" in sheet
    confirm(web, sheet)
    run_jobs()
    with schema_context(retail_tenant.schema_name):
        close = Order.objects.get(side="sell")
        assert (close.quantity, close.reduce_only, close.state) == (D("0.02"), True, "filled")


def test_a_plain_sell_beyond_the_holding_is_refused_on_a_spot_paper_account(web, paper, btc_price):
    response = review(web, paper, side="sell", quantity="1")
    assert "cannot sell short" in response.content.decode()


def test_viewers_cannot_place_orders(client_on, retail_tenant, member_of, btc_price):
    from brokers.services import ensure_default_paper_account

    viewer = member_of(retail_tenant, role="viewer")
    with schema_context(retail_tenant.schema_name):
        account = ensure_default_paper_account(viewer)
    response = review(client_on(retail_tenant, viewer), account)
    assert "Viewers cannot place orders" in response.content.decode()


def test_another_users_account_cannot_be_traded(web, btc_price, retail_tenant, member_of, paper):
    from brokers.services import ensure_default_paper_account

    other = member_of(retail_tenant)
    with schema_context(retail_tenant.schema_name):
        theirs = ensure_default_paper_account(other)
    sheet = review(web, theirs).content.decode()
    assert f'name="account" value="{paper.pk}"' in sheet  # falls back to the trader's own account


def test_the_instrument_panel_gives_the_steppers_lot_tick_price_and_position(web, paper, btc_price):
    html = web.get("/trade/ticket/instrument/", {"symbol": "binance:btcusdt", "account": paper.pk}, **HX).content.decode()
    assert 'data-qty-step="0.00001"' in html and 'data-tick="0.01"' in html
    assert 'data-price="50000"' in html and 'data-position="0"' in html


def test_an_unsupported_ticker_gets_the_symbol_layers_reason(web, paper):
    html = web.get("/trade/ticket/instrument/", {"symbol": "BTCUSDT", "account": paper.pk}, **HX).content.decode()
    assert "no exchange prefix" in html


def test_symbol_search_offers_known_tradable_series_and_hides_untradable_ones(web, paper, btc_price):
    html = web.get("/trade/ticket/symbols/", {"symbol": "btc"}, **HX).content.decode()
    assert 'data-symbol="BINANCE:BTCUSDT"' in html
    assert "BITSTAMP" not in html


def test_symbol_search_only_offers_venues_the_accounts_broker_trades(retail_tenant, trader, btc_price):
    from backtests.marketdata.services import get_or_create_series
    from brokers.models import BrokerAccount
    from execution.trading.selectors import search_symbols

    with schema_context("public"):
        get_or_create_series("NASDAQ:GOOG", "1D")
    with schema_context(retail_tenant.schema_name):
        bybit = BrokerAccount.objects.create(owner=trader, name="Bybit", kind="ccxt", exchange="bybit")
        alpaca = BrokerAccount.objects.create(owner=trader, name="Alpaca", kind="alpaca", market_type="stock")
        assert "BINANCE:BTCUSDT" not in search_symbols(trader, "", bybit)
        assert search_symbols(trader, "bybit:ethusdt", bybit) == ["BYBIT:ETHUSDT"]  # typed in full: offered
        assert search_symbols(trader, "", alpaca) == ["NASDAQ:GOOG"]
