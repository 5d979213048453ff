"""Where the browser's language tag is no valid locale (WebKitGTK under C.UTF-8 reports 'C'), the
page still draws its charts: uPlot formats numbers for navigator.language as soon as its script
runs, and threw there. Chromium made to report 'C' (test_other_browsers.py has the real WebKit)."""

import pytest

from e2e_helpers import BROWSER_LANGUAGE_JS, CURVE_PIXELS_JS, READY_TIMEOUT_S, start_run, wait_idle, wait_until

pytestmark = pytest.mark.browser

# the browser's own getters report 'C', as WebKitGTK's do
REPORT_C = """for (const [name, value] of [['language', 'C'], ['languages', ['C']]]) {
  Object.defineProperty(Navigator.prototype, name, { get: () => value, configurable: true });
}"""


def test_charts_are_drawn_where_the_language_tag_is_no_locale(browser, site_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(REPORT_C)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(site_url)
        assert page.evaluate(BROWSER_LANGUAGE_JS) == "C"
        with pytest.raises(Exception, match="RangeError"):  # what uPlot ran into
            page.evaluate(f"new Intl.NumberFormat({BROWSER_LANGUAGE_JS})")
        wait_until(page, "document.getElementById('status').dataset.phase === 'ready'", timeout=READY_TIMEOUT_S)
        runs = start_run(page, epochs=1, train_size=1000)
        wait_idle(page, runs)
        assert page.evaluate("window.pynet.lastRun.reason") == "completed"
        loss, accuracy = page.evaluate(CURVE_PIXELS_JS)
        assert loss > 20 and accuracy > 10, (loss, accuracy)
        assert errors == [], errors
    finally:
        context.close()
