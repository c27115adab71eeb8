"""A pool of real agent processes sharing one simulated broker server, registered as bridge nodes."""

from __future__ import annotations

from pathlib import Path

from bridges import services
from bridges.models import BridgeNode

from .agent_processes import AgentProcess, spawn_agent


class AgentPool:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.broker_server = workdir / "sim-broker-server"
        self.agents: dict[str, AgentProcess] = {}

    def spawn(self, node_id: str, *, capacity: int = 4, port: int = 0, secret: bytes | None = None) -> AgentProcess:
        agent = spawn_agent(
            self.workdir, node_id, capacity=capacity, sim_state_dir=self.broker_server, secret=secret, port=port
        )
        self.agents[node_id] = agent
        return agent

    def register(self, node_id: str, *, region: str = "eu", capacity: int = 4) -> BridgeNode:
        agent = self.agents[node_id]
        return services.register_node(
            node_id=node_id, address=agent.url, region=region, capacity=capacity, secret=agent.secret.decode()
        )

    def stop_all(self) -> None:
        for agent in self.agents.values():
            agent.stop()


def credentials(login: str) -> dict[str, str]:
    return {"login": login, "password": "demo-pass", "server": "SimBroker-Demo"}
