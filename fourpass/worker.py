"""Entry point for `dramatiq fourpass.worker`: sets Django up and imports every app's actors."""

import gc
import importlib
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
# A worker thread keeps its database connection between messages: a new PostgreSQL backend per message costs a
# fork, authentication and a cold catalog cache (the first queries on every table), several ms of CPU per job
# on both sides. The actors call close_old_connections() around every message, which still drops connections
# that errored or failed the health check (CONN_HEALTH_CHECKS), so a long-lived one is safe.
os.environ.setdefault("CONN_MAX_AGE", "600")
django.setup()

from django.apps import apps  # noqa: E402

import fourpass.tasks  # noqa: E402, F401  (installs the broker)

importlib.import_module("fourpass.actors")
for app_config in apps.get_app_configs():
    try:
        importlib.import_module(f"{app_config.name}.actors")
    except ModuleNotFoundError as missing:
        if missing.name != f"{app_config.name}.actors":
            raise


def _warm_up() -> None:
    """Import the URL configuration and the live-update templates now: the first job would otherwise pay for it
    (over a second, importing every view, ccxt and pandas) in the middle of an order fan-out."""
    from django.conf import settings
    from django.template.loader import get_template
    from django.urls import get_resolver

    for urlconf in {settings.ROOT_URLCONF, getattr(settings, "PUBLIC_SCHEMA_URLCONF", settings.ROOT_URLCONF)}:
        get_resolver(urlconf).reverse_dict  # noqa: B018 (building it imports every view)
    for name in ("execution/partials/order_row.html", "webhooks/partials/alert_row.html"):
        get_template(name)
    # the Pine compiler's first program costs ~40 ms (parser set-up, runtime imports), paid otherwise by the first
    # bar of the native deployments after a worker start, while every other step waits for the interpreter lock
    from strategies.pine.runtime.engine import ensure_compiled

    ensure_compiled('//@version=6\nstrategy("warm-up")\nif close > open\n    strategy.entry("L", strategy.long)\n',
                    "warm-up.pine")
    # all of that lives as long as the process: out of the collector's reach, a full collection no longer walks
    # it (88 ms for a loaded Django process here, a stall in the middle of whatever jobs are running)
    gc.freeze()


_warm_up()
