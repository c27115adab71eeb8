"""Test set-up: a real PostgreSQL database with the public, retail and two business tenant schemas,
created once per session; each test runs in a transaction that is rolled back."""

import os

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts import services as account_services
from accounts.models import Membership, Organization, Plan
from tests.e2e.app import browser, running_app  # noqa: F401  (session fixtures shared by every directory)
from tests.factories import MembershipFactory, UserFactory, host_of

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        # Never seed a developer's database: only the throwaway test database pytest-django made.
        name = connection.settings_dict["NAME"]
        if not name.startswith("test_"):
            raise RuntimeError(f"refusing to seed test tenants into non-test database {name!r}")
        plans = account_services.ensure_plans()
        account_services.ensure_public_tenant()
        account_services.ensure_retail_tenant()
        founder = UserFactory(email="founder@example.com", plan=plans[Plan.Code.ENTERPRISE])
        for name in ("Alpha Capital", "Beta Capital"):
            if not Organization.objects.filter(name=name).exists():
                account_services.create_business_organization(name, founder, plans[Plan.Code.ENTERPRISE])
    yield


@pytest.fixture(autouse=True)
def _public_schema_after_each_test():
    yield
    connection.set_schema_to_public()


@pytest.fixture
def retail_tenant(db) -> Organization:
    return Organization.objects.get(kind=Organization.Kind.RETAIL)


@pytest.fixture
def tenant_a(db) -> Organization:
    return Organization.objects.get(name="Alpha Capital")


@pytest.fixture
def tenant_b(db) -> Organization:
    return Organization.objects.get(name="Beta Capital")


@pytest.fixture
def member_of():
    """member_of(tenant, role=owner) -> a new user who is a member of `tenant`."""

    def make(tenant: Organization, role: str = Membership.Role.OWNER, **user_fields):
        user = UserFactory(**user_fields)
        MembershipFactory(user=user, organization=tenant, role=role)
        return user

    return make


@pytest.fixture
def client_on():
    """client_on(tenant, user=None) -> a test client whose requests go to the tenant's host, logged in as user."""

    def make(tenant: Organization, user=None) -> Client:
        client = Client(HTTP_HOST=host_of(tenant))
        if user is not None:
            client.force_login(user, backend="accounts.backends.EmailTenantBackend")
        return client

    return make


@pytest.fixture
def in_schema():
    return schema_context
