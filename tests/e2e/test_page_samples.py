"""Your samples in the page (web/samples.js): a drawing corrected and kept in IndexedDB, listed,
kept over a reload, removed; exported to a file pynet reads natively and imported back, a bad
file refused in one sentence with the samples unchanged; and fine-tuning on them: the corrected
drawing is then read right, MNIST test accuracy within a point. At desktop and phone width, the
phone with touch."""

import io
import time
import zipfile

import numpy as np
import pytest

import pynet
from pynet import samples
from pynet.settings import MAX_SAMPLES
from e2e_helpers import (DIGITS, IS_DEFAULT_MODEL, default_model, draw_and_read, native_reading, pad_pixels,
                         site_data, wait_ready, wait_until)

# A continental 1 with a long flag: the default model reads it as a 7.
DIGITS["1 with a flag"] = [[(60, 110), (160, 40), (150, 240)]]
ODD_ONE = "1 with a flag"

STORED_JS = """() => new Promise((resolve, reject) => {
    const open = indexedDB.open('pynet');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
        const db = open.result;
        const out = [];
        const cursor = db.transaction('samples').objectStore('samples').openCursor();
        cursor.onsuccess = () => {
            const c = cursor.result;
            if (c) { out.push([c.key, c.value.label, Array.from(c.value.image)]); c.continue(); }
            else { db.close(); resolve(out); }
        };
        cursor.onerror = () => { db.close(); reject(cursor.error); };
    };
})"""


def stored(page):
    """The samples the page keeps in IndexedDB: [(key, label, 784 levels)], oldest first."""
    return [(key, label, np.array(image, np.uint8)) for key, label, image in page.evaluate(STORED_JS)]


def fresh(page):
    """The page reloaded with no samples kept (the whole database deleted first)."""
    page.evaluate("""() => new Promise((resolve) => {
        const r = indexedDB.deleteDatabase('pynet');
        r.onsuccess = r.onerror = r.onblocked = () => resolve();
    })""")
    page.reload()
    wait_ready(page)
    wait_until(page, "window.pynet.samples === 0", timeout=30)


def tiles(page):
    return page.eval_on_selector_all("#your-samples .tile", "(ts) => ts.map((t) => t.querySelector('figcaption').textContent)")


def samples_message(page, action):
    page.evaluate("document.getElementById('samples-message').textContent = ''")
    action()
    wait_until(page, "document.getElementById('samples-message').textContent !== ''", timeout=30)
    return page.text_content("#samples-message")


@pytest.fixture(scope="module")
def own(open_page):
    """A page of its own (its samples and its model change here), checked for errors after each test."""
    page, recorder = open_page()
    assert not recorder.startup, recorder.startup
    yield page, recorder
    page.context.close()


@pytest.fixture
def page(own):
    page, recorder = own
    fresh(page)
    recorder.clear()
    yield page
    assert not recorder.problems(), recorder.problems()


def test_a_corrected_drawing_is_kept_listed_kept_over_a_reload_and_removed(page):
    assert draw_and_read(page, ODD_ONE) == "7"
    assert page.is_disabled("#sample-labels button:text-is('7')")  # the digit read is not a correction
    page.click("[aria-label=\"That's wrong, it's a 1\"]")
    wait_until(page, "window.pynet.samples === 1")
    assert page.text_content("#teach-note") == "Kept as a 1: sample 1 of your samples."
    assert tiles(page) == ["1"]
    # kept as the levels k/256 of the image the network saw (pynet's own preprocess, natively)
    image28, _ = native_reading(default_model(), pad_pixels(page))
    [(_, label, image)] = stored(page)
    assert label == 1
    assert np.abs(image.astype(int) - samples.to_levels(image28).astype(int)).max() <= 1

    assert draw_and_read(page, "0") == "0"
    page.click("#sample-right")
    wait_until(page, "window.pynet.samples === 2")
    page.click("#sample-right")  # the same drawing twice is kept once
    wait_until(page, "document.getElementById('teach-note').textContent.includes('already')")
    assert page.text_content("#teach-note") == "This drawing is already among your samples as a 0."
    assert tiles(page) == ["1", "0"] and len(stored(page)) == 2
    page.click("#clear")
    assert page.is_disabled("#sample-right") and page.is_disabled("[aria-label=\"That's wrong, it's a 3\"]")

    page.reload()
    wait_ready(page)
    wait_until(page, "window.pynet.samples === 2", timeout=30)
    assert tiles(page) == ["1", "0"]
    page.click("[aria-label='Remove sample 2, a 0']")
    wait_until(page, "window.pynet.samples === 1")
    assert page.text_content("#samples-message") == "Removed sample 2, a 0."
    assert tiles(page) == ["1"] and [s[1] for s in stored(page)] == [1]
    page.reload()
    wait_ready(page)
    wait_until(page, "window.pynet.samples === 1", timeout=30)


def _npz(**arrays):
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def test_export_then_import_and_every_bad_file_refused_with_nothing_changed(page, tmp_path):
    draw_and_read(page, ODD_ONE)
    page.click("[aria-label=\"That's wrong, it's a 1\"]")
    wait_until(page, "window.pynet.samples === 1")
    with page.expect_download() as info:
        page.click("#samples-export")
    path = tmp_path / "exported.npz"
    info.value.save_as(path)
    assert info.value.suggested_filename == "pynet-samples.npz"
    images, labels = pynet.load_samples(path)  # pynet reads the page's file natively
    [(_, _, kept)] = stored(page)
    np.testing.assert_array_equal(images, kept[None, :])
    assert labels.tolist() == [1]

    assert samples_message(page, lambda: page.set_input_files("#samples-import", str(path))) == (
        "Added 0 samples from exported.npz (1 already among your samples, not added twice).")
    test_images, test_labels = site_data("test")
    mine = tmp_path / "mine.npz"
    pynet.save_samples(mine, test_images[:, :3].T, test_labels[:3])  # written natively
    assert samples_message(page, lambda: page.set_input_files("#samples-import", str(mine))) == (
        "Added 3 samples from mine.npz.")
    assert tiles(page) == ["1"] + [str(d) for d in test_labels[:3]]
    before = stored(page)

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("images.npy", bytes(64 << 20))
    full = np.zeros((MAX_SAMPLES, 784), np.uint8)
    full[:, 0] = np.arange(MAX_SAMPLES) % 256
    full[:, 1] = np.arange(MAX_SAMPLES) // 256
    bad = {
        "labels.npz": (_npz(images=test_images[:, :2].T, labels=np.array([3, 10], np.uint8)),
                       "not a pynet samples file: its labels must lie in 0..9, got 3..10"),
        "floats.npz": (_npz(images=test_images[:, :2].T / 256, labels=np.array([3, 1], np.uint8)),
                       "not a pynet samples file: its images must be uint8 of shape (m, 784), got float64 (2, 784)"),
        "mnist.npz": (_npz(train_images=test_images[:, :2].T, train_labels=np.array([3, 1], np.uint8)),
                      "not a pynet samples file: it must hold the arrays images and labels and nothing else, "
                      "found train_images, train_labels"),
        "bomb.npz": (bomb.getvalue(), "not a pynet samples file: it would unpack to 64 MiB, more than the 1 MiB allowed"),
        "text.npz": (b"hello, world", "not a pynet samples file: it is not a readable .npz archive "
                                      "(BadZipFile: File is not a zip file)"),
        "huge.npz": (bytes(3 << 20), "it is larger than 1 MB"),
        "many.npz": (_npz(images=full, labels=np.zeros(MAX_SAMPLES, np.uint8)),
                     "with it you would have 1,004 samples, more than the 1,000 this page keeps"),
    }
    for name, (blob, why) in bad.items():
        (tmp_path / name).write_bytes(blob)
        shown = samples_message(page, lambda: page.set_input_files("#samples-import", str(tmp_path / name)))
        assert shown == f"Refused {name}: {why}. Your samples are unchanged.", name
        after = stored(page)
        assert [(k, lab) for k, lab, _ in after] == [(k, lab) for k, lab, _ in before], name
        assert all(np.array_equal(a[2], b[2]) for a, b in zip(after, before)), name
        assert page.evaluate("window.pynet.samples") == 4


def test_finetuning_reads_the_corrected_drawing_right_and_keeps_mnist(page, tmp_path):
    assert draw_and_read(page, ODD_ONE) == "7"
    page.click("[aria-label=\"That's wrong, it's a 1\"]")
    wait_until(page, "window.pynet.samples === 1")
    runs = page.evaluate("window.pynet.runs || 0")
    started = time.monotonic()
    page.click("#finetune")
    wait_until(page, "window.pynet.state === 'running'", timeout=30)
    assert page.text_content("#train-message").startswith("Fine-tuning conv 16@5x5")
    assert page.is_disabled("#finetune") and page.is_disabled("#train")
    page.click("#pause")  # a run like any: it pauses and resumes
    wait_until(page, "window.pynet.pausesAnswered > 0 && window.pynet.state === 'paused'", timeout=30)
    page.click("#pause")
    wait_until(page, f"(window.pynet.runs || 0) > {runs} && window.pynet.state === 'idle'", timeout=600)
    seconds = time.monotonic() - started
    assert page.evaluate("window.pynet.lastRun.reason") == "completed"
    # offered, never put in use silently
    assert page.is_visible("#offer") and page.evaluate(IS_DEFAULT_MODEL)
    assert page.text_content("#offer-text").startswith("Fine-tuned on your samples. Its model conv 16@5x5")
    report = page.evaluate("window.pynet.finetuneReport")
    assert report["samples"] == {"checked_on": "trained on", "count": 1, "before": 0.0, "after": 1.0}
    assert abs(report["test"]["after"] - report["test"]["before"]) <= 0.01
    assert page.is_visible("#finetune-report")
    cells = page.eval_on_selector_all("#finetune-report tbody tr", "(rs) => rs.map((r) => r.innerText)")
    assert cells[0].split("\t") == ["Read right, your 1 sample (all trained on)", "0 of 1", "1 of 1"]
    assert cells[1].split("\t")[0] == "MNIST test accuracy"

    page.click("#use-offer")
    wait_until(page, "!document.getElementById('model-info').textContent.includes('the default model')", timeout=30)
    assert draw_and_read(page, ODD_ONE) == "1"
    # the accuracies shown are the models' own: the default and the fine-tuned one, natively
    with page.expect_download() as info:
        page.click("#download")
    info.value.save_as(tmp_path / "tuned.npz")
    tuned = pynet.load(tmp_path / "tuned.npz")
    X, y = site_data("test")
    assert report["test"]["before"] == pytest.approx(default_model().evaluate(X, y)["accuracy"], abs=3e-4)
    assert report["test"]["after"] == pytest.approx(tuned.evaluate(X, y)["accuracy"], abs=3e-4)
    assert tuned.metadata["report"] == report
    print(f"\nfine-tuning on one sample: {seconds:.0f} s; MNIST test {report['test']['before']:.4f} -> "
          f"{report['test']['after']:.4f}")


def test_a_stopped_finetuning_is_offered_and_the_model_in_use_stays(page):
    assert draw_and_read(page, "0") == "0"
    page.click("#sample-right")
    wait_until(page, "window.pynet.samples === 1")
    runs = page.evaluate("window.pynet.runs || 0")
    page.click("#finetune")
    wait_until(page, "window.pynet.state === 'running' && (window.pynet.run?.step ?? 0) > 2", timeout=60)
    page.click("#stop")
    wait_until(page, f"(window.pynet.runs || 0) > {runs} && window.pynet.state === 'idle'", timeout=60)
    assert page.evaluate(IS_DEFAULT_MODEL) and page.is_visible("#offer")
    assert page.text_content("#offer-text").startswith("Fine-tuned on your samples (stopped). Its model")
    cells = page.eval_on_selector_all("#finetune-report tbody tr", "(rs) => rs.map((r) => r.innerText)")
    assert cells[1].split("\t")[2] == "not measured (stopped)"
    page.click("#keep-current")
    wait_until(page, "document.getElementById('offer').hidden", timeout=10)
    assert page.evaluate(IS_DEFAULT_MODEL) and not page.is_disabled("#finetune")
