"""Browser tests of the static site: build dist/, serve it under /pynet/ like GitHub Pages,
and drive it with Playwright's Chromium (or Debian's /usr/bin/chromium when Playwright's own
browser is not installed)."""

import os
import time
from pathlib import Path

import pytest

from e2e_helpers import CHROMIUM_ARGS, SYSTEM_CHROMIUM, site_builder, reset_page, site_data, wait_ready


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
    site = site_builder()
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

    def problems(self):
        return {k: v for k, v in (("console errors", self.errors), ("requests outside the site", self.outside),
                                  ("failed responses", self.failed)) if v}

    def clear(self):
        for found in (self.errors, self.outside, self.failed):
            found.clear()


def _open(browser, base):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    recorder = Recorder(page, base)
    _recorders.append(recorder)
    context.on("close", lambda *_: recorder in _recorders and _recorders.remove(recorder))
    started = time.monotonic()
    page.goto(base)
    wait_ready(page)
    recorder.ready_seconds = time.monotonic() - started
    recorder.startup = recorder.problems()  # what went wrong while loading, before any test touched it
    return page, recorder


@pytest.fixture(scope="session")
def open_page(browser, site_url):
    """A function that opens a page of the site of its own, in a context of its own, and waits
    until it is ready: (page, recorder); close it with page.context.close()."""
    return lambda: _open(browser, site_url)


@pytest.fixture(scope="session")
def shared_page(browser, site_url):
    """One page loaded once for the session (Pyodide takes seconds to start): (page, recorder).
    Tests use it through `app`, which resets it first."""
    page, recorder = _open(browser, site_url)
    yield page, recorder
    page.context.close()
    log = os.environ.get("PYNET_CONSOLE_LOG")  # for debugging: keep the whole console
    if log:
        Path(log).write_text("\n".join(recorder.console) + "\n")


@pytest.fixture
def app(shared_page):
    """The shared page in a known state (see e2e_helpers.reset_page; one worker, whatever the
    machine's core count makes the default: test_parallel_page.py tests more); after the test,
    no console error, failed response or request outside the site."""
    page, recorder = shared_page
    _recorders.append(_recorders.pop(_recorders.index(recorder)))  # its console goes with a failure report
    reset_page(page)
    before = recorder.problems()
    recorder.clear()
    assert not before, f"before the test (left by an earlier one, or by the reset): {before}"
    yield page, recorder
    problems = recorder.problems()
    recorder.clear()
    assert not problems, problems


@pytest.fixture(scope="session")
def native_model(site_url, tmp_path_factory):
    """A model trained natively here, unlike the site's default (784-32-10, 2 epochs on 2,000
    of the site's training images): (path of its file, written with pynet.save; the Network
    read back from it)."""
    import pynet

    X, y = site_data("train")
    net = pynet.Network([784, 32, 10], seed=5)
    net.fit(X[:, :2000], y[:2000], pynet.TrainConfig(epochs=2, batch_size=64, learning_rate=0.003))
    path = tmp_path_factory.mktemp("native") / "native-784-32-10.npz"
    pynet.save(net, path)
    return path, pynet.load(path)
