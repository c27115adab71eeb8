"""How 4pass's processes are launched. `python -m fourpass.serve`: N ASGI server processes sharing one
listening socket; `worker_command()` / `worker_environment()`: a Dramatiq worker.

The ASGI server is uvicorn with its C HTTP parser (httptools) and the uvloop event loop, not daphne: on this
2-core machine a bare ASGI app answered 18,966 requests/s under uvicorn and 3,414/s under daphne (same app, same
client, one process each, benchmarks/webhook_latency.py's client), and the HTTP server was 56% of the webhook
intake's CPU under daphne. Channels runs unchanged on it (websockets through the `websockets` library); daphne
stays installed for `manage.py runserver`.

One process runs the whole ASGI app on one core. Several processes accepting on the same socket let alerts,
pages and websockets use every core (the channel layer and the database are shared, so any process can serve any
request). Signals are forwarded; if one process dies the others are stopped and the exit code kept.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

# An idle Dramatiq consumer polls Redis with a back-off that grows to this many ms (the library default is
# 1,000, which alone can delay a webhook fan-out or a native runner step by up to a second). Dramatiq reads it
# from the environment when it is imported, so it must be in the worker's environment from the start.
WORKER_IDLE_POLL_MS = 50


def worker_command(processes: int = 1, threads: int = 8) -> list[str]:
    return [sys.executable, "-m", "dramatiq", "fourpass.worker", "--processes", str(processes), "--threads",
            str(threads)]


def worker_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.setdefault("dramatiq_worker_timeout", str(WORKER_IDLE_POLL_MS))
    return env


def supervise(children: dict[str, subprocess.Popen], *, on_exit: Callable[[str, int], None] | None = None) -> int:
    """Wait until Ctrl-C / SIGTERM or until one child exits, then stop them all (terminate, then kill after 15 s).
    Returns the exit code of the child that ended the run (0 when stopped by a signal)."""
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                exit_code = child.returncode or 1
                stopping = True
                if on_exit is not None:
                    on_exit(name, child.returncode)
        time.sleep(0.3)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


def server_command(fd: int, application: str = "fourpass.asgi:application", access_log: bool = False) -> list[str]:
    """One uvicorn process serving `application` on an inherited listening socket."""
    return [
        sys.executable, "-m", "uvicorn", "--fd", str(fd), "--loop", "uvloop", "--http", "httptools",
        "--ws", "websockets-sansio", "--lifespan", "on", "--log-level", "warning",
        # the sender's address is decided by webhooks.hook_view.source_ip (WEBHOOK_TRUSTED_PROXIES); uvicorn's own
        # X-Forwarded-For handling would trust any local process by default
        "--no-proxy-headers",
        "--access-log" if access_log else "--no-access-log",
        application,
    ]


def default_processes() -> int:
    return int(os.environ.get("WEB_PROCESSES") or min(2, os.cpu_count() or 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--processes", type=int, default=default_processes())
    parser.add_argument("--application", default="fourpass.asgi:application")
    parser.add_argument("--access-log", action="store_true", default=bool(os.environ.get("ACCESS_LOG")))
    options = parser.parse_args(argv)

    listener = socket.create_server((options.host, options.port), backlog=2048, reuse_port=False)
    listener.set_inheritable(True)
    fd = listener.fileno()
    # no access log by default: a line per request costs the event loop about as much as an alert's reply;
    # --access-log (or ACCESS_LOG=1) turns it on
    command = server_command(fd, options.application, access_log=options.access_log)
    children = [subprocess.Popen(command, pass_fds=(fd,)) for _ in range(max(1, options.processes))]
    listener.close()  # the children hold it

    return supervise({f"web {n}": child for n, child in enumerate(children, start=1)})


if __name__ == "__main__":
    sys.exit(main())
