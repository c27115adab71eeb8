import pytest
from django_tenants.utils import schema_context

from accounts.models import Plan


@pytest.fixture
def trader(retail_tenant, member_of):
    return member_of(retail_tenant, plan=Plan.objects.get(code=Plan.Code.PRO))


@pytest.fixture
def web(client_on, retail_tenant, trader):
    return client_on(retail_tenant, trader)


@pytest.fixture
def in_retail(retail_tenant):
    with schema_context(retail_tenant.schema_name):
        yield retail_tenant


@pytest.fixture
def stranger(retail_tenant, member_of):
    return member_of(retail_tenant)


@pytest.fixture
def goog_series(db):
    """GOOG daily bars from backtesting.test stored as NASDAQ:GOOG 1D, as the demo seeds them."""
    import backtesting.test as packaged

    from backtests.marketdata.services import get_or_create_series, upsert_bars
    from fourpass.demo import frame_to_bars

    series = get_or_create_series("NASDAQ:GOOG", "1D", timezone="America/New_York", mintick="0.01",
                                  source="backtesting.test")
    upsert_bars(series, frame_to_bars(packaged.GOOG))
    return series
