"""Placement of terminal instances on nodes: capacity, region, tenant affinity, backend, node status."""

from __future__ import annotations

import pytest

from bridges import selectors
from bridges.models import BridgeInstance, BridgeNode

from .factories import BridgeInstanceFactory, BridgeNodeFactory

pytestmark = pytest.mark.django_db


def best(backend: str = "sim", region: str = "", tenant: str = "alpha", exclude=()) -> list[str]:
    nodes = selectors.candidate_nodes(backend=backend, region=region, tenant_schema=tenant, exclude_node_ids=exclude)
    return [node.node_id for node in nodes]


def test_full_nodes_are_not_candidates():
    full = BridgeNodeFactory(node_id="full", capacity=1)
    BridgeInstanceFactory(node=full)
    BridgeNodeFactory(node_id="free", capacity=1)
    assert best() == ["free"]


def test_stopped_and_failed_instances_free_their_slot():
    node = BridgeNodeFactory(node_id="n", capacity=2)
    BridgeInstanceFactory(node=node, status=BridgeInstance.Status.STOPPED)
    BridgeInstanceFactory(node=node, status=BridgeInstance.Status.FAILED)
    assert best() == ["n"]


def test_preferred_region_comes_first():
    BridgeNodeFactory(node_id="us", region="us", capacity=8)
    BridgeNodeFactory(node_id="eu", region="eu", capacity=2)
    assert best(region="eu") == ["eu", "us"]


def test_tenant_affinity_beats_free_slots():
    busy = BridgeNodeFactory(node_id="busy", capacity=4)
    BridgeInstanceFactory(node=busy, tenant_schema="alpha")
    BridgeNodeFactory(node_id="empty", capacity=4)
    assert best(tenant="alpha") == ["busy", "empty"]
    assert best(tenant="beta") == ["empty", "busy"]


def test_more_free_slots_wins_otherwise():
    BridgeNodeFactory(node_id="small", capacity=2)
    BridgeNodeFactory(node_id="large", capacity=6)
    assert best() == ["large", "small"]


def test_healthy_is_preferred_to_degraded():
    BridgeNodeFactory(node_id="degraded", status=BridgeNode.Status.DEGRADED, capacity=8)
    BridgeNodeFactory(node_id="healthy", capacity=2)
    assert best() == ["healthy", "degraded"]


@pytest.mark.parametrize("status", [BridgeNode.Status.DOWN, BridgeNode.Status.DRAINING])
def test_down_and_draining_nodes_get_nothing(status):
    BridgeNodeFactory(node_id="out", status=status)
    assert best() == []


def test_node_without_the_backend_is_skipped():
    BridgeNodeFactory(node_id="sim-only", backends=["sim"])
    BridgeNodeFactory(node_id="mt5", backends=["mt5"])
    assert best(backend="mt5") == ["mt5"]


def test_excluded_node_is_skipped():
    lost = BridgeNodeFactory(node_id="lost")
    BridgeNodeFactory(node_id="other")
    assert best(exclude=(lost.pk,)) == ["other"]
