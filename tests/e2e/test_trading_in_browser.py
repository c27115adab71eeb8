"""The trade screen in headless Chromium at phone (375x812) and desktop (1440x900) sizes, against the app as
`scripts/dev.py run` starts it (demo user with a paper account; the paper broker prices BINANCE:BTCUSDT)."""

import time

import pytest
from django.conf import settings

from tests.e2e.app import ARTIFACTS

pytestmark = pytest.mark.browser

SIZES = [(375, 812), (1440, 900)]


def log_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_email", settings.DEMO_USER_EMAIL)
    page.fill("#id_password", settings.DEMO_USER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Welcome')")


def new_context(browser, width: int, height: int):
    phone = width < 768
    return browser.new_context(viewport={"width": width, "height": height}, has_touch=phone, is_mobile=phone,
                               device_scale_factor=2 if phone else 1)


def choose_btc(page) -> None:
    page.fill("#ticket-symbol", "btcusdt")
    page.click("#symbol-results .symbol-option[data-symbol='BINANCE:BTCUSDT']")
    page.wait_for_selector("[data-instrument][data-symbol='BINANCE:BTCUSDT']")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_an_order_from_the_ticket_appears_live_in_the_open_orders_tab(running_app, browser, width, height):
    context = new_context(browser, width, height)
    watcher = context.new_page()
    log_in(watcher, running_app)
    watcher.goto(f"{running_app}/trade/orders/")
    watcher.wait_for_function("document.documentElement.dataset.live === 'open'")
    watcher.evaluate("window.__notReloaded = true")
    rows_before = watcher.locator("#order-rows tr").count()

    trader = context.new_page()
    trader.goto(f"{running_app}/trade/positions/")
    choose_btc(trader)
    trader.fill("#ticket-quantity", "0.00999")
    trader.click("[data-stepper=quantity] .step[data-step='1']")
    assert trader.input_value("#ticket-quantity") == "0.01"  # exact decimal step onto the lot grid
    trader.click("[data-review]")
    sheet = trader.locator("#ticket-sheet")
    sheet.wait_for(state="visible")
    assert sheet.locator("[data-confirm-qty]").inner_text() == "0.01"
    assert "BINANCE:BTCUSDT" in sheet.inner_text()
    assert "USDT" in sheet.locator("[data-confirm-value]").inner_text()
    trader.wait_for_timeout(300)  # the sheet's slide-in
    trader.screenshot(path=str(ARTIFACTS / f"trade-confirm-{width}x{height}.png"))
    started = time.monotonic()
    trader.click("[data-confirm]")
    trader.wait_for_selector("[data-outcome=ok]", timeout=20_000)
    assert "Bought 0.01 BINANCE:BTCUSDT" in sheet.inner_text()
    trader.screenshot(path=str(ARTIFACTS / f"trade-outcome-{width}x{height}.png"))

    watcher.wait_for_function(f"document.querySelectorAll('#order-rows tr').length > {rows_before}", timeout=20_000)
    print(f"\n[{width}x{height}] confirm tap -> order row on the other page: {(time.monotonic() - started) * 1000:.0f} ms")
    newest = watcher.locator("#order-rows tr").first
    assert "BINANCE:BTCUSDT" in newest.inner_text()
    watcher.wait_for_function("document.querySelector('#order-rows tr').className.includes('state-filled')")
    assert watcher.evaluate("window.__notReloaded") is True  # it arrived over the websocket, not by reloading
    assert watcher.url.endswith("/trade/orders/")
    watcher.screenshot(path=str(ARTIFACTS / f"trade-orders-live-{width}x{height}.png"), full_page=True)

    trader.click("[data-new-order]")
    trader.wait_for_selector("#ticket-sheet", state="hidden")
    trader.wait_for_selector("#position-list [data-symbol='BINANCE:BTCUSDT']", timeout=10_000)  # refreshed live
    context.close()


def swipe(page, cdp, start_x: float, end_x: float, y: float, steps: int = 8, duration_ms: int = 120) -> None:
    """A real touch drag (Chromium turns it into pointer events of type touch)."""
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start_x, "y": y}]})
    for step in range(1, steps + 1):
        x = start_x + (end_x - start_x) * step / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        page.wait_for_timeout(duration_ms / steps)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def panel_point(page) -> tuple[float, float]:
    page.evaluate("document.getElementById('tab-panel').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(100)
    box = page.locator("#tab-panel").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + 80


def selected_tab(page) -> str:
    return page.get_attribute(".tabbar [aria-selected=true]", "data-tab")


def test_swiping_the_panel_switches_tabs_and_the_url_follows(running_app, browser):
    context = new_context(browser, 375, 812)
    page = context.new_page()
    log_in(page, running_app)
    page.goto(f"{running_app}/trade/positions/")
    cdp = context.new_cdp_session(page)

    x, y = panel_point(page)
    swipe(page, cdp, x + 120, x - 140, y)  # a long drag to the left: next tab
    page.wait_for_url("**/trade/orders/**")
    page.wait_for_selector("#tab-panel .tab-content[data-tab=orders]")
    assert selected_tab(page) == "orders"

    x, y = panel_point(page)
    swipe(page, cdp, x - 40, x + 40, y, steps=3, duration_ms=30)  # short but fast: a flick to the right
    page.wait_for_url("**/trade/positions/**")
    page.wait_for_selector("#tab-panel .tab-content[data-tab=positions]")
    assert selected_tab(page) == "positions"

    x, y = panel_point(page)
    swipe(page, cdp, x, x - 25, y, steps=10, duration_ms=800)  # short and slow: stays
    page.wait_for_timeout(400)
    assert selected_tab(page) == "positions" and "/trade/positions/" in page.url

    x, y = panel_point(page)
    swipe(page, cdp, x + 20, x + 140, y)  # past the first tab: nothing before it
    page.wait_for_timeout(400)
    assert selected_tab(page) == "positions"
    page.screenshot(path=str(ARTIFACTS / "trade-swipe-375x812.png"))
    context.close()


def test_tabs_work_with_the_keyboard_and_the_back_button(running_app, browser):
    context = new_context(browser, 1440, 900)
    page = context.new_page()
    log_in(page, running_app)
    page.goto(f"{running_app}/trade/positions/")
    page.focus("#tab-positions")
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/trade/orders/**")
    page.keyboard.press("End")
    page.wait_for_url("**/trade/deployments/**")
    assert page.evaluate("document.activeElement.id") == "tab-deployments"
    assert selected_tab(page) == "deployments"
    page.click("#tab-alerts")
    page.wait_for_selector("#tab-panel .tab-content[data-tab=alerts]")
    page.go_back()
    page.wait_for_url("**/trade/deployments/**")
    page.wait_for_selector("#tab-panel .tab-content[data-tab=deployments]")
    assert selected_tab(page) == "deployments"
    page.screenshot(path=str(ARTIFACTS / "trade-desktop-1440x900.png"), full_page=True)
    context.close()


# ------------------------------------------------------------------ Lighthouse-style checks


def test_the_manifest_has_what_install_needs(running_app, browser):
    context = browser.new_context()
    response = context.request.get(f"{running_app}/manifest.webmanifest")
    manifest = response.json()
    assert response.ok
    for field in ("name", "short_name", "start_url", "display", "theme_color", "background_color", "icons"):
        assert manifest.get(field), field
    assert manifest["display"] in ("standalone", "fullscreen", "minimal-ui")
    sizes = {size for icon in manifest["icons"] for size in icon["sizes"].split()}
    assert {"192x192", "512x512"} <= sizes
    assert any("maskable" in icon.get("purpose", "") for icon in manifest["icons"])
    context.close()


TAP_TARGETS = (
    "#ticket button, #ticket input:not([type=radio]):not([type=checkbox]), #ticket select, #ticket .seg, "
    "#ticket label.check, .tabbar [role=tab], #tab-panel button, #tab-panel .button"
)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_viewport_tap_targets_and_no_horizontal_overflow(running_app, browser, width, height):
    context = new_context(browser, width, height)
    page = context.new_page()
    log_in(page, running_app)
    page.goto(f"{running_app}/trade/positions/")
    viewport = page.get_attribute("meta[name=viewport]", "content")
    assert "width=device-width" in viewport and "initial-scale=1" in viewport
    choose_btc(page)
    page.click("label[for=kind-limit]")  # shows the limit price stepper too
    page.wait_for_selector("[data-limit-field]", state="visible")
    small = page.eval_on_selector_all(
        TAP_TARGETS,
        """els => els.filter(e => e.offsetParent !== null).map(e => {
             const r = e.getBoundingClientRect();
             return [e.id || e.className || e.textContent.trim(), Math.round(r.width), Math.round(r.height)];
           }).filter(([, w, h]) => w < 44 || h < 44)""",
    )
    assert small == []
    page.click("label[for=kind-market]")
    page.fill("#ticket-quantity", "0.00001")  # worth under the 5 USDT minimum
    page.click("[data-review]")
    page.wait_for_selector("#ticket-feedback li[data-field=quantity]")
    assert "below the minimum" in page.inner_text("#ticket-feedback")
    assert page.locator("#ticket-sheet").is_hidden()
    page.screenshot(path=str(ARTIFACTS / f"trade-ticket-error-{width}x{height}.png"))
    for tab in ("positions", "orders", "alerts", "deployments"):
        page.goto(f"{running_app}/trade/{tab}/")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{tab} overflows by {overflow}px at {width}px"
    if width < 768:
        box = page.locator(".tabbar").bounding_box()
        assert box["y"] + box["height"] >= height - 1  # the tab bar sits at the bottom on phones
    context.close()
