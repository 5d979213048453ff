"""The training form's network field in the page: hidden sizes or a spec (pynet/spec.py), each
layer's output shown as it is typed, impossible networks refused with their one line, and a conv
network trained in the page's worker (test_parallel_page.py trains one with two workers).

The shared page of test_page.py, reset before each test (e2e_helpers.reset_page)."""

import time

import numpy as np
import pytest

import pynet
from e2e_helpers import IS_DEFAULT_MODEL, download, draw_and_read, set_form, site_data, start_run, state, wait_idle, \
    wait_until

pytestmark = pytest.mark.browser

SMALL_CONV = "conv 4@5x5, pool 2, dense 10"
LENET = "conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10"
CONV_RUN_S = 60  # a small conv network on the 5,000 images, from Train to its end
# the description shown is that of the form as it is
DESCRIBED = ("window.pynet.networkDescribed === window.pynet.networkAsked"
             " && window.pynet.networkDescribedText === document.getElementById('network').value.trim()")


def described(page):
    """The network field's description as shown: (each layer's text, the summary line, a refusal)."""
    return page.evaluate("""(() => {
        const box = document.getElementById('network-description');
        return [[...box.querySelectorAll('.net-layers li')].map((li) => li.textContent),
                box.querySelector('.net-summary')?.textContent ?? null,
                box.querySelector('.message.error')?.textContent ?? null];
    })()""")


def type_network(page, text, delay_ms=0):
    """Replace the network field's text (typed key by key with delay_ms between keys), and wait
    until the description shown is that of the text typed."""
    asked = page.evaluate("window.pynet.networkAsked || 0")
    page.fill("#network", "")
    page.type("#network", text, delay=delay_ms)
    wait_until(page, f"window.pynet.networkAsked > {asked} && {DESCRIBED}", timeout=20)
    return described(page)


def test_the_description_shows_each_layer_as_you_type(app):
    page, _ = app
    assert "network-description" in page.get_attribute("#network", "aria-describedby").split()
    # the default preset's hidden sizes
    wait_until(page, DESCRIBED, timeout=20)
    layers, summary, refusal = described(page)
    assert layers == ["input 784", "dense 128 → 128", "dense 10 → 10"] and refusal is None
    assert summary.startswith("101,770 parameters")
    # typed key by key: described as typing pauses, not at every key
    asked = page.evaluate("window.pynet.networkAsked")
    layers, summary, refusal = type_network(page, LENET, delay_ms=20)
    assert page.evaluate("window.pynet.networkAsked") - asked < len(LENET) / 2  # keys 20 ms apart: few pauses
    assert layers == ["input 1×28×28", "conv 8@5x5 → 8×24×24", "pool 2 → 8×12×12", "conv 16@5x5 → 16×8×8",
                      "pool 2 → 16×4×4", "dense 128 → 128", "dense 10 → 10"], layers
    assert refusal is None
    plan_bytes = pynet.spec.plan(LENET).training_bytes(128)
    assert summary == (f"37,610 parameters; training takes about {-(-plan_bytes // 2**20)} MB "
                       f"with batches of 128 images."), summary
    # half typed: why it is not a network yet, in the page's words; nothing marked before Train
    layers, _, refusal = type_network(page, "conv 8@5x5, pool 2, dense 12")
    assert layers == [] and refusal == "the last layer must be dense 10 (one unit per class), got dense 12"
    assert page.locator("#train-form [aria-invalid=true]").count() == 0
    # a full batch of 5,000 images: the memory follows the batch size (too much for a conv network)
    type_network(page, "32")
    asked = page.evaluate("window.pynet.networkAsked")
    set_form(page, batch_size=0)
    wait_until(page, f"window.pynet.networkAsked > {asked} && {DESCRIBED}", timeout=20)
    assert described(page)[1].endswith("with batches of 5,000 images.")
    assert type_network(page, SMALL_CONV)[2].startswith("the network would need about 770 MB of memory to train on "
                                                        "batches of 5,000 images")
    # a preset is described as soon as it is chosen
    asked = page.evaluate("window.pynet.networkAsked")
    page.select_option("#preset", "conv")
    wait_until(page, f"window.pynet.networkAsked > {asked} && {DESCRIBED}", timeout=20)
    assert page.input_value("#network") == LENET and described(page)[0][1] == "conv 8@5x5 → 8×24×24"


@pytest.mark.parametrize("network, words", [
    ("conv 8@30x30, dense 10", "layer 1 (conv 8@30x30): its 30x30 kernel is larger than its 28x28 input"),
    ("conv 8@5x5, pool 5, dense 10", "layer 2 (pool 5): pooling by 5 does not divide its 24x24 input"),
    ("conv 8@5x5, pool 2, dense 128, dense 9", "the last layer must be dense 10 (one unit per class), got dense 9"),
    ("conv 0@5x5, dense 10", "layer 1 (conv 0@5x5): the number of channels must be at least 1, got 0"),
    ("conv 8@5x5 stride 0, dense 10", "layer 1 (conv 8@5x5 stride 0): the stride must be at least 1, got 0"),
    ("conv 64@5x5, conv 64@5x5, dense 1024, dense 10", "the network would need about 1.1 GB of memory to train on "
                                                       "batches of 128 images, more than the 256 MB this page allows"),
])
def test_an_impossible_network_is_refused_with_its_line(app, network, words):
    """Refused when Train is pressed: its line in the form's message and under the field, the
    field marked, nothing started, and the model in use still reads drawings."""
    page, _ = app
    model = page.text_content("#model-info")
    type_network(page, network)
    assert described(page)[2] == words or described(page)[2].startswith(words)
    errors = page.evaluate("window.pynet.formErrors || 0")
    page.press("#network", "Enter")  # Enter trains, as in the other fields (the network field is a textarea that wraps)
    wait_until(page, f"(window.pynet.formErrors || 0) > {errors}", timeout=10)
    assert page.text_content("#form-message").startswith(f"Not started: {words}")
    assert described(page) == [[], None, None]  # the line is not shown twice
    assert page.evaluate("[...document.querySelectorAll('#train-form [aria-invalid=true]')].map((e) => e.id)") == [
        "network"]
    assert state(page) == "idle" and page.text_content("#model-info") == model and page.evaluate(IS_DEFAULT_MODEL)
    assert draw_and_read(page, "7") == "7"
    # put right, the mark and the message go as soon as the description is back
    type_network(page, SMALL_CONV)
    assert page.locator("#train-form [aria-invalid=true]").count() == 0
    assert page.text_content("#form-message") == ""


def test_a_conv_network_trains_in_the_page(app, tmp_path):
    """A small conv network on the 5,000 images: well above chance in under a minute; its model
    is in use, downloads as a conv model file, and gives native pynet the page's accuracy."""
    page, _ = app
    t = time.monotonic()
    runs = start_run(page, network=SMALL_CONV, epochs=2, train_size=5000, learning_rate=0.01, seed=0)
    wait_idle(page, runs, timeout=CONV_RUN_S)
    seconds = time.monotonic() - t
    run = page.evaluate("window.pynet.lastRun")
    assert run["reason"] == "completed" and run["step"] == run["totalSteps"] == 80, run
    assert run["testAcc"] > 0.8, run
    assert page.text_content("#train-message").startswith("Done")
    assert "trained" in page.text_content("#model-info")
    net = pynet.load(download(page, tmp_path / "conv.npz"))
    assert net.spec == SMALL_CONV and net.parameters["W1"].shape == (4, 1, 5, 5)
    X, y = site_data("test")
    assert run["testAcc"] == np.mean(net.predict(X) == y)
    draw_and_read(page, "1")  # the conv model reads drawings
    print(f"\n{SMALL_CONV}: {run['testAcc']:.1%} on test after {seconds:.1f} s, {run['samplesPerS']:.0f} samples/s")


def test_the_augment_control_reaches_the_run(app):
    """Augment: the run's settings (TrainConfig.augment) are the control's; a preset turns it off."""
    page, _ = app
    for augment in ("elastic", "off"):
        runs = start_run(page, augment=augment, network=SMALL_CONV, epochs=1, train_size=500)
        wait_idle(page, runs, timeout=CONV_RUN_S)
        assert page.evaluate("window.pynet.lastRun.reason") == "completed"
        assert page.evaluate("window.pynet.lastRun.augment") == augment
    page.select_option("#augment", "affine")
    page.select_option("#preset", "fast")
    assert page.input_value("#augment") == "off"


def test_a_conv_run_pauses_and_stops_promptly(app):
    """The page's worker answers between two time slices of a conv run (a slice is at least one
    batch): pause is held, a drawing is read while paused, and stop offers what was trained."""
    page, _ = app
    runs = start_run(page, network=LENET, epochs=20, train_size=5000)
    wait_until(page, "(window.pynet.run?.step ?? 0) > 3", timeout=60)
    answered = page.evaluate("window.pynet.pausesAnswered || 0")
    t = time.monotonic()
    page.click("#pause")
    wait_until(page, f"(window.pynet.pausesAnswered || 0) > {answered}", timeout=10, interval=0.01)
    pause_s = time.monotonic() - t
    held = page.evaluate("window.pynet.run.step")
    assert draw_and_read(page, "1") in "0123456789"
    assert page.evaluate("window.pynet.run.step") == held
    page.click("#pause")
    wait_until(page, f"window.pynet.run.step > {held}", timeout=20)
    page.click("#stop")
    wait_idle(page, runs, timeout=30)
    run = page.evaluate("window.pynet.lastRun")
    stop_ms = page.evaluate("window.pynet.lastRun.endedAt - window.pynet.stopClickedAt")
    assert run["reason"] == "stopped" and page.is_visible("#offer") and page.evaluate(IS_DEFAULT_MODEL)
    print(f"\nconv run: pause answered in {pause_s:.2f} s, stop in {stop_ms:.0f} ms, "
          f"{run['samplesPerS']:.0f} samples/s")
