"""A backtest run from the UI on the demo data, in headless Chromium, with the real worker and Channels."""

import pytest
from django.conf import settings

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def log_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_email", settings.DEMO_USER_EMAIL)
    page.fill("#id_password", settings.DEMO_USER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


@pytest.mark.parametrize(("width", "height"), [(1440, 1000), (375, 812)])
def test_a_backtest_started_in_the_ui_shows_progress_then_charts_trades_and_stats(running_app, browser, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    log_in(page, running_app)
    page.goto(f"{running_app}/backtests/")
    page.select_option("#id_version", label="RSI Strategy (demo) v1")
    page.wait_for_selector("#in-length")  # the version's inputs
    page.select_option("#id_symbol", "FX:EURUSD")
    page.fill("#id_timeframe", "60")
    page.fill("#in-length", "10")
    page.click("#start-backtest")
    page.wait_for_url("**/backtests/runs/*/")
    page.wait_for_selector("#run-progress")
    page.wait_for_selector(".bt-status-succeeded", timeout=60_000)
    page.wait_for_selector("#price-chart canvas", timeout=30_000)
    page.wait_for_function("document.querySelector('#price-chart').dataset.markers > 0", timeout=30_000)
    markers = int(page.get_attribute("#price-chart", "data-markers"))
    trades = page.locator(".bt-trade").count()
    assert markers > 0 and trades > 0
    assert page.locator("#equity-chart canvas").count() > 0 and page.locator("#drawdown-chart canvas").count() > 0
    assert page.locator("#stats-table tr[data-stat='net_profit'] td").count() == 3
    first_entry = page.inner_text(".bt-trade .bt-time")
    assert first_entry[:2] == "20"  # formatted as a date
    page.locator(".bt-trade").nth(1).click()
    page.wait_for_function("document.querySelector('#price-chart').dataset.focusedTrade !== undefined")
    page.click("#trades-table th >> text=Net P&L")
    page.wait_for_function("document.querySelectorAll('.bt-trade').length > 0")
    page.screenshot(path=str(ARTIFACTS / f"backtest-results-{width}x{height}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    page.close()


def test_a_running_backtest_can_be_cancelled_from_the_ui(running_app, browser):
    page = browser.new_page()
    log_in(page, running_app)
    page.goto(f"{running_app}/backtests/")
    page.select_option("#id_version", label="MA cross (demo) v1")
    page.select_option("#id_symbol", "FX:EURUSD")
    page.fill("#id_timeframe", "60")
    page.click("#start-backtest")
    page.wait_for_url("**/backtests/runs/*/")
    page.wait_for_selector(".bt-status-succeeded, .bt-status-running, .bt-status-queued")
    if page.locator("button:has-text('Cancel')").count():
        page.click("button:has-text('Cancel')")
        page.wait_for_selector(".bt-status-cancelled, .bt-status-succeeded", timeout=60_000)
    else:
        page.wait_for_selector(".bt-status-succeeded")
    page.close()
