"""Helpers shared by the browser tests and their conftest (kept out of conftest.py, so
the tests import them by a name no other conftest can shadow)."""

import importlib.util
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
READY_TIMEOUT_S = 120


def _site_module():
    spec = importlib.util.spec_from_file_location("pynet_site_build", ROOT / "build" / "site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_until(page, expression, timeout=30.0, interval=0.05):
    """Poll a JS expression with page.evaluate until it is truthy; return its value.

    (page.wait_for_function evaluates strings with eval, which the page's CSP forbids.)
    """
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {expression}")
        time.sleep(interval)


# ---- the charts, and browsers other than Chromium (test_other_browsers.py, test_language_tag.py)

# For each chart (loss, accuracy), how many pixels of its canvas are drawn in the colour of its
# main curve (web/charts.js: the loss per batch, the test accuracy), allowing for antialiasing;
# 0 where the chart is missing.
CURVE_PIXELS_JS = """(() => [['loss', [0x24, 0x57, 0xc5]], ['acc-chart', [0x1d, 0x7a, 0x3c]]].map(([id, rgb]) => {
    const canvas = document.querySelector(`#${id} .uplot canvas`);
    if (!canvas) return 0;
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
        const off = Math.abs(d[i] - rgb[0]) + Math.abs(d[i + 1] - rgb[1]) + Math.abs(d[i + 2] - rgb[2]);
        if (d[i + 3] > 128 && off < 60) n++;
    }
    return n;
}))()"""

# The language tag the browser itself reports, even where the page has shadowed navigator.language.
BROWSER_LANGUAGE_JS = "Object.getOwnPropertyDescriptor(Navigator.prototype, 'language').get.call(navigator)"
