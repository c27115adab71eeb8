"""The running app (`scripts/dev.py run` on its own database) and headless Chromium, as session fixtures.

Registered once in tests/conftest.py, so every test directory shares one app and one browser.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_url(dbname: str) -> str:
    db = settings.DATABASES["default"]
    host = db.get("HOST") or "localhost"
    host = quote(host, safe="") if host.startswith("/") else host
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{host}{port}/{dbname}"


def admin_connection() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname="postgres", user=db["USER"], password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None, port=db.get("PORT") or None, autocommit=True,
    )


@pytest.fixture(scope="session")
def running_app():
    """The app as `python scripts/dev.py run` starts it, on a free port and its own database."""
    dbname = f"fourpass_e2e_{os.getpid()}"
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=server_url(dbname),
        REDIS_URL=settings.REDIS_URL,
        PORT=str(port),
        DRAMATIQ_NAMESPACE=f"fourpass-e2e-{os.getpid()}",
        CHANNELS_PREFIX=f"fourpass-e2e-{os.getpid()}",
        CACHE_PREFIX=f"fourpass-e2e-{os.getpid()}",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "e2e-app.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "dev.py"), "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the app exited early; see {log.name}")
            try:
                with urllib.request.urlopen(f"{base}/accounts/login/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app did not answer within 180 s; see {log.name}")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        with admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()
