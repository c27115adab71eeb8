"""Real processes for end-to-end tests and benchmarks: the production Dramatiq worker, web server and the
scheduler, all against the test database (data they must share is committed by a helper subprocess,
since the test itself runs inside a rolled-back transaction; PostgreSQL's READ COMMITTED lets the test
still read what those processes commit)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.db import connection

from fourpass.serve import worker_command, worker_environment

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"


def database_url() -> str:
    from tests.e2e.app import server_url

    name = connection.settings_dict["NAME"]
    if not name.startswith("test_"):
        raise RuntimeError(f"refusing to run test processes against non-test database {name!r}")
    return server_url(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_env() -> dict[str, str]:
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        DRAMATIQ_NAMESPACE=settings.DRAMATIQ_NAMESPACE,
        CHANNELS_PREFIX=settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
        CACHE_PREFIX=settings.CACHES["default"].get("KEY_PREFIX", "fourpass"),
        FOURPASS_ACCOUNT_PROVIDER=getattr(settings, "EXECUTION_ACCOUNT_PROVIDER", ""),
        DJANGO_SETTINGS_MODULE="fourpass.settings",
        LOG_LEVEL="WARNING",
    )
    env.pop("PYTEST_CURRENT_TEST", None)
    return worker_environment(env)


class ManagedProcess:
    """A child in its own process group, so kill -9 takes the whole tree (dramatiq forks workers)."""

    def __init__(self, command: list[str], log_name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = (ARTIFACTS / f"{log_name}.log").open("a")
        self.process = subprocess.Popen(command, cwd=ROOT, env=process_env(), stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def kill_hard(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if not self.log.closed:
            self.log.close()


def start_worker(log_name: str = "worker", threads: int = 8) -> ManagedProcess:
    return ManagedProcess(worker_command(processes=1, threads=threads), log_name)


def start_scheduler(log_name: str = "scheduler") -> ManagedProcess:
    return ManagedProcess([sys.executable, str(ROOT / "manage.py"), "run_scheduler"], log_name)


def start_web(log_name: str = "web") -> tuple[ManagedProcess, str]:
    """The production web server (`python -m fourpass.serve`, one process) on a free loopback port."""
    port = free_port()
    server = ManagedProcess([sys.executable, "-m", "fourpass.serve", "--port", str(port), "--processes", "1"],
                            log_name)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health/", timeout=2):
                return server, base
        except urllib.error.HTTPError:
            return server, base  # answering (503 = a dependency is down) is enough
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("the web server did not start; see artifacts/")


def run_scenario(*args: str) -> dict:
    """Run tests/execution/scenario.py in a subprocess (commits its data) and return its JSON output."""
    result = subprocess.run([sys.executable, "-m", "tests.execution.scenario", *args], cwd=ROOT, env=process_env(),
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"scenario {args} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def wait_until(predicate, *, timeout: float, interval: float = 0.5, every_10s=None) -> bool:
    deadline = time.monotonic() + timeout
    last_tick = time.monotonic()
    while time.monotonic() < deadline:
        if predicate():
            return True
        if every_10s is not None and time.monotonic() - last_tick >= 10:
            every_10s()
            last_tick = time.monotonic()
        time.sleep(interval)
    return predicate()
