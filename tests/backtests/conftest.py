import pytest
from django_tenants.utils import schema_context

from accounts.models import Membership

from .factories import TraderFactory, import_reference_bars


@pytest.fixture
def eurusd(db):
    return import_reference_bars()


@pytest.fixture
def trader(retail_tenant):
    user = TraderFactory()
    Membership.objects.create(user=user, organization=retail_tenant, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def in_retail(retail_tenant):
    with schema_context(retail_tenant.schema_name):
        yield retail_tenant
