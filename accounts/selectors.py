from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from .models import Membership, Organization, Plan, User


def retail_organization() -> Organization:
    return Organization.objects.get(kind=Organization.Kind.RETAIL)


def current_organization() -> Organization | None:
    """The tenant the database connection is set to, or None on the public schema."""
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Organization) or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return None
    return tenant


def membership_for(user: User, organization: Organization) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organization=organization).first()


def organizations_for(user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user=user).order_by("name")


def effective_plan(user: User, organization: Organization | None = None) -> Plan:
    """Business tenants carry the plan for all their members; retail users carry their own."""
    organization = organization or current_organization()
    if organization is not None and organization.kind == Organization.Kind.BUSINESS and organization.plan:
        return organization.plan
    if user.plan_id:
        return user.plan
    return Plan.objects.get(code=Plan.Code.FREE)


def user_by_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip()).first()
