"""Entry point for `dramatiq fourpass.worker`: sets Django up and imports every app's actors."""

import gc
import importlib
import logging
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


_WARM_UP_PINE = """//@version=6
strategy("warm-up", overlay = true)
fast = ta.sma(close, 3)
slow = ta.sma(close, 8)
if ta.crossover(fast, slow) and bar_index > 8 and strategy.position_size == 0
    strategy.entry("L", strategy.long)
if ta.crossunder(fast, slow)
    strategy.close("L")
plot(fast)
"""


def _warm_up_pine() -> None:
    """Compile and run a small strategy: the compiler's set-up and the runtime's lazily imported modules cost the
    first native step after a worker start ~40 ms and ~25 ms (more where Python cannot cache bytecode), paid
    while every other step of that bar waited for the interpreter lock."""
    import numpy as np

    from strategies.pine.runtime.broker import SymbolInfo
    from strategies.pine.runtime.engine import Bars, ensure_compiled, run_backtest

    closes = 100 + 5 * np.sin(np.arange(60) / 4)
    hour_ms = 3_600_000
    bars = Bars(time_ms=np.arange(60) * hour_ms + 1_700_000_000_000 // hour_ms * hour_ms, open=closes, high=closes + 1,
                low=closes - 1, close=closes, volume=np.ones(60))
    run_backtest(ensure_compiled(_WARM_UP_PINE, "warm-up.pine"), bars, SymbolInfo(), timeframe="60")


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
    _warm_up_pine()
    # all of that lives as long as the process: out of the collector's reach, a full collection no longer walks
    # it (88 ms for a loaded Django process here, a stall in the middle of whatever jobs are running)
    gc.freeze()


def _restore_runners() -> None:
    """After the freeze: runners are replaced bar after bar and must stay collectable."""
    from django.db import connection

    from execution.native.services import restore_runners

    try:
        restore_runners()
    except Exception:  # the steps restore what is missing
        logging.getLogger(__name__).warning("restoring the native runners at start failed", exc_info=True)
    finally:
        connection.close()  # this thread takes no jobs; worker threads open their own connections


_warm_up()
_restore_runners()
