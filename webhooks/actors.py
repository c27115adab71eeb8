"""Dramatiq actors of the webhook intake; thin wrappers around webhooks.services."""

from django_tenants.utils import schema_context

from fourpass.tasks import platform_actor, tenant_actor

from . import services


@tenant_actor(actor_name="webhooks.process_alert", max_retries=5, min_backoff=500, max_backoff=10_000)
def process_alert_job(alert_id: int) -> None:
    services.process_alert(alert_id)


@tenant_actor(actor_name="webhooks.process_alerts", max_retries=0)
def process_alerts_job(alert_ids: list[int]) -> None:
    services.process_alerts(alert_ids)


@platform_actor(actor_name="webhooks.sweep_alerts", max_retries=0)
def sweep_alerts() -> None:
    from accounts.models import Organization

    for schema in Organization.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        with schema_context(schema):
            services.sweep_alerts()
