"""A backtest run from the UI on the demo data, in headless Chromium, with the real worker and Channels."""

import pytest
from django.conf import settings
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.app import ARTIFACTS

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
    # 5,000 bars can finish before the click lands; then the button is gone and the run succeeded.
    try:
        page.locator("button:has-text('Cancel')").click(timeout=3_000)
    except PlaywrightTimeoutError:
        pass
    page.wait_for_selector(".bt-status-cancelled, .bt-status-succeeded", timeout=60_000)
    page.close()


def test_a_parameter_sweep_and_a_parity_report_from_the_ui(running_app, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, running_app)
    page.goto(f"{running_app}/backtests/")
    page.select_option("#id_version", label="RSI Strategy (demo) v1")
    page.select_option("#id_symbol", "FX:EURUSD")
    page.fill("#id_timeframe", "60")
    page.click("#start-backtest")
    page.wait_for_selector(".bt-status-succeeded", timeout=60_000)
    run_url = page.url

    # parity: our own TradingView-layout export uploaded back matches 100 %
    export = page.request.get(run_url + "export/trades-tradingview.csv")
    assert export.ok and export.text().startswith("Trade #,Type,Date/Time,Signal,Price USD")
    page.goto(run_url + "parity/")
    page.set_input_files("#id_file", files=[{"name": "tv.csv", "mimeType": "text/csv", "buffer": export.body()}])
    page.click("#parity-form button[type=submit]")
    page.wait_for_selector("#match-rate")
    assert page.inner_text("#match-rate") == "100%"
    page.screenshot(path=str(ARTIFACTS / "backtest-parity.png"), full_page=False)

    # sweep: 3 x 3 grid run by the workers, then a heatmap whose cells open full backtests
    page.goto(run_url + "sweep/")
    page.check("#sweep-length")
    page.fill("input[name=from__length]", "10")
    page.fill("input[name=to__length]", "14")
    page.fill("input[name=step__length]", "2")
    page.check("#sweep-overSold")
    page.fill("input[name=from__overSold]", "25")
    page.fill("input[name=to__overSold]", "35")
    page.fill("input[name=step__overSold]", "5")
    page.click("#sweep-form button[type=submit]")
    page.wait_for_url("**/backtests/sweeps/*/")
    page.wait_for_selector("text=9 / 9 backtests finished", timeout=120_000)
    cells = page.locator("#sweep-heatmap td a")
    assert cells.count() == 9
    page.screenshot(path=str(ARTIFACTS / "backtest-sweep.png"), full_page=True)
    cells.first.click()
    page.wait_for_selector(".bt-status-succeeded")
    assert "/backtests/runs/" in page.url
    page.close()


@pytest.mark.parametrize("path", ["/backtests/", "/backtests/data/"])
def test_backtest_pages_fit_a_phone(running_app, browser, path):
    page = browser.new_page(viewport={"width": 375, "height": 812})
    log_in(page, running_app)
    page.goto(f"{running_app}{path}")
    page.wait_for_load_state("networkidle")
    name = path.strip("/").replace("/", "-")
    page.screenshot(path=str(ARTIFACTS / f"{name}-375.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 376
    page.close()
