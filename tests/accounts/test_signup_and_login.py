import pytest

from accounts.models import Membership, User
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_sign_up_creates_a_free_retail_member_and_logs_in(client_on, retail_tenant):
    client = client_on(retail_tenant)
    response = client.post(
        "/accounts/signup/", {"email": "New@Example.com", "password": "a-long-unusual-pass", "display_name": "Ann"}
    )
    assert response.status_code == 302
    user = User.objects.get(email__iexact="new@example.com")
    assert user.plan.code == "free"
    assert Membership.objects.filter(user=user, organization=retail_tenant).exists()
    assert client.get("/").status_code == 200


def test_sign_up_with_a_taken_email_says_so_whatever_the_case(client_on, retail_tenant):
    UserFactory(email="taken@example.com")
    response = client_on(retail_tenant).post(
        "/accounts/signup/", {"email": "TAKEN@example.com", "password": "a-long-unusual-pass"}
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_sign_up_with_a_weak_password_explains_the_rule(client_on, retail_tenant):
    response = client_on(retail_tenant).post("/accounts/signup/", {"email": "weak@example.com", "password": "123"})
    assert response.status_code == 400
    assert "too short" in response.content.decode()
    assert not User.objects.filter(email="weak@example.com").exists()


def test_sign_up_is_closed_on_a_business_tenant_host(client_on, tenant_a):
    response = client_on(tenant_a).post("/accounts/signup/", {"email": "x@example.com", "password": "a-long-unusual-pass"})
    assert response.status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()


def test_login_with_a_wrong_password_gives_a_clear_message(client_on, retail_tenant, member_of):
    user = member_of(retail_tenant)
    response = client_on(retail_tenant).post("/accounts/login/", {"email": user.email, "password": "wrong-password"})
    assert response.status_code == 400
    assert "e-mail address or password is incorrect" in response.content.decode()


def test_login_with_the_right_password_reaches_the_dashboard(client_on, retail_tenant, member_of):
    user = member_of(retail_tenant)
    client = client_on(retail_tenant)
    response = client.post("/accounts/login/", {"email": user.email.upper(), "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "Welcome" in client.get("/").content.decode()


def test_login_on_another_organisations_host_is_refused_with_a_reason(client_on, tenant_a, tenant_b, member_of):
    user = member_of(tenant_a)
    response = client_on(tenant_b).post("/accounts/login/", {"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "not a member of Beta Capital" in response.content.decode()


def test_unknown_tenant_host_gets_a_clear_404(client):
    response = client.get("/", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    assert "No organisation on 4pass is served at" in response.content.decode()
    assert "nobody.localhost" in response.content.decode()


def test_login_redirect_ignores_foreign_next_urls(client_on, retail_tenant, member_of):
    user = member_of(retail_tenant)
    response = client_on(retail_tenant).post(
        "/accounts/login/?next=https://evil.example/", {"email": user.email, "password": TEST_PASSWORD}
    )
    assert response["Location"] == "/"


def test_a_new_user_starts_with_a_paper_account(client_on, retail_tenant):
    from django_tenants.utils import schema_context

    from brokers.models import BrokerAccount

    client_on(retail_tenant).post("/accounts/signup/", {"email": "paper@example.com", "password": "a-long-unusual-pass"})
    user = User.objects.get(email="paper@example.com")
    with schema_context(retail_tenant.schema_name):
        account = BrokerAccount.objects.get(owner_id=user.pk)
    assert account.kind == BrokerAccount.Kind.PAPER and account.is_default
