"""Tenant page listing the tenant's bridge terminals; staff admin of nodes and instances; periodic actors."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from bridges import actors
from bridges.crypto import decrypt_text
from bridges.models import BridgeInstance, BridgeNode
from fourpass.scheduler import discover_jobs
from tests.factories import UserFactory

from .factories import BridgeInstanceFactory, BridgeNodeFactory

pytestmark = pytest.mark.django_db


def test_tenant_page_lists_only_the_tenants_own_terminals(client_on, tenant_a, tenant_b, member_of):
    BridgeInstanceFactory(tenant_schema=tenant_a.schema_name, account_id="mt5-alpha", last_error="")
    BridgeInstanceFactory(tenant_schema=tenant_b.schema_name, account_id="mt5-beta")
    response = client_on(tenant_a, member_of(tenant_a)).get("/bridges/")
    assert response.status_code == 200
    assert b"mt5-alpha" in response.content
    assert b"mt5-beta" not in response.content


def test_tenant_page_shows_failures_and_history(client_on, tenant_a, member_of):
    instance = BridgeInstanceFactory(
        tenant_schema=tenant_a.schema_name, account_id="mt5-x", status=BridgeInstance.Status.FAILED,
        last_error="start on win-1 failed: broker refused login", node=None,
    )
    instance.events.create(kind="error", from_status="running", to_status="failed", message="node down")
    content = client_on(tenant_a, member_of(tenant_a)).get("/bridges/").content.decode()
    assert "broker refused login" in content and "node down" in content and "unassigned" in content


def test_tenant_page_requires_login(client_on, tenant_a):
    response = client_on(tenant_a).get("/bridges/")
    assert response.status_code == 302


@pytest.fixture
def staff_client(client_on, retail_tenant) -> Client:
    # The same admin.site is mounted on tenant hosts; the platform host's admin currently crashes in the
    # foundation's nav context processor (see the xfail below), so these tests go through a tenant host.
    return client_on(retail_tenant, UserFactory(is_staff=True, is_superuser=True))


def test_staff_admin_on_the_platform_host_lists_nodes():
    BridgeNodeFactory(node_id="win-platform")
    client = Client(HTTP_HOST=settings.PUBLIC_HOST)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert b"win-platform" in client.get("/admin/bridges/bridgenode/").content


def test_staff_admin_lists_nodes_and_instances(staff_client):
    node = BridgeNodeFactory(node_id="win-eu-7")
    BridgeInstanceFactory(node=node, account_id="acct-admin")
    assert b"win-eu-7" in staff_client.get("/admin/bridges/bridgenode/").content
    page = staff_client.get("/admin/bridges/bridgeinstance/")
    assert page.status_code == 200 and b"acct-admin" in page.content


def test_staff_admin_never_shows_credentials(staff_client):
    instance = BridgeInstanceFactory()
    page = staff_client.get(f"/admin/bridges/bridgeinstance/{instance.pk}/change/").content.decode()
    assert "credentials" not in page.lower()
    assert instance.credentials_encrypted not in page


def test_staff_admin_adds_a_node_with_an_encrypted_secret(staff_client):
    secret = "n" * 40
    response = staff_client.post("/admin/bridges/bridgenode/add/", {
        "node_id": "win-new", "address": "https://win-new.example:8740", "region": "ap", "capacity": 6,
        "new_secret": secret,
    })
    assert response.status_code == 302
    node = BridgeNode.objects.get(node_id="win-new")
    assert secret not in node.secret_encrypted
    assert decrypt_text(node.secret_encrypted) == secret
    assert node.status == BridgeNode.Status.DOWN


def test_heartbeat_actor_counts_a_missed_heartbeat_for_an_unreachable_node():
    node = BridgeNodeFactory(address="http://127.0.0.1:1")
    # The body without the actor wrapper's connection recycling, which would close the test transaction.
    actors.check_bridge_nodes.fn.__wrapped__()
    node.refresh_from_db()
    assert node.missed_heartbeats == 1 and node.last_error


def test_bridge_jobs_are_scheduled():
    targets = {job.target for job in discover_jobs()}
    assert {"bridges.actors:check_bridge_nodes", "bridges.actors:pump_bridge_events"} <= targets


def test_overlapping_heartbeat_rounds_are_skipped():
    import hashlib

    import psycopg
    from django.db import connection

    from bridges import services

    node = BridgeNodeFactory(address="http://127.0.0.1:1")
    key = int.from_bytes(hashlib.sha256(b"bridges.check_all_nodes").digest()[:8], "big", signed=True)
    params = connection.get_connection_params()
    with psycopg.connect(
        dbname=params["dbname"], user=params.get("user"), host=params.get("host"), port=params.get("port"),
        autocommit=True,
    ) as other_round:
        other_round.execute("SELECT pg_advisory_lock(%s)", [key])
        report = services.check_all_nodes()
    node.refresh_from_db()
    assert report.missed == [] and node.missed_heartbeats == 0
