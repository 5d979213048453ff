"""Readable for everyone: axe-core finds no serious or critical violation in each of the page's
states; the loss shows as a number and each chart has a text alternative with its latest
values; the training form's first row holds at desktop width; at phone width, with touch, a
digit is drawn, read, explained, and a network trained."""

import numpy as np
import pytest

from e2e_helpers import (assert_no_serious_axe, assert_reading_is_native, default_model, draw_and_read, ellipse,
                         short_run, start_run, wait_idle, wait_ready, wait_until)
from test_page_why import wait_explanation

PHONE = {"width": 390, "height": 844}



def axe_at_phone_width(page, state):
    page.set_viewport_size(PHONE)
    try:
        assert_no_serious_axe(page, state)
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})

def test_no_serious_violation_idle_training_paused_offered_and_analysed(app):
    page, _ = app
    assert_no_serious_axe(page, "idle, nothing drawn")
    draw_and_read(page, "7")
    wait_explanation(page)
    assert_no_serious_axe(page, "idle, a digit drawn and explained")
    runs = start_run(page, epochs=40, train_size=5000)
    wait_until(page, "window.pynet.state === 'running' && (window.pynet.run?.losses?.length ?? 0) > 0", timeout=30)
    assert_no_serious_axe(page, "training")
    page.click("#pause")
    wait_until(page, "window.pynet.state === 'paused' && window.pynet.pausesAnswered > 0", timeout=20)
    assert_no_serious_axe(page, "paused")
    page.click("#stop")
    wait_idle(page, runs, timeout=30)
    assert page.is_visible("#offer"), "a stopped run offers its model"
    assert_no_serious_axe(page, "after a run, its model on offer")
    page.click("#analysis summary")
    # the test set evaluated in slices (slow with the conv default model on a busy machine)
    wait_until(page, "window.pynet.analysedModel === window.pynet.modelShown"
                     " && document.querySelectorAll('#confusion button.cell').length === 100", timeout=180)
    page.click("#confusion button.cell[data-true='7'][data-predicted='7']")
    wait_until(page, "document.querySelectorAll('#cell-images .tile').length > 0", timeout=30)
    assert_no_serious_axe(page, "the confusion matrix open, a cell's images shown")
    axe_at_phone_width(page, "at phone width")



def test_no_serious_violation_with_samples_kept_a_run_listed_and_stepping(app):
    """The views issue 12 added, in use together: a sample kept, a run in the history, and the
    step-through view showing a step."""
    page, _ = app
    assert draw_and_read(page, "7") == "7"
    page.click("[aria-label=\"That's wrong, it's a 1\"]")
    wait_until(page, "window.pynet.samples >= 1", timeout=30)
    kept = page.evaluate("window.pynet.history.keys.length")
    short_run(page)
    wait_until(page, f"window.pynet.history.keys.length > {kept}", timeout=30)
    page.check("#history-body input[type=checkbox]")
    page.click("#step-run")
    wait_until(page, "window.pynet.stepper && window.pynet.stepper.index === 0", timeout=90)
    page.click("#step-next")
    wait_until(page, "window.pynet.stepper.index === 1", timeout=30)
    assert_no_serious_axe(page, "a sample kept, a run listed and overlaid, a step shown")
    axe_at_phone_width(page, "the same at phone width")

def test_the_loss_and_each_charts_latest_values_are_text(app):
    page, _ = app
    runs = start_run(page, epochs=40, train_size=5000)
    wait_until(page, "(window.pynet.run?.losses?.length ?? 0) > 3 && document.getElementById('loss-value').textContent !== '–'",
               timeout=30)
    page.click("#stop")
    wait_idle(page, runs, timeout=30)
    losses = [y for y in page.evaluate("window.pynet.lastRun.losses") if y is not None]
    last = float(page.text_content("#loss-value"))
    assert last == pytest.approx(losses[-1], rel=1e-3)
    assert page.get_attribute("#loss", "role") == "img"
    wait_until(page, "document.getElementById('loss').getAttribute('aria-label').includes('latest')", timeout=5)
    label = page.get_attribute("#loss", "aria-label")
    assert f"latest {last:.4g}" in label and f"lowest {min(losses):.4g}" in label, label
    # a completed run: its epochs' accuracies, as the figures beside the chart show them
    short_run(page, epochs=2)
    wait_until(page, "document.getElementById('acc-chart').getAttribute('aria-label').includes('epoch 2')", timeout=5)
    label = page.get_attribute("#acc-chart", "aria-label")
    test_acc, train_acc = page.text_content("#test-acc"), page.text_content("#train-acc")
    assert label.startswith("Accuracy chart after epoch 2: ") and f"train {train_acc}," in label and \
        label.endswith(f"test {test_acc}."), (label, train_acc, test_acc)
    assert page.text_content("#loss-value") != "–"


@pytest.mark.parametrize("width", [1280, 1000, 901])
def test_the_preset_and_workers_controls_share_a_row_at_desktop_width(app, width):
    page, _ = app
    page.set_viewport_size({"width": width, "height": 900})
    try:
        rows = page.evaluate("""[...document.querySelectorAll('.presets > *')].map((el) => {
            const r = el.getBoundingClientRect();
            return [el.id || el.textContent, Math.round(r.top + r.height / 2)];
        })""")
        assert max(y for _, y in rows) - min(y for _, y in rows) <= 4, rows
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def touch_stroke(page, cdp, points, steps=4):
    """One stroke with a finger through points in canvas units (0..280): touch events, which the
    browser turns into the pointer events the pad listens to."""
    box = page.locator("#draw").bounding_box()
    xy = [(box["x"] + x * box["width"] / 280, box["y"] + y * box["height"] / 280) for x, y in points]
    path = [xy[0]] + [(a[0] + (b[0] - a[0]) * k / steps, a[1] + (b[1] - a[1]) * k / steps)
                      for a, b in zip(xy, xy[1:]) for k in range(1, steps + 1)]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": path[0][0], "y": path[0][1]}]})
    for x, y in path[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def touch_draw(page, cdp, strokes):
    page.tap("#clear")
    page.evaluate("document.getElementById('draw').scrollIntoView({ block: 'center' })")
    asked = page.evaluate("window.pynet.predictionsAsked")
    for s in strokes:
        touch_stroke(page, cdp, s)
    wait_until(page, f"window.pynet.predictionsAsked > {asked}", timeout=10)


@pytest.fixture
def phone(browser, site_url):
    """A page of its own at phone width with a touch screen: (page, a CDP session to touch it)."""
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site_url)
    wait_ready(page)
    yield page, context.new_cdp_session(page)
    context.close()
    assert not errors, errors


def test_at_phone_width_with_touch_draw_read_explain_and_train(phone):
    page, cdp = phone
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "nothing scrolls sideways"
    rows = page.evaluate("""['preset', 'workers'].map((id) => [document.querySelector(`label[for=${id}]`),
        document.getElementById(id)].map((el) => Math.round(el.getBoundingClientRect().top + el.offsetHeight / 2)))""")
    assert all(abs(label - control) <= 4 for label, control in rows), f"each control beside its label: {rows}"
    assert page.text_content("#loss-value") == "–"  # a fresh page: no run yet
    assert page.get_attribute("#loss", "aria-label") == "Loss chart: no training run yet."
    assert page.get_attribute("#acc-chart", "aria-label") == "Accuracy chart: no epoch ended yet."
    touch_draw(page, cdp, [ellipse(140, 140, 58, 95)])
    probabilities = assert_reading_is_native(page, default_model())
    read = int(np.argmax(probabilities))
    assert wait_explanation(page)["digit"] == read
    other = (read + 1) % 10
    page.tap(f"#why-digits button:nth-child({other + 1})")
    assert wait_explanation(page, other)["predicted"] == read
    assert_no_serious_axe(page, "at phone width, with touch, a digit explained")
    # train by touch: the Fast preset, one short epoch
    page.select_option("#preset", "fast")
    page.fill("#epochs", "1")
    page.fill("#train-size", "1000")
    page.tap("#train")
    wait_until(page, "(window.pynet.runs || 0) > 0 && window.pynet.state === 'idle'", timeout=90)
    assert page.evaluate("window.pynet.lastRun.reason") == "completed"
    assert page.text_content("#loss-value") != "–"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # the trained model reads the next drawing
    touch_draw(page, cdp, [[(150, 40), (145, 140), (138, 240)]])
    wait_until(page, "window.pynet.predictionAnswered === window.pynet.predictionsAsked", timeout=10)
    assert page.text_content("#prediction").strip().isdigit()
    assert "784-128-10" in page.text_content("#model-name")
