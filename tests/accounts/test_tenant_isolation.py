"""A user of tenant A can neither read nor change tenant B's rows: not through views, the API or the admin."""

import pytest
from django_tenants.utils import schema_context

from strategies.models import Strategy
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def b_strategy(tenant_b, member_of):
    owner_b = member_of(tenant_b)
    with schema_context(tenant_b.schema_name):
        return StrategyFactory(owner=owner_b, name="Beta secret")


def test_tenants_have_separate_tables(tenant_a, b_strategy):
    with schema_context(tenant_a.schema_name):
        assert not Strategy.objects.filter(name="Beta secret").exists()


def test_a_session_from_tenant_a_is_not_valid_on_tenant_b_pages(client_on, tenant_a, tenant_b, member_of, b_strategy):
    intruder = member_of(tenant_a)
    response = client_on(tenant_b, intruder).get(f"/strategies/{b_strategy.pk}/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_api_refuses_members_of_other_tenants(client_on, tenant_a, tenant_b, member_of, b_strategy):
    intruder = member_of(tenant_a)
    client = client_on(tenant_b, intruder)
    assert client.get("/api/strategies/").status_code == 403
    assert client.patch(f"/api/strategies/{b_strategy.pk}/", {"name": "pwned"}, content_type="application/json").status_code == 403
    with schema_context(tenant_b.schema_name):
        assert Strategy.objects.get(pk=b_strategy.pk).name == "Beta secret"


def test_the_api_on_your_own_host_never_lists_another_tenants_rows(client_on, tenant_a, member_of, b_strategy):
    member = member_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        StrategyFactory(owner=member, name="Alpha mine")
    names = [row["name"] for row in client_on(tenant_a, member).get("/api/strategies/").json()["results"]]
    assert names == ["Alpha mine"]


def test_the_tenant_admin_is_closed_to_other_tenants_owners(client_on, tenant_a, tenant_b, member_of, b_strategy):
    owner_a = member_of(tenant_a)
    response = client_on(tenant_b, owner_a).get("/manage/strategies/strategy/")
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_tenant_admin_shows_only_the_own_tenants_rows(client_on, tenant_a, member_of, b_strategy):
    owner_a = member_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        StrategyFactory(owner=owner_a, name="Alpha visible")
    page = client_on(tenant_a, owner_a).get("/manage/strategies/strategy/").content.decode()
    assert "Alpha visible" in page
    assert "Beta secret" not in page


def test_viewers_cannot_change_rows_through_the_api(client_on, tenant_a, member_of):
    viewer = member_of(tenant_a, role="viewer")
    response = client_on(tenant_a, viewer).post("/api/strategies/", {"name": "nope"}, content_type="application/json")
    assert response.status_code == 403


def test_retail_users_sharing_a_tenant_see_only_their_own_strategies(client_on, retail_tenant, member_of):
    alice, bob = member_of(retail_tenant), member_of(retail_tenant)
    with schema_context(retail_tenant.schema_name):
        bobs = StrategyFactory(owner=bob, name="Bob's edge")
    client = client_on(retail_tenant, alice)
    assert client.get(f"/strategies/{bobs.pk}/").status_code == 404
    assert client.get("/api/strategies/").json()["results"] == []
    assert client.get(f"/api/strategies/{bobs.pk}/").status_code == 404
