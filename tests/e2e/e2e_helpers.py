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
