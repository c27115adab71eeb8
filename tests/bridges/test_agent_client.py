"""AgentClient transport behaviour against real agent processes."""

from __future__ import annotations

from bridges.protocol import AgentClient

from .agent_processes import spawn_agent


def test_client_reconnects_transparently_after_the_agent_restarted(tmp_path):
    agent = spawn_agent(tmp_path, "win-rc")
    client = AgentClient(agent.url, agent.node_id, agent.secret)
    try:
        client.health()
        port, secret = agent.port, agent.secret
        agent.kill()
        agent = spawn_agent(tmp_path, "win-rc", port=port, secret=secret)
        second = client.health()  # the kept-alive connection died with the old process: no error surfaces
        assert second["node_id"] == "win-rc" and second["uptime_seconds"] < 10
    finally:
        client.close()
        agent.stop()


def test_client_exposes_the_agents_own_processing_time(tmp_path):
    agent = spawn_agent(tmp_path, "win-time")
    try:
        client = AgentClient(agent.url, agent.node_id, agent.secret)
        client.health()
        assert 0 < client.last_agent_time_us < 1_000_000
    finally:
        agent.stop()
