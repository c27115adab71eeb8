"""Entry point for `dramatiq fourpass.worker`: sets Django up and imports every app's actors."""

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

# Resolve the URLconf now, not inside the first job: the first {% url %} a pushed fragment renders (a deployment
# card after a runner step, an order row) would import every app's URLconf and views there, seconds of CPU that
# delayed the first bar after a worker (re)start by as much.
from django.urls import get_resolver  # noqa: E402

get_resolver().reverse_dict  # noqa: B018
