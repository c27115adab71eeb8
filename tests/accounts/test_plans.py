import pytest

from accounts.models import Plan
from accounts.services import PlanLimitExceeded, check_live_trading_allowed, check_plan_limit

pytestmark = pytest.mark.django_db


def test_free_plan_allows_one_account_per_webhook_binding(member_of, retail_tenant):
    user = member_of(retail_tenant)
    check_plan_limit(user, "max_accounts_per_binding", 1, retail_tenant)
    with pytest.raises(PlanLimitExceeded, match="Free plan allows at most 1 accounts per binding"):
        check_plan_limit(user, "max_accounts_per_binding", 2, retail_tenant)


def test_business_tenants_use_the_organisations_plan_for_every_member(member_of, tenant_a):
    user = member_of(tenant_a)  # the user's own plan is Free
    check_plan_limit(user, "max_accounts_per_binding", 50, tenant_a)


def test_free_plan_cannot_trade_live(member_of, retail_tenant):
    with pytest.raises(PlanLimitExceeded):
        check_live_trading_allowed(member_of(retail_tenant), retail_tenant)


def test_pro_plan_can_trade_live(member_of, retail_tenant):
    check_live_trading_allowed(member_of(retail_tenant, plan=Plan.objects.get(code="pro")), retail_tenant)
