"""Broker accounts in the database: encryption at rest, validation on save, plan limits, key rotation,
the persisted paper broker, and the account pages."""

import datetime as dt
from decimal import Decimal as D

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django_tenants.utils import schema_context

from accounts.models import Plan
from backtests.marketdata.services import Bar, get_or_create_series, upsert_bars
from brokers import services
from brokers.core.errors import BrokerError, InsufficientFunds
from brokers.core.models import OrderRequest, OrderStatus, OrderType, Side
from brokers.core.paper import Bar as PaperBar
from brokers.core.symbols import parse_tradingview
from brokers.credentials import decrypt_credentials, redacted
from brokers.models import BrokerAccount, PaperOrder
from brokers.paper_store import DbPaperBroker
from tests.brokers.fake_exchanges.binance import FakeBinance
from tests.brokers.fake_exchanges.server import FakeMarket, FakeServer, Venue

pytestmark = pytest.mark.django_db
BTC = parse_tradingview("BINANCE:BTCUSDT")


@pytest.fixture
def binance():
    venue = Venue([FakeMarket("BTCUSDT", "spot", "BTC", "USDT", D("0.1"), D("0.001"), D("0.001"), D(5), price=D(20000))],
                  {"USDT": D(1000)})
    server = FakeServer(FakeBinance(venue, api_key="live-key-ABCD1234", secret="s3cret-value")).start()
    yield server
    server.stop()


@pytest.fixture
def trader(retail_tenant, member_of):
    user = member_of(retail_tenant)
    with schema_context(retail_tenant.schema_name):
        yield user


def ccxt_account(user, server, secret="s3cret-value", name="Binance"):
    return services.create_broker_account(
        user, name=name, kind="ccxt", exchange="binance", market_type="spot",
        credentials={"api_key": "live-key-ABCD1234", "secret": secret},
        settings={"api_base_url": server.url, "sandbox": False},
    )


def test_credentials_are_encrypted_at_rest_and_only_last4_is_kept(trader, binance):
    account = ccxt_account(trader, binance)
    stored = BrokerAccount.objects.get(pk=account.pk)
    assert "s3cret-value" not in stored.credentials_encrypted
    assert "live-key" not in stored.credentials_encrypted
    assert stored.credentials_last4 == "1234"
    assert decrypt_credentials(stored.credentials_encrypted)["secret"] == "s3cret-value"
    assert stored.validated_at is not None


def test_wrong_secret_is_refused_on_save_with_the_brokers_reason(trader, binance):
    with pytest.raises(ValidationError, match="refused these credentials"):
        ccxt_account(trader, binance, secret="wrong")
    assert not BrokerAccount.objects.filter(owner_id=trader.pk, kind="ccxt").exists()


def test_redacted_credentials_never_print_secrets():
    assert "hunter2" not in repr(redacted({"api_key": "k", "secret": "hunter2", "passphrase": "hunter2"}))


def test_plan_limits_the_number_of_accounts(trader):
    limit = trader.plan.max_broker_accounts
    for n in range(limit):
        services.create_broker_account(trader, name=f"Paper {n}", kind="paper")
    with pytest.raises(ValidationError, match=f"allows at most {limit} broker accounts"):
        services.create_broker_account(trader, name="One too many", kind="paper")


def test_live_trading_needs_a_plan_that_allows_it(trader, binance):
    assert trader.plan.code == Plan.Code.FREE
    with pytest.raises(ValidationError, match="does not include live trading"):
        services.create_broker_account(
            trader, name="Live", kind="ccxt", exchange="binance", market_type="spot", is_live=True,
            credentials={"api_key": "live-key-ABCD1234", "secret": "s3cret-value"},
        )


def test_rotation_re_encrypts_under_the_new_first_key(trader, binance, settings):
    account = ccxt_account(trader, binance)
    old_keys = list(settings.CREDENTIALS_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.CREDENTIALS_KEYS = [new_key, *old_keys]
    assert services.rotate_credentials_key() == 1
    token = BrokerAccount.objects.get(pk=account.pk).credentials_encrypted
    assert Fernet(new_key).decrypt(token.encode())  # decrypts with the new key alone


def test_rotate_command_walks_every_tenant(trader, binance, settings, capsys):
    ccxt_account(trader, binance)
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode(), *settings.CREDENTIALS_KEYS]
    call_command("rotate_credentials_key")
    out = capsys.readouterr().out
    assert "retail: 1 account(s) re-encrypted" in out


def test_factory_returns_a_working_ccxt_service(trader, binance):
    service = services.get_broker_service(ccxt_account(trader, binance))
    assert {b.asset for b in service.balances()} == {"USDT"}


def test_api_base_url_must_stay_on_this_host(trader):
    account = BrokerAccount(owner=trader, name="x", kind="ccxt", exchange="binance", market_type="spot",
                            settings={"api_base_url": "http://10.0.0.5:8080"})
    with pytest.raises(BrokerError, match="must point at this host"):
        services.get_broker_service(account, credentials={"api_key": "k", "secret": "s"})


def test_every_user_gets_a_default_paper_account(trader):
    account = services.ensure_default_paper_account(trader)
    assert (account.kind, account.is_default) == ("paper", True)
    assert services.ensure_default_paper_account(trader).pk == account.pk
    assert services.paper_cash(account)["USD"] == D(100_000)


@pytest.fixture
def stored_btc_price(db):
    with schema_context("public"):
        series = get_or_create_series("BINANCE:BTCUSDT", "1")
        upsert_bars(series, [Bar(dt.datetime(2026, 11, 27, 7, 0, tzinfo=dt.UTC), 20000, 20100, 19900, 20050, 3)])


def test_paper_market_order_fills_at_latest_stored_bar_and_persists(trader, stored_btc_price):
    account = services.ensure_default_paper_account(trader)
    broker = services.get_broker_service(account)
    result = broker.place_order(OrderRequest(BTC, Side.BUY, D("0.5"), "p-1"))
    assert (result.status, result.average_price) == (OrderStatus.FILLED, D(20050))
    fresh = DbPaperBroker(account)  # another worker / after a restart
    assert fresh.get_order(client_order_id="p-1").filled_quantity == D("0.5")
    assert {p.symbol: p.quantity for p in fresh.positions()} == {BTC: D("0.5")}
    assert services.paper_cash(account)["USDT"] == D(100_000) - D("10025")


def test_paper_retry_with_same_client_id_does_not_fill_twice(trader, stored_btc_price):
    account = services.ensure_default_paper_account(trader)
    broker = services.get_broker_service(account)
    broker.place_order(OrderRequest(BTC, Side.BUY, D("0.5"), "p-1"))
    services.get_broker_service(account).place_order(OrderRequest(BTC, Side.BUY, D("0.5"), "p-1"))
    assert PaperOrder.objects.filter(account=account).count() == 1
    assert services.paper_cash(account)["USDT"] == D(100_000) - D("10025")


def test_paper_rejection_is_recorded(trader, stored_btc_price):
    account = services.ensure_default_paper_account(trader)
    with pytest.raises(InsufficientFunds):
        services.get_broker_service(account).place_order(OrderRequest(BTC, Side.BUY, D(100), "big"))
    assert PaperOrder.objects.get(account=account, client_order_id="big").status == "rejected"


def test_paper_resting_limit_fills_on_a_later_bar(trader, stored_btc_price):
    account = services.ensure_default_paper_account(trader)
    broker = services.get_broker_service(account)
    broker.place_order(OrderRequest(BTC, Side.BUY, D(1), "lim", OrderType.LIMIT, price=D(19500)))
    DbPaperBroker(account).process_bar(BTC, PaperBar(D(19900), D(19950), D(19400), D(19600)))
    assert DbPaperBroker(account).get_order(client_order_id="lim").status is OrderStatus.FILLED


def test_paper_burst_is_placed_in_one_transaction_with_per_order_outcomes(trader, stored_btc_price):
    account = services.ensure_default_paper_account(trader)
    broker = DbPaperBroker(account)
    outcomes = broker.place_orders([
        OrderRequest(BTC, Side.BUY, D("0.5"), "b-1"),
        OrderRequest(BTC, Side.BUY, D(100), "b-2"),  # more than the cash
        OrderRequest(BTC, Side.SELL, D("0.5"), "b-3"),
        OrderRequest(BTC, Side.BUY, D("0.5"), "b-1"),  # retry of b-1
    ])
    assert outcomes[0].status is OrderStatus.FILLED
    assert isinstance(outcomes[1], InsufficientFunds)
    assert outcomes[2].status is OrderStatus.FILLED
    assert outcomes[3].broker_order_id == outcomes[0].broker_order_id
    assert PaperOrder.objects.filter(account=account).count() == 3


def test_periodic_matching_fills_resting_orders_from_new_stored_bars(trader, stored_btc_price):
    account = services.ensure_default_paper_account(trader)
    services.get_broker_service(account).place_order(
        OrderRequest(BTC, Side.BUY, D(1), "lim", OrderType.LIMIT, price=D(19500))
    )
    assert services.match_resting_paper_orders() == 0  # the stored bar predates the order
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    with schema_context("public"):
        series = get_or_create_series("BINANCE:BTCUSDT", "1")
        upsert_bars(series, [Bar(later, 19900, 19950, 19400, 19600, 5)])
    assert services.match_resting_paper_orders() == 1
    order = DbPaperBroker(account).get_order(client_order_id="lim")
    assert (order.status, order.average_price) == (OrderStatus.FILLED, D(19500))
    assert services.match_resting_paper_orders() == 0  # the bar is not replayed


# ------------------------------------------------------------------------------------------ pages


def test_account_page_lists_the_default_paper_account(client_on, retail_tenant, trader):
    response = client_on(retail_tenant, trader).get("/brokers/")
    assert response.status_code == 200
    assert b"Paper" in response.content


def test_adding_an_account_validates_and_never_echoes_the_secret(client_on, retail_tenant, trader, binance):
    client = client_on(retail_tenant, trader)
    account = ccxt_account(trader, binance)
    page = client.get(f"/brokers/{account.pk}/").content.decode()
    assert "s3cret-value" not in page
    assert "…1234" in page


def test_add_form_shows_the_brokers_refusal(client_on, retail_tenant, trader):
    client = client_on(retail_tenant, trader)
    response = client.post("/brokers/new/", {
        "name": "Alpaca", "kind": "alpaca", "market_type": "stock", "api_key": "", "secret": "",
    })
    assert response.status_code == 400
    assert b"Required." in response.content


def test_add_paper_account_through_the_form(client_on, retail_tenant, trader):
    client = client_on(retail_tenant, trader)
    response = client.post("/brokers/new/", {"name": "Paper 2", "kind": "paper", "market_type": "spot"})
    assert response.status_code == 302
    assert BrokerAccount.objects.filter(owner_id=trader.pk, name="Paper 2").exists()


def test_test_button_reports_balances(client_on, retail_tenant, trader):
    account = services.ensure_default_paper_account(trader)
    response = client_on(retail_tenant, trader).post(f"/brokers/{account.pk}/test/", HTTP_HX_REQUEST="true")
    assert b"Connected." in response.content
    assert b"USD" in response.content


def test_disable_toggles_the_account(client_on, retail_tenant, trader):
    account = services.ensure_default_paper_account(trader)
    client_on(retail_tenant, trader).post(f"/brokers/{account.pk}/toggle/")
    account.refresh_from_db()
    assert account.enabled is False
    with pytest.raises(BrokerError, match="disabled"):
        services.get_broker_service(account)


def test_other_users_accounts_are_not_reachable(client_on, retail_tenant, trader, member_of):
    account = services.ensure_default_paper_account(trader)
    other = member_of(retail_tenant)
    assert client_on(retail_tenant, other).get(f"/brokers/{account.pk}/").status_code == 404
