import pytest
from django.conf import settings

from tests.e2e.app import ARTIFACTS

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "height"), [(375, 812), (1440, 900)])
def test_a_demo_user_logs_in_with_headless_chromium(running_app, browser, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{running_app}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_email", settings.DEMO_USER_EMAIL)
    page.fill("#id_password", settings.DEMO_USER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Welcome')")
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{width}x{height}.png"), full_page=True)
    # The page fits the viewport: nothing forces horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.close()


def test_a_wrong_password_shows_the_message_in_the_browser(running_app, browser):
    page = browser.new_page()
    page.goto(f"{running_app}/accounts/login/")
    page.fill("#id_email", settings.DEMO_USER_EMAIL)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert "The e-mail address or password is incorrect." in page.inner_text("[role=alert]")
    page.close()


def test_the_health_page_of_the_running_app_sees_the_worker(running_app, browser):
    import json
    import time
    import urllib.request

    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{running_app}/health/?format=json", timeout=5) as response:
                report = json.load(response)
        except urllib.error.HTTPError as error:
            report = json.load(error)
        if report["ok"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert report["checks"]["worker"]["ok"], report
