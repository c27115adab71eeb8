import pytest
from django_tenants.utils import schema_context

from accounts.models import Plan
from execution.models import AccountExecution
from execution.native import services
from execution.services import execute_account


@pytest.fixture
def trader(retail_tenant, member_of):
    user = member_of(retail_tenant)
    user.plan = Plan.objects.get(code=Plan.Code.PRO)
    user.save(update_fields=["plan"])
    return user


@pytest.fixture
def in_retail(retail_tenant):
    with schema_context(retail_tenant.schema_name):
        yield retail_tenant


@pytest.fixture(autouse=True)
def _fresh_runners():
    services.forget_runners()
    services.fault_hook = None
    yield
    services.forget_runners()
    services.fault_hook = None


def run_pending_executions() -> int:
    """What the execution workers do: carry out every pending per-account job (in creation order)."""
    ran = 0
    for execution_id in AccountExecution.objects.filter(
            status__in=[AccountExecution.Status.PENDING, AccountExecution.Status.RUNNING]).order_by("id"
                                                                                                 ).values_list("pk", flat=True):
        execute_account(execution_id)
        ran += 1
    return ran


def settle(deployment_id: int) -> None:
    """Run execution jobs and hand over the signals that waited for them, until nothing is left to do."""
    while True:
        ran = run_pending_executions()
        sent = services.dispatch_pending(deployment_id, retry=False).sent
        if not ran and not sent:
            return
