"""The step-through view in the page: one training iteration of the default (conv) model on a
few of the site's training images, or on a drawing with its label, walked through with the mouse,
the keyboard and touch. Every exact value the page shows is checked against the same arrays
computed natively (pynet/page/stepper.py run here on the page's model and images), the loss and
the gradients against native training's own; the model in use stays as it was."""

import numpy as np
import pytest

from pynet import bridge
from pynet.page import stepper
from pynet.page.state import STATE
from e2e_helpers import DIST, assert_reading_is_native, default_model, draw_and_read, site_data, wait_ready, wait_until

pytestmark = pytest.mark.browser

SHOWN = "window.pynet.stepper && window.pynet.stepper.index === {k} && window.pynet.stepper.runs === {runs}"
# float32 arithmetic in another order (einsum in wasm, BLAS natively), relative to each array's largest value
TOLERANCE = 2e-5


def native_steps(options, net_file=DIST / "models" / "default.npz"):
    """The steps native pynet makes for these options on the page's model and small data set:
    (the answer, [steps], [[(name, the array itself)] for each step])."""
    STATE.update(model=None, default=None, model_info={}, datasets={}, run=None, last_eval=None, helper=None,
                 steps=None)
    bridge.load_default_model(net_file.read_bytes())
    bridge.load_dataset("small", (DIST / "data" / "mnist-small.npz").read_bytes())
    seen = []
    original = stepper._array

    def keep(name, a, *args, **kwargs):
        seen.append((name, np.asarray(a)))
        return original(name, a, *args, **kwargs)

    stepper._array = keep
    try:
        answer = bridge.handle("step_through", options)["value"]
    finally:
        stepper._array = original
    steps = STATE["steps"]
    arrays, i = [], 0
    for step in steps:
        arrays.append(seen[i:i + len(step["arrays"])])
        i += len(step["arrays"])
    assert i == len(seen) and all([n for n, _ in a] == [x["name"] for x in s["arrays"]] for s, a in zip(steps, arrays))
    return answer, steps, arrays


def run(page, runs_before):
    page.click("#step-run")
    wait_until(page, SHOWN.format(k=0, runs=runs_before + 1), timeout=60)
    return runs_before + 1


def shown(page):
    """What the view shows: counter, title, formula, shapes, source caption, and the exact values
    [(array, index, text)]."""
    return page.evaluate("""(() => ({
        counter: document.getElementById('step-counter').textContent,
        title: document.getElementById('step-title').textContent,
        formula: document.getElementById('step-formula').textContent,
        shapes: document.getElementById('step-shapes').textContent,
        source: document.getElementById('step-source-name').textContent,
        code: document.getElementById('step-code').textContent,
        scalars: [...document.querySelectorAll('#step-scalars div')].map((d) => [d.querySelector('dt').textContent, d.querySelector('dd').textContent]),
        maps: [...document.querySelectorAll('#step-arrays figure')].map((f) => f.querySelectorAll('canvas:not([aria-hidden])').length),
        values: [...document.querySelectorAll('#step-values tbody tr')].map((r) => [r.dataset.array, r.dataset.index.split(',').filter((s) => s !== '').map(Number), r.querySelector('td').textContent]),
    }))()""")


def assert_step_is_native(view, step, arrays, count):
    assert view["counter"] == f"{step['index'] + 1} / {count}"
    assert (view["title"], view["formula"], view["shapes"]) == (step["title"], step["formula"], step["shapes"])
    src = step["source"]
    assert view["source"].split() == [src["name"], "·", f"{src['file']}:{src['line']}"]
    assert view["code"] == src["text"]  # the source the page's own pynet read, the same as here
    assert view["maps"] == [len(a["tiles"]) for a in step["arrays"]]
    named = dict(arrays)
    assert view["values"], step["title"]
    assert {name for name, _, _ in view["values"]} == set(named), step["title"]
    for name, index, text in view["values"]:
        expected = named[name]
        scale = float(np.abs(expected).max()) or 1.0
        assert abs(float(text) - float(expected[tuple(index)])) <= TOLERANCE * scale, (step["title"], name, index, text)
    for (name, text), s in zip(view["scalars"], step["scalars"]):
        assert name == s["name"] and float(text) == pytest.approx(float(s["value"]), rel=1e-5)


def test_stepping_through_shows_the_numbers_native_pynet_computes(app):
    page, _ = app
    net = default_model()
    start, size = 21, 3
    page.fill("#step-start", str(start))
    page.fill("#step-size", str(size))
    page.fill("#lr", "0.01")
    runs = run(page, page.evaluate("window.pynet.stepper ? window.pynet.stepper.runs : 0"))
    answer, steps, arrays = native_steps({"start": start, "size": size, "learning_rate": 0.01})
    count = answer["count"]
    assert page.evaluate("window.pynet.stepper.titles") == answer["titles"]
    summary = page.text_content("#step-summary")
    assert f"Training images no. {start}–{start + size - 1}" in summary and "the model in use does not change" in summary
    # every layer kind of the default model has its steps
    titles = " ".join(answer["titles"])
    for kind in ("input as images", "(conv 16@5x5): Z", "relu", "pool 2", "flatten", "softmax", "Loss",
                 "dZ", "dW, db, dH_prev", "Update", "After one step"):
        assert kind in titles, kind
    assert page.get_attribute("#step-prev", "disabled") is not None
    # through every step: the mouse on Next, the keyboard (ArrowRight) on the view, alternately
    for k in range(count):
        wait_until(page, SHOWN.format(k=k, runs=runs), timeout=20)
        assert_step_is_native(shown(page), steps[k], arrays[k], count)
        if k + 1 < count:
            if k % 2:
                page.click("#step-next")
            else:
                page.focus("#stepper")
                page.keyboard.press("ArrowRight")
    assert page.get_attribute("#step-next", "disabled") is not None
    page.keyboard.press("ArrowRight")  # past the last: stays
    page.focus("#stepper")
    page.keyboard.press("ArrowLeft")
    wait_until(page, SHOWN.format(k=count - 2, runs=runs), timeout=10)
    page.click("#step-prev")
    wait_until(page, SHOWN.format(k=count - 3, runs=runs), timeout=10)
    # the loss and the gradients are native training's own for that batch
    X, y = site_data("train")
    loss_sum, _, gradients = net.gradients(X[:, start:start + size], y[start:start + size])
    loss = [s for s in steps if s["phase"] == "loss"][0]
    assert float(loss["scalars"][0]["value"]) == pytest.approx(loss_sum / size, rel=1e-5)
    last = len(net.parameters) // 2
    update = [a for s, a in zip(steps, arrays) if s["title"].startswith(f"Update, layer {last}")][0]
    np.testing.assert_allclose(dict(update)[f"dW{last}"], gradients[f"dW{last}"], rtol=0, atol=1e-6)
    # the model in use has not changed: a drawing reads as with the default model
    assert draw_and_read(page, "7") == "7"
    assert_reading_is_native(page, net)


def test_a_drawing_with_the_label_the_user_gives(app):
    page, _ = app
    page.select_option("#step-source", "drawing")
    page.fill("#lr", "0.003")
    page.click("#step-run")
    assert page.text_content("#step-message") == "Draw a digit on the pad first (or choose training images)."
    assert draw_and_read(page, "1") == "1"
    page.select_option("#step-source", "batch")
    page.select_option("#step-source", "drawing")
    assert page.input_value("#step-label") == "1"  # the network's reading, for the user to correct
    page.select_option("#step-label", "7")
    runs = run(page, page.evaluate("window.pynet.stepper ? window.pynet.stepper.runs : 0"))
    image28 = page.evaluate("window.pynet.lastImage28")
    answer, steps, arrays = native_steps({"source": "drawing", "pixels": image28, "label": 7, "learning_rate": 0.003})
    assert answer["batch"] == {"labels": [7], "what": "your drawing, labelled 7"}
    assert page.text_content("#step-summary").startswith("Your drawing, labelled 7 (label 7)")
    assert_step_is_native(shown(page), steps[0], arrays[0], answer["count"])
    page.select_option("#step-jump", str(answer["titles"].index("Loss")))
    k = answer["titles"].index("Loss")
    wait_until(page, SHOWN.format(k=k, runs=runs), timeout=20)
    assert_step_is_native(shown(page), steps[k], arrays[k], answer["count"])
    net = default_model()
    p = net.forward(np.array(image28, dtype=np.float32).reshape(784, 1))[:, 0]
    assert float(steps[k]["scalars"][0]["value"]) == pytest.approx(-np.log(p[7]), rel=1e-5)
    assert shown(page)["scalars"][0][0] == "loss"
    # cleared: no drawing to step through any more
    page.click("#clear")
    page.click("#step-run")
    assert page.text_content("#step-message") == "Draw a digit on the pad first (or choose training images)."
    page.select_option("#step-source", "batch")


def test_a_refused_setting_says_why_and_keeps_the_steps_shown(app):
    page, _ = app
    runs = run(page, page.evaluate("window.pynet.stepper ? window.pynet.stepper.runs : 0"))
    page.click("#step-next")
    wait_until(page, SHOWN.format(k=1, runs=runs), timeout=10)
    before = shown(page)
    for field, value, message in (("#step-size", "99", "the number of images must be between 1 and 16, got 99"),
                                  ("#step-start", "abc", "the first image must be a whole number, got 'abc'"),
                                  ("#lr", "-1", "learning rate must be a finite number above 0, got '-1'")):
        page.fill("#step-size", "2")
        page.fill("#step-start", "0")
        page.fill("#lr", "0.003")
        page.fill(field, value)
        page.click("#step-run")
        wait_until(page, "document.getElementById('step-message').textContent.startsWith('Could not')", timeout=20)
        assert page.text_content("#step-message") == f"Could not run the iteration: {message}"
        assert shown(page) == before and page.evaluate("window.pynet.stepper.runs") == runs
        page.evaluate("document.getElementById('step-message').textContent = ''")
    page.fill("#step-size", "4")


def test_at_phone_width_with_touch(browser, site_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(site_url)
        wait_ready(page)
        page.tap("#step-run")
        wait_until(page, SHOWN.format(k=0, runs=1), timeout=60)
        page.tap("#step-next")
        wait_until(page, SHOWN.format(k=1, runs=1), timeout=20)
        assert page.text_content("#step-counter").startswith("2 / ")
        page.tap("#step-prev")
        wait_until(page, SHOWN.format(k=0, runs=1), timeout=20)
        # nothing wider than the phone's screen but the source, which scrolls in its own box
        wide = page.evaluate("""[...document.querySelectorAll('.stepper-card *')].filter((e) => {
            const r = e.getBoundingClientRect();
            return r.right > window.innerWidth + 1 && !e.closest('pre');
        }).map((e) => e.tagName + '#' + e.id + '.' + e.className)""")
        assert wide == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()



def test_axe_finds_no_violation_while_stepping(browser, site_url):
    """axe-core on the view showing a conv step, with its heat maps, exact values and source (its
    script needs the CSP bypassed, in a context of its own)."""
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(site_url)
        wait_ready(page)
        page.click("#step-run")
        wait_until(page, SHOWN.format(k=0, runs=1), timeout=60)
        page.select_option("#step-jump", "2")
        wait_until(page, SHOWN.format(k=2, runs=1), timeout=20)
        results = Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
    finally:
        context.close()
