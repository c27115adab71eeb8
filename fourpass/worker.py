"""Entry point for `dramatiq fourpass.worker`: sets Django up and imports every app's actors."""

import importlib
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fourpass.settings")
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
