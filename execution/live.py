"""Pushes of order, signal and alert events to users' open pages (see fourpass.realtime)."""

from fourpass.realtime import is_watched
from fourpass.realtime import push_to_user as push

__all__ = ["is_watched", "push"]
