from django.apps import AppConfig


class FourpassConfig(AppConfig):
    """Project-level commands (scheduler, demo seed) and cross-app plumbing."""

    name = "fourpass"
    label = "core"
