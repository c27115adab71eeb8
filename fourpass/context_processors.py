from django.conf import settings
from django.urls import reverse

from accounts.selectors import current_organization

NAVIGATION = [
    ("Dashboard", "dashboard"),
    ("Trade", "trading:home"),
    ("Strategies", "strategies:list"),
    ("Backtests", "backtests:list"),
    ("Accounts", "brokers:list"),
    ("Webhooks", "webhooks:list"),
    ("Deployments", "native:list"),
    ("Bridges", "bridges:list"),
]


def tenant(request) -> dict:
    organization = current_organization()
    items = []
    if organization is not None:
        for label, name in NAVIGATION:
            url = reverse(name)
            active = request.path == url if name == "dashboard" else request.path.startswith(url)
            items.append({"label": label, "url": url, "active": active})
    return {
        "tenant_name": organization.name if organization is not None else "",
        "membership": getattr(request, "membership", None),
        "nav_items": items,
        "vapid_public_key": settings.VAPID_PUBLIC_KEY,
    }
