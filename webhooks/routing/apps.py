from django.apps import AppConfig


class WebhookRoutingConfig(AppConfig):
    """Public-schema table that maps a webhook token hash to the tenant schema and binding it belongs to."""

    name = "webhooks.routing"
    label = "webhook_routing"
    default_auto_field = "django.db.models.BigAutoField"
