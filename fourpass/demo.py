"""Demo data: plans, tenants, demo users, and real OHLCV shipped in the `backtesting` package."""

from dataclasses import dataclass
from datetime import UTC

import pandas as pd
from django.conf import settings
from django_tenants.utils import schema_context

from accounts import services as account_services
from accounts.models import Membership, Organization, Plan, User
from backtests.marketdata.services import Bar, get_or_create_series, upsert_bars


@dataclass(frozen=True)
class DemoDataset:
    attribute: str
    symbol: str
    timeframe: str
    timezone: str
    mintick: str


DEMO_DATASETS = [
    DemoDataset("GOOG", "NASDAQ:GOOG", "1D", "America/New_York", "0.01"),
    DemoDataset("EURUSD", "FX:EURUSD", "60", "Etc/UTC", "0.00001"),
    DemoDataset("BTCUSD", "BITSTAMP:BTCUSD", "1M", "Etc/UTC", "0.01"),
]


def frame_to_bars(frame: pd.DataFrame) -> list[Bar]:
    index = frame.index
    if index.tz is None:
        index = index.tz_localize(UTC)
    return [
        Bar(ts.to_pydatetime(), float(o), float(h), float(lo), float(c), float(v))
        for ts, o, h, lo, c, v in zip(
            index, frame["Open"], frame["High"], frame["Low"], frame["Close"], frame["Volume"], strict=True
        )
    ]


def seed_market_data() -> dict[str, int]:
    import backtesting.test as packaged

    counts = {}
    for dataset in DEMO_DATASETS:
        frame = getattr(packaged, dataset.attribute)
        series = get_or_create_series(
            dataset.symbol,
            dataset.timeframe,
            timezone=dataset.timezone,
            mintick=dataset.mintick,
            source="backtesting.test",
        )
        counts[dataset.symbol] = upsert_bars(series, frame_to_bars(frame))
    return counts


def ensure_user(email: str, password: str, plan: Plan, **flags) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(username=email.lower(), email=email, plan=plan, **flags)
        user.set_password(password)
        user.save()
    return user


def seed_demo() -> dict:
    plans = account_services.ensure_plans()
    account_services.ensure_public_tenant()
    retail = account_services.ensure_retail_tenant()
    demo = ensure_user(settings.DEMO_USER_EMAIL, settings.DEMO_USER_PASSWORD, plans[Plan.Code.PRO], first_name="Demo")
    account_services.add_member(retail, demo, Membership.Role.OWNER)
    staff = ensure_user(
        "staff@4pass.local", settings.DEMO_USER_PASSWORD, plans[Plan.Code.ENTERPRISE], is_staff=True, is_superuser=True
    )
    business = Organization.objects.filter(slug="demo-capital").first()
    if business is None:
        business = account_services.create_business_organization("Demo Capital", demo, plans[Plan.Code.ENTERPRISE])
    bars = seed_market_data()
    for hook in _tenant_seed_hooks():
        for tenant in (retail, business):
            with schema_context(tenant.schema_name):
                hook(tenant, demo)
    return {"retail": retail, "business": business, "demo_user": demo, "staff_user": staff, "bars": bars}


def _tenant_seed_hooks():
    """Apps add demo rows per tenant by defining `seed_demo_tenant(tenant, user)` in `<app>/demo.py`."""
    import importlib

    from django.apps import apps

    hooks = []
    for app_config in apps.get_app_configs():
        if app_config.name == "fourpass":
            continue
        try:
            module = importlib.import_module(f"{app_config.name}.demo")
        except ModuleNotFoundError as missing:
            if missing.name != f"{app_config.name}.demo":
                raise
            continue
        if hasattr(module, "seed_demo_tenant"):
            hooks.append(module.seed_demo_tenant)
    return hooks
