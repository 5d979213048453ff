"""Smoke tests of the page in Firefox and in WebKit (Safari's engine), both from Debian's packages.

* Firefox (`firefox-esr`) is driven over WebDriver BiDi by puppeteer-core (tests/e2e/package.json,
  installed by `make test`) through firefox_page.mjs: no driver download.
* WebKit is WebKitGTK's MiniBrowser driven by WebKitWebDriver (`webkit2gtk-driver`) with
  Selenium, in an Xvfb display (`xvfb`), under the locale C.UTF-8 (a container's usual one),
  where WebKitGTK reports the language tag 'C', which is no valid locale: the page must still
  draw its charts.

Each browser's tests are skipped, with the reason, where it or its tools are not installed.
WebKitWebDriver gives no access to the console: in WebKit the page's errors (console.error,
uncaught errors, unhandled rejections) are recorded from the moment it has loaded; what fails
before shows in what the tests check (Ready, the worker count, the charts).
"""

import glob
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from e2e_helpers import BROWSER_LANGUAGE_JS, CURVE_PIXELS_JS, DIGITS, READY_TIMEOUT_S, ROOT, wait_until

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
FAST_TIMEOUT_S = 180  # the Fast preset in WebKit is several times slower than in Chromium
SCREENSHOTS = ROOT / "test-results"


# ---- Firefox: one page in firefox_page.mjs, one JSON request and answer a line -----------------


class FirefoxPage:
    def __init__(self, executable):
        self._log = tempfile.TemporaryFile(mode="w+")
        env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"}
        self._proc = subprocess.Popen(["node", str(HERE / "firefox_page.mjs"), executable], cwd=HERE, env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True)
        self._answers = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.version = self._answer(timeout=60)

    def _read(self):
        for line in self._proc.stdout:
            self._answers.put(json.loads(line))
        self._answers.put(None)  # the script ended

    def _answer(self, timeout):
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"firefox_page.mjs did not answer within {timeout} s") from None
        if answer is None:
            self._log.seek(0)
            raise AssertionError(f"firefox_page.mjs ended: {self._log.read()[-2000:]}")
        if not answer["ok"]:
            raise AssertionError(f"in Firefox: {answer['error']}")
        return answer["value"]

    def _call(self, op, timeout=60, **args):
        self._proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self._proc.stdin.flush()
        return self._answer(timeout)

    def goto(self, url):
        self._call("goto", url=url, timeout=READY_TIMEOUT_S)

    def evaluate(self, expression):
        return self._call("evaluate", expression=expression)

    def click(self, selector):
        self._call("click", selector=selector)

    def select(self, selector, value):
        self._call("select", selector=selector, value=value)

    def stroke(self, points):
        self._call("stroke", points=points)

    def screenshot(self, path):
        self._call("screenshot", path=str(path))

    def errors(self):
        return self._call("errors")

    def close(self):
        try:
            self._proc.stdin.write(json.dumps({"op": "close"}) + "\n")
            self._proc.stdin.close()
            self._proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()


def firefox_page():
    executable = shutil.which("firefox-esr") or shutil.which("firefox")
    if not executable:
        pytest.skip("Firefox is not installed (apt-get install firefox-esr)")
    if not shutil.which("node"):
        pytest.skip("Node is not installed (needed to drive Firefox with puppeteer-core)")
    if not (HERE / "node_modules" / "puppeteer-core").is_dir():
        pytest.skip("puppeteer-core is not installed: make test installs it (npm ci in tests/e2e)")
    return FirefoxPage(executable)


# ---- WebKit: MiniBrowser through WebKitWebDriver and Selenium, in an Xvfb display ---------------

# Records the page's errors from the moment it is installed (see the module docstring).
RECORD_ERRORS_JS = """
if (!window.__testErrors) {
  const errors = window.__testErrors = [];
  const consoleError = console.error.bind(console);
  console.error = (...args) => { errors.push(args.map(String).join(' ')); consoleError(...args); };
  addEventListener('error', (e) => errors.push(String(e.message)));
  addEventListener('unhandledrejection', (e) => errors.push(`unhandled rejection: ${e.reason}`));
}
"""


class WebKitPage:
    def __init__(self, driver_path, minibrowser):
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        self._xvfb = None
        env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LANG") and not k.startswith("LC_")}
        env["LC_ALL"] = "C.UTF-8"  # WebKitGTK then reports the language tag 'C' (under plain C: 'en-US')
        if shutil.which("Xvfb"):
            self._xvfb, env["DISPLAY"] = start_xvfb()
        options = Options()
        options.binary_location = minibrowser
        options.add_argument("--automation")
        self._log = tempfile.TemporaryFile(mode="w+")
        service = Service(executable_path=driver_path, env=env, log_output=self._log)
        try:
            self.driver = webdriver.WebKitGTK(options=options, service=service)
        except Exception:
            self._stop_xvfb()
            raise
        self.driver.set_window_size(1280, 900)
        self.version = f"{self.driver.capabilities.get('browserName')} {self.driver.capabilities.get('browserVersion')}"

    def goto(self, url):
        self.driver.get(url)
        self.driver.execute_script(RECORD_ERRORS_JS)

    def evaluate(self, expression):
        return self.driver.execute_script(f"return ({expression});")

    def click(self, selector):
        self.driver.find_element("css selector", selector).click()

    def select(self, selector, value):
        from selenium.webdriver.support.ui import Select

        Select(self.driver.find_element("css selector", selector)).select_by_value(value)

    def stroke(self, points):
        from selenium.webdriver.common.actions.action_builder import ActionBuilder

        actions = ActionBuilder(self.driver, duration=10)
        actions.pointer_action.move_to_location(*map(round, points[0])).pointer_down()
        for p in points[1:]:
            actions.pointer_action.move_to_location(*map(round, p))
        actions.pointer_action.pointer_up()
        actions.perform()

    def screenshot(self, path):
        self.driver.save_screenshot(str(path))

    def errors(self):
        return self.evaluate("window.__testErrors")

    def close(self):
        try:
            self.driver.quit()
        finally:
            self._stop_xvfb()

    def _stop_xvfb(self):
        if self._xvfb:
            self._xvfb.terminate()
            self._xvfb.wait(timeout=10)


def start_xvfb():
    """An Xvfb server on a free display: (process, ':N')."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1400x1000x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        raise AssertionError("Xvfb did not start")
    return proc, f":{number}"


def webkit_page():
    driver = shutil.which("WebKitWebDriver")
    if not driver:
        pytest.skip("WebKit is not installed (apt-get install webkit2gtk-driver: WebKitWebDriver and MiniBrowser)")
    minibrowser = next(iter(sorted(glob.glob("/usr/lib/*/webkit2gtk-4.*/MiniBrowser"), reverse=True)), None)
    if not minibrowser:
        pytest.skip("WebKitGTK's MiniBrowser is not installed (apt-get install webkit2gtk-driver)")
    if not shutil.which("Xvfb") and not os.environ.get("DISPLAY"):
        pytest.skip("no display for WebKit: apt-get install xvfb")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    return WebKitPage(driver, minibrowser)


# ---- the tests, the same in both browsers ------------------------------------------------------


@pytest.fixture(scope="module", params=["firefox", "webkit"])
def other(request, site_url):
    """The page loaded and Ready in Firefox or WebKit, for this module: (name, page)."""
    page = firefox_page() if request.param == "firefox" else webkit_page()
    try:
        page.goto(site_url)
        wait_until(page, "document.getElementById('status').dataset.phase === 'ready'"
                         " || document.getElementById('status').dataset.phase === 'failed'", timeout=READY_TIMEOUT_S)
        print(f"\n{request.param}: {page.version}")
        yield request.param, page
    finally:
        page.close()


@pytest.fixture(scope="module")
def fast_run(other):
    """The Fast preset trained once on the module's page, with the default number of workers;
    its lastRun."""
    name, page = other
    page.select("#preset", "fast")
    runs = page.evaluate("window.pynet.runs || 0")
    page.click("#train")
    wait_until(page, f"(window.pynet.runs || 0) > {runs} && window.pynet.state === 'idle'", timeout=FAST_TIMEOUT_S)
    run = page.evaluate("window.pynet.lastRun")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(SCREENSHOTS / f"{name}-after-fast.png")
    print(f"\n{name}, Fast: {run['testAcc']:.2%} test, run {run['seconds']:.1f} s, "
          f"{run['samplesPerS']:.0f} samples/s, 87% at {run['reached87']} s")
    return run


def test_ready_with_one_worker_by_default(other):
    name, page = other
    assert page.evaluate("document.getElementById('status').textContent.trim()") == "Ready"
    # one worker whatever the browser reports (WebKit reports at least 4 cores on any machine)
    cores = page.evaluate("navigator.hardwareConcurrency")
    assert page.evaluate("document.getElementById('workers').value") == "1"
    options = page.evaluate("[...document.querySelectorAll('#workers option')].map((o) => o.value)")
    assert options == [str(k) for k in range(1, min(cores, 4) + 1)]
    assert page.errors() == []


@pytest.mark.parametrize("digit", ["0", "1", "7"])
def test_drawn_digit_is_read(other, digit):
    name, page = other
    page.click("#clear")
    page.evaluate("document.getElementById('draw').scrollIntoView({ block: 'center' })")
    box = page.evaluate("(() => { const r = document.getElementById('draw').getBoundingClientRect();"
                        " return [r.left, r.top, r.width / 280, r.height / 280]; })()")
    before = page.evaluate("window.pynet.predictions || 0")
    for stroke in DIGITS[digit]:
        page.stroke(interpolate([(box[0] + x * box[2], box[1] + y * box[3]) for x, y in stroke]))
    wait_until(page, f"(window.pynet.predictions || 0) > {before}", timeout=20)
    # the reading that follows the end of the stroke (earlier ones saw part of it)
    try:
        wait_until(page, f"document.getElementById('prediction').textContent.trim() === {digit!r}", timeout=10)
    except AssertionError:
        read = page.evaluate("document.getElementById('prediction').textContent")
        raise AssertionError(f"{name} read {read!r} for a drawn {digit}") from None
    assert page.evaluate("document.querySelector('#probabilities li.best .digit').textContent") == digit
    assert page.errors() == []


def interpolate(points, steps=4):
    """The stroke's points with steps - 1 more between each two, as a hand moves."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        out += [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(1, steps + 1)]
    return out


def test_fast_preset_trains(other, fast_run):
    name, page = other
    assert fast_run["reason"] == "completed" and fast_run["workers"] == 1, fast_run
    assert fast_run["testAcc"] > 0.8, fast_run["testAcc"]
    assert float(page.evaluate("document.getElementById('test-acc').textContent").rstrip("%")) > 80
    assert len(fast_run["losses"]) == 80  # 2 epochs of ceil(5000 / 128) batches
    assert fast_run["lastLoss"] < 0.6 * fast_run["firstLoss"], fast_run
    assert "trained" in page.evaluate("document.getElementById('model-name').textContent")
    assert page.errors() == []


def test_charts_are_drawn(other, fast_run):
    name, page = other
    if name == "webkit":
        # the condition under which uPlot threw at load: no valid locale
        assert page.evaluate(BROWSER_LANGUAGE_JS) == "C"
    loss, accuracy = page.evaluate(CURVE_PIXELS_JS)
    assert loss > 50 and accuracy > 20, (loss, accuracy)
    assert page.errors() == []

