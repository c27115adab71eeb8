"""The edit -> diagnose -> fix -> save -> backtest flow and the builder, in headless Chromium."""

import pytest
from django.conf import settings

from tests.e2e.app import ARTIFACTS

pytestmark = pytest.mark.browser

SCRIPT_WITH_ERROR = """//@version=6
strategy("E2E cross", overlay = true)
fastLength = input.int(9, "Fast length", minval = 1)
slowLength = input.int(21, "Slow length", minval = 1)
fast = ta.ema(close, fastLength)

slow = ta.ema(close, slowLenght)
if ta.crossover(fast, slow)
    strategy.entry("Long", strategy.long)
if ta.crossunder(fast, slow)
    strategy.close("Long")
plot(fast, "Fast")
"""


def log_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_email", settings.DEMO_USER_EMAIL)
    page.fill("#id_password", settings.DEMO_USER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def new_strategy(page, base: str, name: str, template: str) -> None:
    page.goto(f"{base}/strategies/")
    page.fill("#new-strategy", name)
    page.check(f"input[name=template][value={template}]")
    page.click(".new-strategy button[type=submit]")
    page.wait_for_url("**/strategies/*/")


def line_of_inline_error(page) -> int:
    return page.evaluate("""() => {
        const lines = [...document.querySelectorAll('#editor .cm-content > .cm-line')];
        return lines.findIndex((line) => line.querySelector('.cm-inline-error')) + 1;
    }""")


def fits(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (375, 812)])
def test_a_script_is_diagnosed_fixed_saved_and_backtested_in_the_browser(running_app, browser, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    log_in(page, running_app)
    new_strategy(page, running_app, f"E2E cross {width}", "blank")
    page.wait_for_selector("#editor .cm-content")
    assert page.inner_text("#compile-status") == "Compiles without problems"

    page.click("#editor .cm-content")
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(SCRIPT_WITH_ERROR)
    page.wait_for_selector("#editor .cm-inline-error", timeout=10_000)
    assert line_of_inline_error(page) == 7
    assert "slowLenght" in page.inner_text("#editor .cm-inline-error")
    assert page.locator("#editor .cm-lintRange-error").count() == 1
    assert page.inner_text("#compile-status").startswith("1 error")
    assert page.is_disabled("#save-button")
    page.screenshot(path=str(ARTIFACTS / f"editor-diagnostic-{width}x{height}.png"), full_page=True)

    page.click("#diagnostics li[data-line='7'] button")  # puts the cursor on the misspelt name
    page.keyboard.press("Shift+End")
    page.keyboard.type("slowLength)")
    page.wait_for_function("document.querySelector('#compile-status').textContent === 'Compiles without problems'")
    assert page.locator("#editor .cm-inline-error").count() == 0
    assert page.is_visible("#unsaved-notice")

    page.click("#save-button")
    page.wait_for_selector(".msg-success:has-text('Saved v2.')")
    assert "slow = ta.ema(close, slowLength)" in page.evaluate("window.strategyEditor.getValue()")
    page.wait_for_selector("#inputs-panel [data-input='fastLength']")
    page.fill("#inputs-panel [data-input='fastLength']", "12")
    page.select_option("#bt-symbol", "NASDAQ:GOOG")
    assert page.input_value("#bt-timeframe") == "1D"
    assert fits(page, width)
    page.screenshot(path=str(ARTIFACTS / f"editor-saved-{width}x{height}.png"), full_page=True)

    page.click("#backtest-button")
    page.wait_for_url("**/backtests/runs/*/")
    page.wait_for_selector(".bt-status-succeeded", timeout=90_000)
    assert "fastLength" in page.content() or "Fast length" in page.content()
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (375, 812)])
def test_the_visual_builder_updates_the_code_and_saves_a_version(running_app, browser, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    log_in(page, running_app)
    new_strategy(page, running_app, f"E2E blocks {width}", "builder")
    page.wait_for_selector("#builder-app .indicator")
    page.wait_for_selector("#generated-code .cm-content")
    assert "ta.ema(fastSource, fastLength)" in page.inner_text("#generated-code")

    page.select_option("#new-indicator-type", "bollinger")
    page.click("#add-indicator")
    page.wait_for_function("document.querySelector('#generated-code').innerText.includes('ta.bb(bbSource, bbLength, bbMult)')")
    page.check("[data-rule-toggle='short_entry']")
    page.wait_for_function("document.querySelector('#generated-code').innerText.includes('strategy.entry(\"Short\"')")
    assert page.inner_text("#builder-status") == "Generated Pine compiles"
    assert fits(page, width)
    page.screenshot(path=str(ARTIFACTS / f"builder-{width}x{height}.png"), full_page=True)

    page.click("#builder-save")
    page.wait_for_selector(".msg-success:has-text('Saved v2.')")
    assert page.locator("#builder-app .indicator").count() == 4

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#convert-button")
    page.wait_for_selector(".msg-success:has-text('Converted to code as v3')")
    page.wait_for_selector("#editor .cm-content")
    assert "ta.bb(bbSource, bbLength, bbMult)" in page.evaluate("window.strategyEditor.getValue()")
    page.close()


def test_the_editor_completes_pine_built_ins(running_app, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, running_app)
    new_strategy(page, running_app, "E2E completion", "blank")
    page.wait_for_selector("#editor[data-completions='ready'] .cm-content")
    page.click("#editor .cm-content")
    page.keyboard.press("Control+End")
    page.keyboard.type("x = ta.em")
    page.wait_for_selector(".cm-tooltip-autocomplete li[aria-selected]:has-text('ta.ema')")
    # CodeMirror ignores Enter for 75 ms (interactionDelay) after the list opens or
    # changes, so a list refreshed by the last keystroke would take a newline instead.
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    assert page.evaluate("window.strategyEditor.getValue()").rstrip().endswith("x = ta.ema(")
    page.close()
