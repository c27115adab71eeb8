from __future__ import annotations

import factory

from bridges.crypto import encrypt_json, encrypt_text
from bridges.models import BridgeInstance, BridgeNode


class BridgeNodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BridgeNode

    node_id = factory.Sequence(lambda n: f"win-{n}")
    address = factory.Sequence(lambda n: f"http://127.0.0.1:{20000 + n}")
    region = "eu"
    capacity = 4
    status = BridgeNode.Status.HEALTHY
    backends = factory.LazyFunction(lambda: ["sim", "mt5"])
    secret_encrypted = factory.LazyFunction(lambda: encrypt_text("s" * 48))


class BridgeInstanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BridgeInstance

    instance_id = factory.Sequence(lambda n: f"bi-test-{n}")
    tenant_schema = "alpha"
    account_id = factory.Sequence(lambda n: f"acct-{n}")
    backend = "sim"
    status = BridgeInstance.Status.RUNNING
    node = factory.SubFactory(BridgeNodeFactory)
    credentials_encrypted = factory.LazyFunction(lambda: encrypt_json({"login": "1", "password": "pw"}))
