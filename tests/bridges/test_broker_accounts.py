"""A tenant's BRIDGE broker account gets a bridge terminal and a working BridgeBroker."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridges import services
from bridges.broker import BridgeBroker
from bridges.crypto import decrypt_json
from bridges.models import BridgeInstance
from brokers.core.models import OrderRequest, OrderStatus, Side
from brokers.core.symbols import MarketType, NormalizedSymbol
from brokers.credentials import encrypt_credentials
from brokers.models import BrokerAccount

from .pool import AgentPool

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(tmp_path):
    agents = AgentPool(tmp_path)
    agents.spawn("win-acc")
    agents.register("win-acc")
    services.check_all_nodes()
    yield agents
    agents.stop_all()


@pytest.fixture
def bridge_account(tenant_a, member_of, in_schema):
    owner = member_of(tenant_a)
    with in_schema(tenant_a.schema_name):
        yield BrokerAccount.objects.create(
            owner=owner, name="MT5 demo", kind=BrokerAccount.Kind.BRIDGE, market_type=BrokerAccount.MarketType.FOREX,
            settings={"bridge_backend": "sim", "bridge_region": "eu", "venue": "OANDA"},
            credentials_encrypted=encrypt_credentials({"login": "880", "password": "demo-pass", "server": "SimBroker-Demo"}),
        )


def test_bridge_account_gets_a_running_terminal_in_its_tenant(pool, bridge_account, tenant_a):
    instance = services.ensure_instance_for_account(bridge_account)
    assert (instance.tenant_schema, instance.account_id, instance.status) == (
        tenant_a.schema_name, str(bridge_account.pk), BridgeInstance.Status.RUNNING
    )
    assert decrypt_json(instance.credentials_encrypted)["login"] == "880"


def test_bridge_account_trades_through_its_broker_service(pool, bridge_account):
    services.ensure_instance_for_account(bridge_account)
    broker = services.broker_for_account(bridge_account)
    assert isinstance(broker, BridgeBroker)
    eurusd = NormalizedSymbol("OANDA", "EUR", "USD", MarketType.FOREX)
    result = broker.place_order(OrderRequest(symbol=eurusd, side=Side.BUY, quantity=Decimal("20000"), client_order_id="acc-1"))
    assert result.status is OrderStatus.FILLED
    assert broker.positions()[0].symbol == eurusd


def test_releasing_the_account_stops_its_terminal(pool, bridge_account):
    services.ensure_instance_for_account(bridge_account)
    instance = services.release_instance_for_account(bridge_account)
    assert (instance.status, instance.should_run) == (BridgeInstance.Status.STOPPED, False)


def test_encryption_rotation_keeps_secrets_readable(pool, bridge_account, settings):
    from cryptography.fernet import Fernet

    instance = services.ensure_instance_for_account(bridge_account)
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode(), *settings.CREDENTIALS_KEYS]
    assert services.rotate_encryption() == 2
    instance.refresh_from_db()
    assert decrypt_json(instance.credentials_encrypted)["password"] == "demo-pass"
    settings.CREDENTIALS_KEYS = settings.CREDENTIALS_KEYS[:1]
    assert decrypt_json(instance.credentials_encrypted)["login"] == "880"


def test_changed_credentials_log_the_terminal_in_again(pool, bridge_account, in_schema, tenant_a):
    first = services.ensure_instance_for_account(bridge_account)
    with in_schema(tenant_a.schema_name):
        bridge_account.credentials_encrypted = encrypt_credentials(
            {"login": "881", "password": "demo-pass", "server": "SimBroker-Demo"}
        )
        second = services.ensure_instance_for_account(bridge_account)
    assert second.status == BridgeInstance.Status.RUNNING
    assert second.stream_id != first.stream_id
    assert pool.agents["win-acc"].client().account(second.instance_id)["login"] == "881"


def test_unchanged_request_leaves_the_running_terminal_alone(pool, bridge_account):
    first = services.ensure_instance_for_account(bridge_account)
    second = services.ensure_instance_for_account(bridge_account)
    assert second.stream_id == first.stream_id


def test_restart_logs_a_running_terminal_in_again_in_place(pool, bridge_account):
    instance = services.ensure_instance_for_account(bridge_account)
    restarted = services.restart_instance(instance, reason="operator")
    assert restarted.status == BridgeInstance.Status.RUNNING and restarted.node.node_id == "win-acc"
    assert restarted.events.filter(message__contains="restarted on win-acc").exists()


def test_refused_login_surfaces_as_authentication_failed(pool, bridge_account, in_schema, tenant_a):
    from brokers.core.errors import AuthenticationFailed

    with in_schema(tenant_a.schema_name):
        bridge_account.credentials_encrypted = encrypt_credentials({"login": "882", "password": ""})
        instance = services.ensure_instance_for_account(bridge_account)
        assert instance.status == BridgeInstance.Status.FAILED
        with pytest.raises(AuthenticationFailed):
            services.broker_for_account(bridge_account).validate_credentials()


def test_creating_a_bridge_account_through_the_brokers_service_requests_its_terminal(pool, tenant_a, member_of, in_schema):
    from brokers import services as broker_services

    owner = member_of(tenant_a, plan=None)
    with in_schema(tenant_a.schema_name):
        account = broker_services.create_broker_account(
            owner, name="MT5 via service", kind=BrokerAccount.Kind.BRIDGE, market_type=BrokerAccount.MarketType.FOREX,
            credentials={"login": "881", "password": "demo-pass", "server": "SimBroker-Demo"},
            settings={"bridge_backend": "sim", "venue": "OANDA"},
        )
        assert isinstance(broker_services.get_broker_service(account), BridgeBroker)
    instance = BridgeInstance.objects.get(tenant_schema=tenant_a.schema_name, account_id=str(account.pk))
    assert instance.should_run
    assert decrypt_json(instance.credentials_encrypted)["login"] == "881"


def test_a_bridge_account_without_a_terminal_login_is_refused_naming_the_fields(tenant_a, member_of, in_schema):
    from django.core.exceptions import ValidationError

    from brokers import services as broker_services

    with in_schema(tenant_a.schema_name), pytest.raises(ValidationError) as refused:
        broker_services.create_broker_account(
            member_of(tenant_a), name="MT5 no login", kind=BrokerAccount.Kind.BRIDGE,
            market_type=BrokerAccount.MarketType.FOREX, credentials={},
        )
    assert set(refused.value.message_dict) == {"login", "password", "server"}


def test_disabling_a_bridge_account_stops_its_terminal(pool, bridge_account, tenant_a, in_schema):
    from brokers import services as broker_services

    with in_schema(tenant_a.schema_name):
        services.ensure_instance_for_account(bridge_account)
        broker_services.set_enabled(bridge_account, False)
    instance = BridgeInstance.objects.get(tenant_schema=tenant_a.schema_name, account_id=str(bridge_account.pk))
    assert not instance.should_run
