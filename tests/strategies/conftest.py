import os
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from accounts.models import Plan
from tests.factories import UserFactory


@pytest.fixture
def trader(retail_tenant, member_of):
    return member_of(retail_tenant, plan=Plan.objects.get(code=Plan.Code.PRO))


@pytest.fixture
def web(client_on, retail_tenant, trader):
    return client_on(retail_tenant, trader)


@pytest.fixture
def in_retail(retail_tenant):
    with schema_context(retail_tenant.schema_name):
        yield retail_tenant


@pytest.fixture
def stranger(retail_tenant, member_of):
    return member_of(retail_tenant)


@pytest.fixture
def goog_series(db):
    """GOOG daily bars from backtesting.test stored as NASDAQ:GOOG 1D, as the demo seeds them."""
    import backtesting.test as packaged

    from backtests.marketdata.services import get_or_create_series, upsert_bars
    from fourpass.demo import frame_to_bars

    series = get_or_create_series("NASDAQ:GOOG", "1D", timezone="America/New_York", mintick="0.01",
                                  source="backtesting.test")
    upsert_bars(series, frame_to_bars(packaged.GOOG))
    return series


@pytest.fixture
def in_browser():
    """in_browser(scenario) runs scenario(browser) with a headless Chromium of its own, in a separate thread.

    A second sync Playwright cannot start on the thread where tests/e2e's `browser` fixture already runs one
    (same pytest session), but each thread may have its own; exceptions are re-raised here."""
    import threading

    from tests.e2e.conftest import CHROMIUM

    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")

    def run(scenario) -> None:
        failure: list[BaseException] = []

        def target() -> None:
            from playwright.sync_api import sync_playwright

            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=CHROMIUM,
                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                              "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
                    )
                    try:
                        scenario(browser)
                    finally:
                        browser.close()
            except BaseException as error:  # handed to the test's thread below
                failure.append(error)

        thread = threading.Thread(target=target, name="editor-browser-test")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]

    return run


@pytest.fixture(scope="session")
def editor_app():
    """The app as `scripts/dev.py run` starts it (like tests/e2e's `running_app`), with its own database and
    queue namespace, so it can run in the same pytest session as the other apps' running_app fixtures
    without sharing a database name or a Dramatiq queue with them."""
    from tests.e2e.conftest import ARTIFACTS, ROOT, admin_connection, free_port, server_url

    tag = f"{os.getpid()}_editor"
    dbname = f"fourpass_e2e_{tag}"
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    port = free_port()
    namespace = f"fourpass-e2e-{tag}"
    env = dict(os.environ, DATABASE_URL=server_url(dbname), REDIS_URL=settings.REDIS_URL, PORT=str(port),
               DRAMATIQ_NAMESPACE=namespace, CHANNELS_PREFIX=namespace, CACHE_PREFIX=namespace)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "e2e-editor-app.log").open("w")
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "dev.py"), "run"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
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


__all__ = ["UserFactory"]
