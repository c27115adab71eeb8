import pytest
from django.conf import settings

from tests.e2e.app import ARTIFACTS

pytestmark = pytest.mark.browser


def log_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_email", settings.DEMO_USER_EMAIL)
    page.fill("#id_password", settings.DEMO_USER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Welcome')")


@pytest.mark.parametrize(("width", "height"), [(375, 812), (1440, 900)])
def test_the_service_worker_registers_and_controls_the_page(running_app, browser, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    log_in(page, running_app)
    scope = page.evaluate(
        "navigator.serviceWorker.ready.then(r => r.scope)"
    )
    assert scope == f"{running_app}/"
    cached = page.evaluate("caches.keys()")
    assert any(name.startswith("4pass-shell-") for name in cached)
    page.screenshot(path=str(ARTIFACTS / f"pwa-{width}x{height}.png"))
    context.close()


def test_the_offline_page_is_shown_when_the_network_is_gone(running_app, browser):
    context = browser.new_context()
    page = context.new_page()
    log_in(page, running_app)
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()  # now controlled by the service worker
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    page.goto(f"{running_app}/strategies/")
    assert "You are offline" in page.content()
    context.close()


def test_tap_targets_in_the_navigation_are_at_least_44_px(running_app, browser):
    page = browser.new_page(viewport={"width": 375, "height": 812})
    log_in(page, running_app)
    page.click("label.nav-toggle-label")
    sizes = page.eval_on_selector_all(
        ".mainnav a, .mainnav button, main button, main .button",
        "els => els.filter(e => e.offsetParent).map(e => [e.textContent.trim(), e.getBoundingClientRect().height])",
    )
    assert sizes
    assert all(height >= 44 for _, height in sizes), sizes
    page.close()
