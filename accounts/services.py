from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django_tenants.utils import schema_context

from .models import Domain, Membership, Organization, Plan, User
from .selectors import effective_plan, retail_organization, user_by_email

PLAN_DEFAULTS: dict[str, dict] = {
    Plan.Code.FREE: dict(
        name="Free",
        max_accounts_per_binding=1,
        max_webhook_bindings=2,
        max_native_deployments=1,
        max_backtest_bars=200_000,
        max_concurrent_backtests=1,
        max_broker_accounts=2,
        allows_live_trading=False,
    ),
    Plan.Code.PRO: dict(
        name="Pro",
        max_accounts_per_binding=10,
        max_webhook_bindings=20,
        max_native_deployments=10,
        max_backtest_bars=2_000_000,
        max_concurrent_backtests=4,
        max_broker_accounts=20,
        allows_live_trading=True,
    ),
    Plan.Code.ENTERPRISE: dict(
        name="Enterprise",
        max_accounts_per_binding=200,
        max_webhook_bindings=500,
        max_native_deployments=200,
        max_backtest_bars=20_000_000,
        max_concurrent_backtests=16,
        max_broker_accounts=1000,
        allows_live_trading=True,
    ),
}


class PlanLimitExceeded(Exception):
    """A plan limit would be crossed; the message says which and how to lift it."""

    def __init__(self, limit: str, allowed: int, plan: Plan):
        self.limit = limit
        self.allowed = allowed
        self.plan = plan
        label = limit.replace("max_", "").replace("_", " ")
        super().__init__(f"Your {plan.name} plan allows at most {allowed} {label}. Upgrade to raise the limit.")


def ensure_plans() -> dict[str, Plan]:
    plans = {}
    for code, values in PLAN_DEFAULTS.items():
        plans[code], _ = Plan.objects.update_or_create(code=code, defaults=values)
    return plans


def check_plan_limit(user: User, limit: str, requested_total: int, organization: Organization | None = None) -> None:
    """Raise PlanLimitExceeded when `requested_total` (the count after the action) exceeds the plan's limit."""
    plan = effective_plan(user, organization)
    allowed = getattr(plan, limit)
    if requested_total > allowed:
        raise PlanLimitExceeded(limit, allowed, plan)


def check_live_trading_allowed(user: User, organization: Organization | None = None) -> None:
    plan = effective_plan(user, organization)
    if not plan.allows_live_trading:
        raise PlanLimitExceeded("allows_live_trading", 0, plan)


@transaction.atomic
def ensure_public_tenant() -> Organization:
    public, _ = Organization.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={"name": "4pass platform", "slug": "platform", "kind": Organization.Kind.PLATFORM},
    )
    Domain.objects.get_or_create(domain=settings.PUBLIC_HOST, defaults={"tenant": public, "is_primary": True})
    return public


def ensure_retail_tenant() -> Organization:
    """The shared tenant every retail sign-up lands in, served on the main application host."""
    retail = Organization.objects.filter(kind=Organization.Kind.RETAIL).first()
    if retail is None:
        retail = Organization(
            schema_name=settings.RETAIL_SCHEMA_NAME, name="4pass", slug="retail", kind=Organization.Kind.RETAIL
        )
        retail.save()  # creates and migrates the schema
    for host in (settings.APP_DOMAIN, "127.0.0.1"):
        Domain.objects.get_or_create(domain=host, defaults={"tenant": retail, "is_primary": host == settings.APP_DOMAIN})
    return retail


def create_business_organization(name: str, owner: User, plan: Plan | None = None, slug: str = "") -> Organization:
    """A B2B tenant (asset manager) with its own schema, reachable on <slug>.<APP_DOMAIN>."""
    slug = slugify(slug or name)[:50]
    if not slug:
        raise ValidationError({"name": "The organisation name must contain letters or digits."})
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"The organisation address '{slug}' is already taken."})
    organization = Organization(
        schema_name=f"org_{slug.replace('-', '_')}",
        name=name,
        slug=slug,
        kind=Organization.Kind.BUSINESS,
        plan=plan or Plan.objects.get(code=Plan.Code.ENTERPRISE),
    )
    organization.save()
    Domain.objects.create(domain=f"{slug}.{settings.APP_DOMAIN}", tenant=organization, is_primary=True)
    Membership.objects.create(user=owner, organization=organization, role=Membership.Role.OWNER)
    return organization


def add_member(organization: Organization, user: User, role: str = Membership.Role.TRADER) -> Membership:
    membership, _ = Membership.objects.update_or_create(user=user, organization=organization, defaults={"role": role})
    return membership


@transaction.atomic
def sign_up(email: str, password: str, display_name: str = "") -> User:
    """Create a retail user on the Free plan, member of the shared retail tenant."""
    email = email.strip()
    if user_by_email(email) is not None:
        raise ValidationError({"email": "An account with this e-mail address already exists. Log in instead."})
    user = User(username=email.lower(), email=email, first_name=display_name.strip()[:150])
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    user.set_password(password)
    user.plan = Plan.objects.get(code=Plan.Code.FREE)
    user.save()
    retail = retail_organization()
    Membership.objects.create(user=user, organization=retail, role=Membership.Role.OWNER)
    from brokers.services import ensure_default_paper_account  # every new user starts on paper

    with schema_context(retail.schema_name):
        ensure_default_paper_account(user)
    return user


def engage_kill_switch(*, user: User | None = None, organization: Organization | None = None) -> None:
    """Stop all trading of a user or a tenant; the execution paths check these flags before every order."""
    if user is not None:
        User.objects.filter(pk=user.pk).update(kill_switch_engaged=True)
    if organization is not None:
        Organization.objects.filter(pk=organization.pk).update(kill_switch_engaged=True)
