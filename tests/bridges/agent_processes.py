"""Spawn real bridge agent processes (simulated backend) on 127.0.0.1 random ports for tests/benchmarks."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bridges.protocol import AgentClient, wait_until_healthy

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AgentProcess:
    node_id: str
    secret: bytes
    url: str
    process: subprocess.Popen[str]
    stderr_path: Path
    clients: list[AgentClient] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def client(self, **kwargs: object) -> AgentClient:
        client = AgentClient(self.url, self.node_id, self.secret, **kwargs)  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    def kill(self) -> None:
        """Hard kill, like a node losing power: no shutdown handlers run."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""


def spawn_agent(
    workdir: Path,
    node_id: str,
    *,
    capacity: int = 4,
    sim_state_dir: Path | None = None,
    secret: bytes | None = None,
    port: int = 0,
    tls: tuple[Path, Path] | None = None,
) -> AgentProcess:
    secret = secret or secrets.token_hex(32).encode()
    workdir.mkdir(parents=True, exist_ok=True)
    secret_file = workdir / f"{node_id}.secret"
    secret_file.write_bytes(secret)
    secret_file.chmod(0o600)
    stderr_path = workdir / f"{node_id}.stderr"
    command = [
        sys.executable, "-m", "bridges.agent",
        "--host", "127.0.0.1", "--port", str(port),
        "--node-id", node_id, "--secret-file", str(secret_file),
        "--backend", "sim", "--capacity", str(capacity), "--log-level", "WARNING",
    ]
    if sim_state_dir is not None:
        command += ["--sim-state-dir", str(sim_state_dir)]
    if tls is not None:
        command += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    line = process.stdout.readline() if process.stdout else ""
    if not line:
        process.wait(timeout=5)
        raise RuntimeError(f"agent {node_id} did not start: {stderr_path.read_text()}")
    announced = json.loads(line)
    scheme = "https" if tls is not None else "http"
    agent = AgentProcess(node_id, secret, f"{scheme}://127.0.0.1:{announced['port']}", process, stderr_path)
    if tls is None:
        wait_until_healthy(agent.client(), timeout=10)
    return agent
