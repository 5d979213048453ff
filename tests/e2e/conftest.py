"""Browser tests of the static site: build dist/, serve it under /pynet/ like GitHub Pages,
and drive it with Playwright's Chromium (or Debian's /usr/bin/chromium when Playwright's own
browser is not installed)."""

import os
import time
from pathlib import Path

import pytest

from e2e_helpers import CHROMIUM_ARGS, READY_TIMEOUT_S, SYSTEM_CHROMIUM, _site_module, wait_until


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, browser_type):
    args = dict(browser_type_launch_args)
    args["args"] = list(args.get("args") or []) + CHROMIUM_ARGS
    try:
        own = Path(browser_type.executable_path)
    except Exception:
        own = None
    if browser_type.name == "chromium" and (own is None or not own.exists()):
        if not Path(SYSTEM_CHROMIUM).exists():
            pytest.skip("no Chromium: install Playwright's (playwright install chromium) or apt-get install chromium")
        args["executable_path"] = SYSTEM_CHROMIUM
    return args


@pytest.fixture(scope="session")
def site_url():
    """Build dist/ and serve it under /pynet/; the base URL, ending in /pynet/."""
    site = _site_module()
    site.build()
    server = site.serve_in_thread(dist=site.DIST, port=0, base="/pynet/", quiet=True)
    yield server.url
    server.shutdown()


_recorders = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test's report ends with the page's last console lines (a trap's
    stack trace from the worker shows up there and nowhere else)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _recorders:
        lines = _recorders[-1].console[-40:]
        if lines:
            report.sections.append(("page console (last 40 lines)", "\n".join(lines)))


class Recorder:
    """Console errors, page errors, failed responses and requests outside the site."""

    def __init__(self, page, base):
        self.base = base
        self.errors, self.outside, self.failed = [], [], []
        self.console = []  # every console line of the page and its workers, for a failing test's report
        page.context.on("console", lambda m: self.console.append(
            f"[{'worker ' if m.worker else ''}{m.type}] {m.text}"))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", self._request)
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))

    def _request(self, request):
        url = request.url
        if url.startswith(("data:", "blob:")):
            return
        if not url.startswith(self.base):
            self.outside.append(url)


@pytest.fixture(scope="session")
def app(browser, site_url):
    """One page loaded once for the session (Pyodide takes seconds to start): (page, recorder)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    recorder = Recorder(page, site_url)
    _recorders.append(recorder)
    started = time.monotonic()
    page.goto(site_url)
    wait_until(page, "document.getElementById('status').dataset.phase === 'ready'"
                     " || document.getElementById('status').dataset.phase === 'failed'", timeout=READY_TIMEOUT_S)
    recorder.ready_seconds = time.monotonic() - started
    # one worker, whatever the machine's core count makes the default (test_parallel_page.py tests more)
    page.select_option("#workers", "1")
    yield page, recorder
    context.close()
    log = os.environ.get("PYNET_CONSOLE_LOG")  # for debugging: keep the whole console
    if log:
        Path(log).write_text("\n".join(recorder.console) + "\n")
