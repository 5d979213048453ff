"""End-to-end tests of the page: real Pyodide, real training, real drawing with the mouse.

The tests share one loaded page (conftest.shared_page), which the `app` fixture brings back to
a known state before each test (e2e_helpers.reset_page), so each passes alone and in any
order. Readings and model files are checked against native pynet run on the same pixels,
files and test images.
"""

import time

import numpy as np
import pytest

import pynet
from pynet.settings import DEFAULT_MODEL, PRESETS
from e2e_helpers import (  # noqa: F401  (start_run, wait_idle: also used by the other browser tests)
    IS_DEFAULT_MODEL,
    READING_CURRENT,
    activation_view,
    assert_reading_is_native,
    default_model,
    download,
    draw_and_read,
    model_action,
    pad_pixels,
    set_form,
    short_run,
    site_data,
    start_run,
    state,
    stroke,
    upload,
    wait_idle,
    wait_reading,
    wait_ready,
    wait_until,
)

pytestmark = pytest.mark.browser

ANALYSIS_CURRENT = "window.pynet.analysedModel === window.pynet.modelShown"
# whether leaving the page now would make the browser ask first (its beforeunload is cancelled)
ASKS_BEFORE_LEAVING = """(() => {
    const event = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(event);
    return event.defaultPrevented;
})()"""


def hidden_layers_of_current_model(page):
    dims = page.text_content("#model-name").split()[-1].split("-")
    return len(dims) - 2


def confusion_shown(page):
    """The confusion matrix on the page: 10x10 counts, rows true digits, columns predicted."""
    cells = page.evaluate("""[...document.querySelectorAll('#confusion button.cell')].map(
        (b) => [Number(b.dataset.true), Number(b.dataset.predicted), Number(b.textContent)])""")
    matrix = np.zeros((10, 10), np.int64)
    for t, p, n in cells:
        matrix[t, p] = n
    assert len(cells) == 100
    return matrix


def native_confusion(net):
    X, y = site_data("test")
    matrix = np.zeros((10, 10), np.int64)
    np.add.at(matrix, (y, net.predict(X)), 1)
    return matrix


# ---- tests --------------------------------------------------------------------------------


def test_ready_without_errors_or_outside_requests(app):
    page, rec = app
    assert page.text_content("#status").strip() == "Ready"
    # nothing went wrong while the page loaded (the `app` fixture checks each test after that)
    assert rec.startup == {}, rec.startup
    # the default model and the sample strip are shown
    assert DEFAULT_MODEL["spec"] in page.text_content("#model-name")
    # the worker's Pyodide runs without stack switching (JSPI), as the Pyodide test suite under Node
    assert page.evaluate("window.pynet.jspi") is False
    wait_until(page, "document.querySelectorAll('#samples canvas').length === 24", timeout=10)
    # every start-up phase the worker said, those before app.js took it over (web/boot.js) too, in order
    log = page.evaluate("window.pynet.statusLog")
    assert [phase for phase, _ in log] == ["boot", "script", "runtime", "pynet", "data", "ready"], log
    worker_times = [ms for phase, ms in log if phase not in ("script",)]
    assert worker_times == sorted(worker_times), log
    print(f"\nready after {rec.ready_seconds:.1f} s; status log {page.evaluate('window.pynet.statusLog')}")


@pytest.mark.parametrize("digit", ["0", "1", "7"])
def test_drawn_digit_is_read(app, digit):
    page, _ = app
    assert draw_and_read(page, digit) == digit
    # ten bars with percentages, the top one highlighted
    assert page.locator("#probabilities li").count() == 10
    assert page.locator("#probabilities li.best .digit").text_content() == digit
    # the 28x28 view shows ink
    ink = page.evaluate("""(() => { const d = document.getElementById('seen').getContext('2d')
        .getImageData(0, 0, 28, 28).data; let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s; })()""")
    assert ink > 255 * 20


def test_drawn_strokes_read_as_native_pynet_reads_their_pixels(app):
    """The 28x28 image and the probabilities the page gets for a drawing equal native
    pynet.preprocess + predict on the pad's own pixels (read back with getImageData)."""
    page, _ = app
    net = default_model()
    for digit in ("0", "7"):
        draw_and_read(page, digit)
        assert_reading_is_native(page, net)
    # a small stroke off in a corner: cropping, scaling and centring all matter here
    page.click("#clear")
    asked = page.evaluate("window.pynet.predictionsAsked")
    stroke(page, [(30, 30), (60, 45), (45, 90)])
    wait_reading(page, asked)
    assert_reading_is_native(page, net)


def test_clear_empties_the_reading(app):
    page, _ = app
    draw_and_read(page, "1")
    page.click("#clear")
    assert page.text_content("#prediction").strip() == "–"
    assert page.locator("#probabilities li.best").count() == 0


def test_hidden_layer_activations_follow_the_drawing(app, native_model):
    """A dense model's hidden layer, a strip of units (a conv model's feature maps: test_page_conv.py)."""
    page, _ = app
    path, net = native_model
    assert upload(page, path).startswith("Loaded")
    assert draw_and_read(page, "1") == "1"
    n, pixels_1, labels_1 = activation_view(page)
    assert n == hidden_layers_of_current_model(page) == 1
    assert "units active" in labels_1[0], labels_1
    assert draw_and_read(page, "0") == "0"
    n, pixels_0, labels_0 = activation_view(page)
    assert n == 1
    assert pixels_0 != pixels_1, "the activation view did not change with the drawing"
    assert labels_0 != labels_1
    page.click("#clear")
    _, pixels_empty, labels_empty = activation_view(page)
    assert pixels_empty != pixels_0 and "nothing drawn" in labels_empty[0]
    draw_and_read(page, "7")
    assert_reading_is_native(page, net)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_form_offers_pynets_presets(app, name):
    """The page's presets are pynet/settings.py's (the build writes them into settings.json)."""
    page, _ = app
    page.select_option("#preset", name)
    ids = {"network": "#network", "learning_rate": "#lr", "epochs": "#epochs", "batch_size": "#batch",
           "train_size": "#train-size", "seed": "#seed", "activation": "#activation", "optimizer": "#optimizer",
           "dataset": "#dataset", "schedule": "#schedule"}
    assert sorted(ids) == sorted(PRESETS[name])
    assert {key: page.input_value(css) for key, css in ids.items()} == {k: str(v) for k, v in PRESETS[name].items()}
    assert page.input_value("#augment") == "off"  # a preset is a whole recipe: no augmentation
    page.fill("#epochs", "7")  # a changed field makes it a custom recipe
    assert page.input_value("#preset") == "custom"


@pytest.mark.parametrize("field,value,words", [
    ("network", "0", "layer sizes are at least 1"),
    ("network", "784,0,10", "layer sizes are at least 1"),
    ("network", "abc", "neither layer sizes nor layers"),
    ("network", "-5", "layer sizes are at least 1"),
    ("network", "", "give the network"),
    ("network", "100000", "memory"),
    ("learning_rate", "0", "learning rate"),
    ("learning_rate", "-1", "learning rate"),
    ("learning_rate", "NaN", "learning rate"),
    ("learning_rate", "abc", "learning rate"),
    ("learning_rate", "Infinity", "learning rate"),
    ("epochs", "1.5", "epochs"),
    ("train_size", "999999", "training-set size"),
])
def test_bad_input_shows_a_message_and_keeps_the_model(app, field, value, words):
    page, _ = app
    model = page.text_content("#model-info")
    set_form(page, **{field: value})
    errors = page.evaluate("window.pynet.formErrors || 0")
    page.click("#train")
    wait_until(page, f"(window.pynet.formErrors || 0) > {errors}", timeout=10)
    message = page.text_content("#form-message")
    assert words in message.lower(), message
    assert state(page) == "idle"
    assert page.text_content("#model-info") == model
    assert page.locator("#train-form [aria-invalid=true]").count() == 1
    # the previous model still reads drawings
    assert draw_and_read(page, "7") == "7"


def test_fast_training_learns(app):
    page, _ = app
    runs = start_run(page)
    wait_idle(page, runs)
    run = page.evaluate("window.pynet.lastRun")
    assert run["reason"] == "completed", run
    assert run["step"] == run["totalSteps"] == 80, run  # 2 epochs of ceil(5000 / 128) batches
    assert run["lastLoss"] < 0.6 * run["firstLoss"], run
    test_acc = float(page.text_content("#test-acc").rstrip("%"))
    assert test_acc > 80, test_acc
    assert "trained" in page.text_content("#model-name")
    assert page.text_content("#memory").endswith("MB")
    assert run["reached87"] is not None, run
    print(f"\nFast run: 87% on test {run['reached87']:.1f} s after pressing Train; "
          f"{ {k: v for k, v in run.items() if k != 'losses'} }")
    # the mistakes strip shows the trained model's errors
    wait_until(page, ANALYSIS_CURRENT, timeout=30)
    assert page.locator("#mistakes canvas").count() == 24


def test_downloaded_model_predicts_natively_as_in_the_page(app, tmp_path):
    """A model trained in the page, downloaded and read natively with pynet.load, gives the
    page's own test accuracy, confusion matrix and mistakes count on the 10,000 test images,
    and the probabilities the page shows for a drawing."""
    page, _ = app
    run = short_run(page, seed=4)
    assert run["reason"] == "completed", run
    wait_until(page, ANALYSIS_CURRENT, timeout=30)
    net = pynet.load(download(page, tmp_path / "from-the-page.npz"))
    assert net.dimensions == [784, 128, 10] and net.parameters["W1"].dtype == np.float32
    X, y = site_data("test")
    predicted = net.predict(X)
    wrong = int(np.count_nonzero(predicted != y))
    assert run["testAcc"] == 1 - wrong / y.size, (run["testAcc"], 1 - wrong / y.size)
    np.testing.assert_array_equal(confusion_shown(page), native_confusion(net))
    assert page.text_content("#errors-summary").startswith(f"The current model gets {wrong:,} of 10,000 test images wrong")
    draw_and_read(page, "0")
    assert_reading_is_native(page, net)


def test_confusion_matrix_cell_shows_its_images(app):
    page, _ = app
    page.click("#analysis summary")
    wait_until(page, ANALYSIS_CURRENT, timeout=30)
    matrix = confusion_shown(page)
    # the default model's, as native pynet computes it from the same file and test images
    np.testing.assert_array_equal(matrix, native_confusion(default_model()))
    # the largest off-diagonal cell, by keyboard: focus it and press Enter
    off = matrix - np.diag(np.diag(matrix))
    t, p = np.unravel_index(np.argmax(off), off.shape)
    n = int(matrix[t, p])
    button = page.locator(f"#confusion button.cell[data-true='{t}'][data-predicted='{p}']")
    button.focus()
    page.keyboard.press("Enter")
    # this cell's images (an earlier test may have left another cell's shown)
    wait_until(page, f"document.getElementById('cell-caption').textContent.startsWith({f'{n} test images: {t}s read as {p}'!r})"
               " && document.querySelectorAll('#cell-images canvas').length > 0", timeout=10)
    shown = page.locator("#cell-images figure").count()
    assert shown == min(n, 24)
    titles = page.evaluate("[...document.querySelectorAll('#cell-images figure')].map((f) => f.title)")
    assert all(title.startswith(f"true {t}, predicted {p} ") for title in titles)


def weight_tiles(page):
    return page.evaluate("[...document.querySelectorAll('#weights canvas')].map((c) => c.toDataURL())")


def test_first_layer_weights_refresh_during_training(app):
    page, _ = app
    page.click("#analysis summary")
    wait_until(page, f"{ANALYSIS_CURRENT} && document.querySelectorAll('#weights canvas').length > 0", timeout=30)
    before = weight_tiles(page)
    refreshes = page.evaluate("window.pynet.weightRefreshes || 0")
    runs = start_run(page, epochs=6, seed=3)
    # while the run goes on, the tiles are redrawn from the network being trained
    wait_until(page, f"(window.pynet.weightRefreshes || 0) > {refreshes} && window.pynet.state === 'running'",
               timeout=30)
    during = weight_tiles(page)
    assert len(during) == 32 and during != before
    page.click("#stop")
    wait_idle(page, runs)


def test_activation_rows_follow_the_model(app, tmp_path):
    page, _ = app
    run = short_run(page, network="64, 32", seed=1)
    assert run["reason"] == "completed"
    assert "784-64-32-10" in page.text_content("#model-name")
    draw_and_read(page, "1")
    # the reading is the new model's: native pynet reads the same with the model downloaded
    assert_reading_is_native(page, pynet.load(download(page, tmp_path / "784-64-32-10.npz")))
    n, _, labels = activation_view(page)
    assert n == hidden_layers_of_current_model(page) == 2
    assert labels[0].startswith("Hidden layer 1, 64 units") and labels[1].startswith("Hidden layer 2, 32 units")


def test_same_seed_gives_the_same_loss_curve(app):
    page, _ = app
    first = short_run(page, seed=7)["losses"]
    second = short_run(page, seed=7)["losses"]
    other = short_run(page, seed=8)["losses"]
    assert len(first) == 8 and all(isinstance(x, float) for x in first), first  # ceil(1000 / 128) batches
    assert first == second
    assert other != first
    # the same series is exposed on the chart for scripts
    assert page.evaluate("JSON.parse(document.getElementById('loss').dataset.losses)") == other


def test_try_a_test_image_with_the_keyboard(app):
    page, _ = app
    page.focus("#clear")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "try-test"
    asked = page.evaluate("window.pynet.predictionsAsked")
    page.keyboard.press("Enter")
    digit = wait_reading(page, asked)
    index, label = page.evaluate("[window.pynet.testImage.index, window.pynet.testImage.label]")
    images, labels = site_data("test")
    assert label == labels[index]
    assert f"labelled {label}" in page.text_content("#pad-note")
    # the pad shows that test image: each of its 28x28 cells is painted with the pixel's ink
    ink = pad_pixels(page)[..., 3].reshape(28, 10, 28, 10).mean(axis=(1, 3)).reshape(784)
    np.testing.assert_allclose(ink, images[:, index], atol=1.0)
    # and the page reads it as native pynet does with the same model
    probabilities = assert_reading_is_native(page, default_model())
    assert digit == str(int(np.argmax(probabilities)))
    _, _, activation_labels = activation_view(page)
    assert "active, strongest" in activation_labels[0], activation_labels
    print(f"\ntest image no. {index} labelled {label}, read as {digit}")


def test_pause_holds_progress_and_stop_ends_the_run(app):
    page, _ = app
    runs = start_run(page, epochs=20)
    wait_until(page, "(window.pynet.run?.step ?? 0) > 5", timeout=20)
    answered = page.evaluate("window.pynet.pausesAnswered || 0")
    page.click("#pause")
    assert page.text_content("#pause") == "Resume"
    wait_until(page, f"(window.pynet.pausesAnswered || 0) > {answered}", timeout=10)  # the worker holds the run
    held = page.evaluate("window.pynet.run.step")
    shown = page.text_content("#step")
    # the worker answers a drawing's readings while paused, and the run does not move
    assert draw_and_read(page, "1") == "1"
    assert page.evaluate("window.pynet.run.step") == held and page.text_content("#step") == shown
    assert state(page) == "paused"
    page.click("#pause")
    assert page.text_content("#pause") == "Pause"
    wait_until(page, f"window.pynet.run.step > {held}", timeout=10)
    page.click("#stop")
    wait_idle(page, runs, timeout=30)
    run = page.evaluate("window.pynet.lastRun")
    assert run["reason"] == "stopped"
    # ended long before its last step; what was trained so far is offered, the model in use stays
    assert run["step"] < run["totalSteps"] / 4, run
    assert page.evaluate(IS_DEFAULT_MODEL)
    assert page.is_visible("#offer") and page.text_content("#offer-text").startswith("The run was stopped")
    assert page.is_disabled("#stop") and page.is_enabled("#train")
    model_action(page, "#use-offer", "The trained model now reads your drawings")
    assert "trained" in page.text_content("#model-name") and not page.is_visible("#offer")
    print(f"\nstop took {page.evaluate('window.pynet.lastRun.endedAt - window.pynet.stopClickedAt'):.0f} ms, "
          f"at step {run['step']} of {run['totalSteps']}")


def test_stopping_a_run_keeps_the_good_model_in_use(app):
    """Train the Fast preset (about 91%), train again and stop at once: the 91% model stays
    in use until the user takes the one trained so far, and keeping it drops the offer. While
    the run goes on and while its model is on offer, leaving the page asks first."""
    page, _ = app
    short = short_run(page, train_size=5000, epochs=2)
    assert short["reason"] == "completed"
    assert not page.evaluate(ASKS_BEFORE_LEAVING)
    good = page.text_content("#model-info")
    assert "trained" in good and "% on test" in good
    assert draw_and_read(page, "7") == "7"
    reading = page.evaluate("window.pynet.lastPrediction")
    runs = start_run(page, epochs=20, seed=9)
    wait_until(page, "(window.pynet.run?.step ?? 0) > 2", timeout=20)
    assert page.evaluate(ASKS_BEFORE_LEAVING)
    page.click("#stop")
    wait_idle(page, runs, timeout=30)
    assert page.evaluate(ASKS_BEFORE_LEAVING)
    assert page.text_content("#model-info") == good
    assert draw_and_read(page, "7") == "7" and page.evaluate("window.pynet.lastPrediction") == reading
    offer = page.text_content("#offer-text")
    assert offer.startswith("The run was stopped") and "not evaluated since its last batch" in offer, offer
    page.click("#keep-current")
    wait_until(page, "document.getElementById('offer').hidden", timeout=10)
    assert page.text_content("#model-info") == good
    assert not page.evaluate(ASKS_BEFORE_LEAVING)


def test_a_model_uploaded_during_a_run_is_not_replaced_when_it_ends(app, native_model):
    page, _ = app
    path, net = native_model
    runs = start_run(page, epochs=4, seed=4)  # about 160 batches: the upload lands while it runs
    assert upload(page, path).startswith("Loaded")
    assert state(page) == "running"
    wait_idle(page, runs)
    assert page.evaluate("window.pynet.lastRun.reason") == "completed"
    assert "uploaded model 784-32-10" in page.text_content("#model-info")
    assert page.text_content("#offer-text").startswith("The run finished after the model in use was changed")
    draw_and_read(page, "1")
    assert_reading_is_native(page, net)  # the uploaded model reads the drawing
    model_action(page, "#use-offer", "The trained model now reads your drawings")
    assert "trained model 784-128-10" in page.text_content("#model-info")


def test_page_answers_while_training(app):
    page, _ = app
    runs = start_run(page, epochs=20)
    wait_until(page, "(window.pynet.run?.step ?? 0) > 5", timeout=20)
    before = page.evaluate("window.pynet.run.step")
    t = time.perf_counter()
    assert draw_and_read(page, "1") == "1"
    latency = time.perf_counter() - t
    # read while the run went on: it was still running, and it goes on training (its progress
    # reaches the page at most every 500 ms)
    assert state(page) == "running"
    wait_until(page, f"window.pynet.run.step > {before}", timeout=10)
    page.click("#stop")
    wait_idle(page, runs, timeout=30)
    print(f"\ndraw + read while training {latency:.2f} s")


def test_diverging_learning_rate_keeps_a_good_model(app):
    page, _ = app
    model = page.text_content("#model-info")
    runs = start_run(page, network="128,128,128", optimizer="sgd", learning_rate=100, epochs=2)
    wait_idle(page, runs)
    assert page.evaluate("window.pynet.lastRun.reason") == "diverged"
    message = page.text_content("#train-message")
    assert "too high" in message and "previous model" in message, message
    assert page.text_content("#model-info") == model
    assert draw_and_read(page, "0") == "0"
    assert_reading_is_native(page, default_model())


def test_model_download_upload_and_refusal(app, tmp_path):
    page, _ = app
    path = download(page, tmp_path / "model.npz")
    assert path.stat().st_size > 1000
    assert pynet.load(path).spec == DEFAULT_MODEL["spec"]
    # a broken file is refused and the model in use stays
    bad = tmp_path / "broken.npz"
    bad.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    model = page.text_content("#model-info")
    message = upload(page, bad)
    assert message.startswith("Refused") and "not a valid pynet model file" in message, message
    assert page.text_content("#model-info") == model
    assert draw_and_read(page, "1") == "1"
    # the downloaded file loads back
    assert upload(page, path).startswith("Loaded")
    assert "uploaded" in page.text_content("#model-info")
    assert draw_and_read(page, "7") == "7"


def test_uploading_a_different_model_changes_the_reading(app, native_model):
    """A model trained natively (784-32-10), uploaded: the page reads the drawing with it, as
    native pynet does with that model, and its analysis is that model's."""
    page, _ = app
    path, net = native_model
    draw_and_read(page, "7")
    with_default = assert_reading_is_native(page, default_model())
    asked = page.evaluate("window.pynet.predictionsAsked")
    assert upload(page, path).startswith("Loaded")
    assert "uploaded model 784-32-10" in page.text_content("#model-info")
    wait_reading(page, asked)  # the drawing on the pad is read again, with the new model
    with_uploaded = assert_reading_is_native(page, net)
    assert np.abs(with_uploaded - with_default).max() > 0.01, (with_uploaded, with_default)
    n, _, labels = activation_view(page)
    assert n == 1 and labels[0].startswith("Hidden layer 1, 32 units")
    wait_until(page, ANALYSIS_CURRENT, timeout=30)
    np.testing.assert_array_equal(confusion_shown(page), native_confusion(net))


def _pickled_npz(path):
    import numpy as np
    np.savez(path, format=np.array("pynet-model"), W1=np.array([{"x": 1}], dtype=object))


def _zip_bomb(path):
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("W1.npy", "w") as f:
        block = bytes(1 << 20)
        for _ in range(100):  # 100 MB of zeros, about 100 KB on disk
            f.write(block)


def _lying_header(path):
    """A .npy header that claims 30000 x 30000 float64 (7 GB) over a few bytes of data."""
    import io
    import zipfile
    import numpy as np
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (30000, 30000)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("W1.npy", header.getvalue() + bytes(64))


@pytest.mark.parametrize("make,words", [
    (_pickled_npz, "python objects"),
    (_zip_bomb, "unpack to 100 mib"),
    (_lying_header, "claims"),
    (lambda p: p.write_bytes(b"PK\x03\x04" + bytes(100)), "not a readable .npz"),
    (lambda p: p.write_bytes(b""), "not a readable .npz"),
])
def test_hostile_model_files_are_refused(app, tmp_path, make, words):
    page, _ = app
    model = page.text_content("#model-info")
    restarts = page.evaluate("window.pynet.restarts")
    draw_and_read(page, "7")
    before = page.evaluate("window.pynet.lastPrediction")
    path = tmp_path / "hostile.npz"
    make(path)
    message = upload(page, path)
    assert message.startswith("Refused") and words in message.lower(), message
    assert "previous model is still in use" in message
    assert page.text_content("#model-info") == model
    draw_and_read(page, "7")
    assert page.evaluate("window.pynet.lastPrediction") == before
    # refused by the checks, not by a broken worker: no restart
    assert page.evaluate("window.pynet.restarts") == restarts
    assert page.text_content("#status").strip() == "Ready"


def test_save_in_browser_and_restore(app, native_model):
    page, _ = app
    path, net = native_model
    assert upload(page, path).startswith("Loaded")
    model_action(page, "#save-local", "Saved the uploaded model 784-32-10")
    draw_and_read(page, "0")
    saved_reading = page.evaluate("window.pynet.lastPrediction")
    model_action(page, "#reset-model", "The default model is in use again")
    wait_until(page, READING_CURRENT, timeout=10)
    assert page.evaluate(IS_DEFAULT_MODEL)
    assert page.evaluate("window.pynet.lastPrediction") != saved_reading
    model_action(page, "#restore-local", "Restored")
    assert "saved model 784-32-10" in page.text_content("#model-info")
    wait_until(page, READING_CURRENT, timeout=10)
    assert page.evaluate("window.pynet.lastPrediction") == saved_reading
    assert_reading_is_native(page, net)


def test_restore_with_nothing_saved_says_so(app):
    page, _ = app
    model = page.text_content("#model-info")
    message = model_action(page, "#restore-local", "Could not restore")
    assert "nothing is saved yet" in message
    assert page.text_content("#model-info") == model


def test_accessibility(browser, site_url):
    """axe-core finds no violations (its script needs the CSP bypassed, in a context of its own)."""
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    page.goto(site_url)
    wait_until(page, "document.querySelectorAll('#probabilities li').length === 10", timeout=20)
    results = Axe().run(page)
    context.close()
    assert results.violations_count == 0, results.generate_report()


def test_the_full_data_set_offline_gets_a_clear_message(open_page):
    """The 50,000 images load when the form names them: offline (and not cached yet), choosing
    them changes nothing and Train says why it cannot start."""
    page, recorder = open_page()  # a page of its own: the shared one may have loaded them already
    try:
        page.context.set_offline(True)
        set_form(page, dataset="full", train_size=50000, epochs=1)
        errors = page.evaluate("window.pynet.formErrors || 0")
        page.click("#train")
        wait_until(page, f"(window.pynet.formErrors || 0) > {errors}", timeout=30)
        message = page.text_content("#form-message")
        assert message == "Not started: could not download data/mnist-full.npz: the network is not reachable (offline?).", \
            message
        assert state(page) == "idle" and page.evaluate(IS_DEFAULT_MODEL)
        # back online, the same click trains
        page.context.set_offline(False)
        runs = page.evaluate("window.pynet.runs || 0")
        page.click("#train")
        wait_until(page, f"window.pynet.state === 'running' || (window.pynet.runs || 0) > {runs}", timeout=60)
        page.click("#stop")
        wait_idle(page, runs, timeout=30)
        assert not recorder.problems(), recorder.problems()
    finally:
        page.context.close()


def test_works_offline_after_the_first_visit(app, native_model):
    """The service worker caches the build; the page then starts offline, brings back the
    model saved in the browser and reads digits with it."""
    page, _ = app
    path, net = native_model
    wait_until(page, "window.pynet.offlineReady === true", timeout=60)
    assert upload(page, path).startswith("Loaded")
    model_action(page, "#save-local", "Saved the uploaded model 784-32-10")
    page.context.set_offline(True)
    served = []
    listener = lambda r: served.append((r.url.rsplit("/", 1)[-1], r.from_service_worker))  # noqa: E731
    page.on("response", listener)
    try:
        page.reload()
        wait_ready(page)
        assert page.text_content("#status").strip() == "Ready"
        wait_until(page, "document.getElementById('model-info').textContent.includes('saved model')", timeout=20)
        assert "saved model 784-32-10" in page.text_content("#model-info")
        assert page.text_content("#model-message").startswith("Restored")
        draw_and_read(page, "1")
        assert_reading_is_native(page, net)
        assert ("pyodide.asm.wasm", True) in served, served
        assert all(from_sw for _, from_sw in served), served
    finally:
        page.remove_listener("response", listener)
        page.context.set_offline(False)
