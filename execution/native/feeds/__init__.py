"""Market-data feeds for native deployments, one per data source behind one interface (``BarFeed``).

Every feed stores CLOSED bars only (``store_closed_bars`` -> ``backtests.marketdata.services.upsert_bars``) and
then triggers the runner steps of the deployments on that series (``services.on_bars_stored``).
"""

from .base import BarFeed, ClosedBar, store_closed_bars

__all__ = ["BarFeed", "ClosedBar", "store_closed_bars"]
