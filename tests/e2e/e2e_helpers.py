"""Helpers shared by the browser tests and their conftest (kept out of conftest.py, so
the tests import them by a name no other conftest can shadow): waiting on the page's state,
drawing, training from the form, resetting a page to a known state, and the native side
(pynet run in this process on the same pixels, model files and test images as the page)."""

import base64
import functools
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
SYSTEM_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
READY_TIMEOUT_S = 120
FAST_TIMEOUT_S = 90


def site_builder():
    """build/make_site.py: builds dist/ and serves it under a sub-path, like GitHub Pages."""
    if str(ROOT / "build") not in sys.path:
        sys.path.insert(0, str(ROOT / "build"))
    import make_site

    return make_site


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


def wait_ready(page, timeout=READY_TIMEOUT_S):
    wait_until(page, "document.getElementById('status').dataset.phase === 'ready'"
                     " || document.getElementById('status').dataset.phase === 'failed'", timeout=timeout)
    assert page.get_attribute("#status", "data-phase") == "ready", page.text_content("#status")


# ---- drawing ---------------------------------------------------------------------------------


def state(page):
    return page.evaluate("window.pynet.state")


def stroke(page, points, steps=4):
    """Draw one stroke through points given in canvas units (0..280)."""
    box = page.locator("#draw").bounding_box()
    sx, sy = box["width"] / 280, box["height"] / 280
    xy = [(box["x"] + x * sx, box["y"] + y * sy) for x, y in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for p in xy[1:]:
        page.mouse.move(*p, steps=steps)
    page.mouse.up()


def ellipse(cx, cy, rx, ry, n=36):
    return [(cx + rx * math.sin(2 * math.pi * k / n), cy - ry * math.cos(2 * math.pi * k / n)) for k in range(n + 1)]


DIGITS = {
    "0": [ellipse(140, 140, 58, 95)],
    "1": [[(150, 40), (145, 140), (138, 240)]],
    "7": [[(70, 55), (150, 52), (215, 55), (185, 120), (155, 185), (130, 245)]],
}

# the reading shown is that of the pad and the model as they are now: every reading asked for is answered
READING_CURRENT = "window.pynet.predictionAnswered === window.pynet.predictionsAsked"


def wait_reading(page, asked_before, timeout=10.0):
    """Wait until a reading asked for after asked_before (window.pynet.predictionsAsked) and
    every later one are answered; return the digit shown."""
    wait_until(page, f"window.pynet.predictionsAsked > {asked_before} && {READING_CURRENT}", timeout=timeout)
    return page.text_content("#prediction").strip()


def draw_and_read(page, digit, timeout=10.0):
    """Clear, draw the digit, wait for the reading of the finished drawing; return it."""
    page.click("#clear")
    # the whole pad must be on screen: strokes outside the viewport reach nothing
    page.evaluate("document.getElementById('draw').scrollIntoView({ block: 'center' })")
    asked = page.evaluate("window.pynet.predictionsAsked")
    for s in DIGITS[digit]:
        stroke(page, s)
    return wait_reading(page, asked, timeout)


def activation_view(page):
    """(number of hidden layers shown, each one's pixels (the data URLs of its canvases: a dense
    layer's strip, a conv or pool layer's feature maps), each one's aria-label)."""
    return page.evaluate("""(() => {
        const rows = [...document.querySelectorAll('#activations .layer')];
        return [rows.length, rows.map((r) => [...r.querySelectorAll('canvas')].map((c) => c.toDataURL()).join(' ')),
                rows.map((r) => r.querySelector('[role=img]').getAttribute('aria-label'))];
    })()""")


def feature_maps(page, pixels=False):
    """Each conv or pool layer's feature maps on the page: [{'label': its aria-label, 'name': its
    caption, 'tiles': [[width, height, how many of its pixels are not black]], and with pixels,
    'pixels': each tile's grey levels row by row}]."""
    return page.evaluate("""(pixels) => [...document.querySelectorAll('#activations .layer .maps')].map((group) => {
        const canvases = [...group.querySelectorAll('canvas')];
        const grey = canvases.map((c) => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            return Array.from({ length: d.length / 4 }, (_, i) => d[4 * i]);
        });
        return {
            label: group.getAttribute('aria-label'),
            name: group.parentElement.querySelector('.layer-name').textContent,
            tiles: canvases.map((c, i) => [c.width, c.height, grey[i].filter((v) => v > 0).length]),
            ...(pixels ? { pixels: grey } : {}),
        };
    })""", pixels)


def pad_pixels(page):
    """The drawing pad's RGBA pixels as the page has them: uint8 array (height, width, 4)."""
    width, height, b64 = page.evaluate("""(() => {
        const c = document.getElementById('draw');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = '';
        for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
        return [c.width, c.height, btoa(s)];
    })()""")
    return np.frombuffer(base64.b64decode(b64), dtype=np.uint8).reshape(height, width, 4)


# ---- training from the form ------------------------------------------------------------------


def set_form(page, **values):
    ids = {"network": "#network", "learning_rate": "#lr", "epochs": "#epochs", "batch_size": "#batch",
           "train_size": "#train-size", "seed": "#seed"}
    for key, value in values.items():
        if key in ("activation", "optimizer", "dataset", "preset", "schedule", "augment"):
            page.select_option(f"#{key}", value)
        else:
            page.fill(ids[key], str(value))


def start_run(page, **values):
    """Press Train with the Fast preset changed by values; the number of runs ended before it."""
    page.select_option("#preset", "fast")
    set_form(page, **values)
    runs = page.evaluate("window.pynet.runs || 0")
    page.click("#train")
    # a run that diverges at once can end between two polls: seeing it ended counts as started
    wait_until(page, f"window.pynet.state === 'running' || (window.pynet.runs || 0) > {runs}", timeout=20)
    return runs


def wait_idle(page, runs, timeout=FAST_TIMEOUT_S):
    wait_until(page, f"(window.pynet.runs || 0) > {runs} && window.pynet.state === 'idle'", timeout=timeout)


def short_run(page, **values):
    """A short completed run (1 epoch of 1,000 images unless told otherwise); its lastRun."""
    runs = start_run(page, **{"epochs": 1, "train_size": 1000, **values})
    wait_idle(page, runs)
    return page.evaluate("window.pynet.lastRun")


# ---- model files -----------------------------------------------------------------------------


def model_action(page, selector, prefix, timeout=15):
    """Click a model button (save, restore, reset) and wait for its message; return the message."""
    page.evaluate("document.getElementById('model-message').textContent = ''")
    page.click(selector)
    wait_until(page, f"document.getElementById('model-message').textContent.startsWith({prefix!r})", timeout=timeout)
    return page.text_content("#model-message")


def upload(page, path):
    """Upload a model file; the message shown once the page has answered."""
    page.evaluate("document.getElementById('model-message').textContent = ''")
    page.set_input_files("#upload", str(path))
    wait_until(page, "document.getElementById('model-message').textContent !== ''", timeout=15)
    return page.text_content("#model-message")


def download(page, path):
    """Download the current model from the page into path."""
    with page.expect_download() as info:
        page.click("#download")
    info.value.save_as(path)
    return path


# ---- a known state ---------------------------------------------------------------------------

IS_DEFAULT_MODEL = "document.getElementById('model-info').textContent.includes('the default model')"


def reset_page(page, workers="1"):
    """Bring a loaded page of the site back to a known state: ready and idle, no run, the
    default model and no trained model on offer, the Fast preset in the form, `workers` workers
    (None: left as is), an empty pad, every <details> panel closed, no model saved in the browser,
    no model message."""
    if page.get_attribute("#status", "data-phase") == "failed":
        page.reload()
    wait_ready(page)
    wait_until(page, "window.pynet.ready && ['idle', 'running', 'paused'].includes(window.pynet.state)", timeout=60)
    if state(page) in ("running", "paused"):
        runs = page.evaluate("window.pynet.runs || 0")
        page.click("#stop")
        wait_idle(page, runs, timeout=30)
    if page.is_visible("#offer"):  # a trained model on offer: keep the one in use
        page.click("#keep-current")
        wait_until(page, "document.getElementById('offer').hidden", timeout=10)
    if workers is not None:
        page.select_option("#workers", workers)
    page.select_option("#preset", "fast")
    page.evaluate("document.querySelectorAll('details[open]').forEach((d) => { d.open = false; })")
    page.click("#clear")
    if not page.evaluate(IS_DEFAULT_MODEL):
        model_action(page, "#reset-model", "The default model is in use again")
    deleted = page.evaluate("""() => new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase('pynet');
        request.onsuccess = () => resolve(true);
        request.onerror = () => reject(request.error);
        request.onblocked = () => resolve(false);
    })""")
    assert deleted, "the page's IndexedDB could not be deleted (a connection stayed open)"
    page.evaluate("document.getElementById('model-message').textContent = ''")


# ---- the native side -------------------------------------------------------------------------


@functools.cache
def site_data(split):
    """A split of the site's own small data file, as the page has it ('test': the 10,000 test
    images the page evaluates on): (images (784, m) uint8, labels (m,) int64)."""
    import pynet

    images, labels = pynet.load_npz(DIST / "data" / "mnist-small.npz")[split]
    return images.T, labels.astype(np.int64)


def default_model():
    """The site's default model, read natively from the file the page loads."""
    import pynet

    return pynet.load(DIST / "models" / "default.npz")


def native_reading(net, rgba):
    """What native pynet reads on a pad's RGBA pixels: (image28 (784,), probabilities (10,)),
    as the page's worker is given them (an all-transparent canvas is read as grey)."""
    import pynet

    image = rgba[..., 3] if rgba[..., 3].max() == 0 else rgba
    x = pynet.preprocess(image)
    return x[:, 0].astype(np.float64), net.forward(x)[:, 0].astype(np.float64)


# The page rounds image28 to 3 decimals and the probabilities to 5 (pynet/page/reading.py); the rest
# is float32 arithmetic in another order (einsum in wasm, BLAS natively).
IMAGE28_TOLERANCE = 0.5e-3 + 1e-6
PROBABILITY_TOLERANCE = 0.5e-5 + 2e-5


def assert_reading_is_native(page, net):
    """The 28x28 image and the probabilities the page received for what is on its pad equal
    native preprocess + predict with net on the same pixels; returns the native probabilities."""
    wait_until(page, READING_CURRENT, timeout=10)
    image28, probabilities = native_reading(net, pad_pixels(page))
    shown = page.evaluate("[window.pynet.lastImage28, window.pynet.lastPrediction]")
    np.testing.assert_allclose(shown[0], image28, rtol=0, atol=IMAGE28_TOLERANCE, err_msg="28x28 image")
    np.testing.assert_allclose(shown[1], probabilities, rtol=0, atol=PROBABILITY_TOLERANCE, err_msg="probabilities")
    assert page.text_content("#prediction").strip() == str(int(np.argmax(probabilities)))
    return probabilities


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


# ---- accessibility (test_accessibility.py; any test may check the state it leaves the page in) --

AXE_JS = ROOT / "tests" / "e2e" / "node_modules" / "axe-core" / "axe.min.js"
AXE_IMPACTS = ("serious", "critical")


def axe_violations(page, impacts=AXE_IMPACTS):
    """axe-core's violations on the page as it is now, of the given impacts: [{'id', 'impact',
    'help', 'nodes': [(target, failure summary), ...]}]. axe is injected by evaluating its source
    (the page's CSP forbids a script it did not list; page.evaluate is not subject to it)."""
    import pytest

    if not AXE_JS.is_file():
        pytest.skip("axe-core is not installed: make test installs it (npm ci in tests/e2e)")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    found = page.evaluate("""async (impacts) => {
        const { violations } = await window.axe.run(document, { resultTypes: ['violations'] });
        return violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => [n.target.join(' '), n.failureSummary]) }));
    }""", list(impacts))
    return found


def assert_no_serious_axe(page, state):
    """Fail, listing each one, when axe-core finds a serious or critical violation on the page in
    the state named (such as 'idle' or 'training', for the message)."""
    found = axe_violations(page)
    lines = [f"{v['impact']} {v['id']}: {v['help']}" + "".join(f"\n    {t}: {s}" for t, s in v["nodes"][:8])
             for v in found]
    assert not found, f"axe, page {state}: {len(found)} serious or critical violations\n" + "\n".join(lines)
