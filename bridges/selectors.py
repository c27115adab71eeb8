"""Read-side queries of the bridge pool."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from .models import BridgeInstance, BridgeInstanceEvent, BridgeNode, BridgeOrderIntent

OCCUPYING_STATUSES = (
    BridgeInstance.Status.PENDING,
    BridgeInstance.Status.STARTING,
    BridgeInstance.Status.RUNNING,
    BridgeInstance.Status.STOPPING,
)


def nodes_with_load(nodes: QuerySet[BridgeNode] | None = None) -> QuerySet[BridgeNode]:
    """Nodes annotated with `load` (slots taken by instances assigned to them) and `tenant_hits`-ready."""
    queryset = nodes if nodes is not None else BridgeNode.objects.all()
    return queryset.annotate(
        load=Count("instances", filter=Q(instances__status__in=OCCUPYING_STATUSES), distinct=True)
    )


def candidate_nodes(
    *, backend: str, region: str, tenant_schema: str, exclude_node_ids: Iterable[int] = ()
) -> list[BridgeNode]:
    """Nodes able to take one more terminal, best first.

    Order: the preferred region first; then nodes already serving this tenant (affinity keeps a tenant's
    terminals together, limiting the blast radius of one node to few tenants); then the most free slots.
    Nodes that reported their backends must offer `backend`.
    """
    nodes = nodes_with_load(
        BridgeNode.objects.filter(status__in=(BridgeNode.Status.HEALTHY, BridgeNode.Status.DEGRADED)).exclude(
            id__in=list(exclude_node_ids)
        )
    ).annotate(
        tenant_instances=Count(
            "instances",
            filter=Q(instances__tenant_schema=tenant_schema, instances__status__in=OCCUPYING_STATUSES),
            distinct=True,
        )
    )
    usable = [node for node in nodes if node.load < node.capacity and (not node.backends or backend in node.backends)]
    return sorted(
        usable,
        key=lambda node: (
            0 if region and node.region == region else 1,
            0 if node.status == BridgeNode.Status.HEALTHY else 1,
            0 if node.tenant_instances else 1,
            -(node.capacity - node.load),
            node.node_id,
        ),
    )


def instance_for_account(tenant_schema: str, account_id: str) -> BridgeInstance | None:
    return (
        BridgeInstance.objects.select_related("node")
        .filter(tenant_schema=tenant_schema, account_id=account_id)
        .first()
    )


def instances_for_tenant(tenant_schema: str) -> QuerySet[BridgeInstance]:
    return BridgeInstance.objects.filter(tenant_schema=tenant_schema).select_related("node").order_by("account_id")


def active_instances_on(node: BridgeNode) -> QuerySet[BridgeInstance]:
    return BridgeInstance.objects.filter(node=node, status__in=OCCUPYING_STATUSES).order_by("id")


def unsettled_intents(instance: BridgeInstance) -> QuerySet[BridgeOrderIntent]:
    return instance.order_intents.filter(state__in=BridgeOrderIntent.UNSETTLED_STATES).order_by("created_at", "id")


def recent_events(instance: BridgeInstance, limit: int = 20) -> list[BridgeInstanceEvent]:
    return list(instance.events.select_related("node").order_by("-created_at", "-id")[:limit])
