from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from .agent_processes import AgentProcess, spawn_agent

_instance_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def sim_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    agent = spawn_agent(tmp_path_factory.mktemp("agent"), "node-a", capacity=50)
    yield agent
    agent.stop()


@pytest.fixture
def started_instance(sim_agent: AgentProcess) -> str:
    """A fresh running sim terminal on its own account, so tests do not share balances or orders."""
    number = next(_instance_numbers)
    instance_id = f"inst-{number}"
    sim_agent.client().start_instance(start_request(instance_id, account_id=f"acct-{number}", login=f"{5000 + number}"))
    return instance_id


def start_request(instance_id: str, *, account_id: str, login: str, password: str = "pw", **options: object) -> dict:
    return {
        "instance_id": instance_id,
        "tenant": "acme",
        "account_id": account_id,
        "backend": "sim",
        "credentials": {"login": login, "password": password, "server": "SimBroker-Demo"},
        "options": dict(options),
    }
