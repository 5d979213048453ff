"""Your own samples: the samples file (round trip, every hostile file refused with nothing
changed), the page's bridge calls, and fine-tuning on them (a digit read wrong is read right
after, MNIST test accuracy within a point)."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest

import pynet
from pynet import Network, TrainConfig, bridge, samples, serialize, spec
from pynet.page.state import STATE
from pynet.settings import FINETUNE, MAX_SAMPLES
from support import pickled_object, zip_bytes


def _npz(**arrays):
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _some(m=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (m, 784)).astype(np.uint8), (np.arange(m) % 10).astype(np.uint8)


# ---- the samples file -------------------------------------------------------------------------

def test_round_trip_through_a_file_bytes_and_a_file_object(tmp_path):
    images, labels = _some(7)
    path = pynet.save_samples(tmp_path / "mine.npz", images, labels)
    for source in (path, str(path), path.read_bytes(), open(path, "rb")):
        got_images, got_labels = pynet.load_samples(source)
        np.testing.assert_array_equal(got_images, images)
        np.testing.assert_array_equal(got_labels, labels)
        assert got_images.dtype == got_labels.dtype == np.uint8
    # the documented layout: exactly images (m, 784) uint8 and labels (m,) uint8
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["images", "labels"]
        assert (z["images"].shape, z["images"].dtype, z["labels"].shape, z["labels"].dtype) == (
            (7, 784), np.uint8, (7,), np.uint8)
    assert not list(tmp_path.glob(".*part"))  # written beside and renamed


def test_the_networks_input_is_kept_as_levels_of_1_256():
    x = np.array([0.0, 1 / 256, 0.5, 255 / 256, 1.0, 0.0019])
    np.testing.assert_array_equal(samples.to_levels(x), [0, 1, 128, 255, 255, 0])
    images = np.linspace(0, 1, 784 * 2).reshape(2, 784)
    got, _ = pynet.load_samples(samples.samples_to_bytes(images, [3, 4]))
    assert np.abs(got / 256 - images).max() <= 1 / 256  # 1.0 is kept as 255/256, the rest within half a level
    for bad in ([np.nan], [-0.1], [1.5]):
        with pytest.raises(ValueError, match="between 0 and 1"):
            samples.to_levels(bad)


def test_labels_of_any_integer_type_are_read_as_uint8():
    images, _ = _some(3)
    got = pynet.load_samples(_npz(images=images, labels=np.array([9, 0, 5], np.int64)))[1]
    assert got.dtype == np.uint8 and got.tolist() == [9, 0, 5]



def _hostile(case, marker):
    images, labels = _some(4)
    if case == "garbage":
        return b"\x00garbage\xff" * 10
    if case == "empty":
        return b""
    if case == "pickle":
        return pickle.dumps({"images": images, "labels": labels})
    if case == "pickled_object":
        return _npz(images=pickled_object(marker), labels=labels)
    if case == "plain_npy":
        buf = io.BytesIO()
        np.save(buf, images)
        return buf.getvalue()
    if case == "truncated":
        return _npz(images=images, labels=labels)[:300]
    if case == "mnist_file":  # a pynet data file is not a samples file
        return _npz(train_images=images, train_labels=labels)
    if case == "extra_array":
        return _npz(images=images, labels=labels, notes=np.zeros(3))
    if case == "missing_labels":
        return _npz(images=images)
    if case == "raw_member":
        return zip_bytes({"images.npy": _npz(x=np.zeros(1))[:0] + b"\x93NUMPY", "labels": b"\x00" * 4},
                         zipfile.ZIP_DEFLATED)
    if case == "float_images":
        return _npz(images=images.astype(np.float32) / 256, labels=labels)
    if case == "wrong_width":
        return _npz(images=images[:, :783], labels=labels)
    if case == "images_28x28":
        return _npz(images=images.reshape(4, 28, 28), labels=labels)
    if case == "labels_float":
        return _npz(images=images, labels=labels.astype(np.float64))
    if case == "labels_wrong_length":
        return _npz(images=images, labels=labels[:3])
    if case == "label_10":
        return _npz(images=images, labels=np.array([0, 1, 10, 3], np.uint8))
    if case == "label_negative":
        return _npz(images=images, labels=np.array([0, -1, 2, 3], np.int8))
    if case == "no_samples":
        return _npz(images=images[:0], labels=labels[:0])
    if case == "too_many":
        return _npz(images=np.zeros((MAX_SAMPLES + 1, 784), np.uint8), labels=np.zeros(MAX_SAMPLES + 1, np.uint8))
    if case == "too_big":  # random bytes do not compress: the file itself is over the limit
        noise = np.random.default_rng(1).integers(0, 256, (1400, 784)).astype(np.uint8)
        return _npz(images=noise, labels=np.zeros(1400, np.uint8))
    if case == "zip_bomb":  # 64 MiB of zeros in a few kB
        return zip_bytes({"images.npy": bytes(64 << 20), "labels.npy": b""}, zipfile.ZIP_DEFLATED)
    if case == "lying_header":  # a header claiming 30000 x 30000 bytes over a few
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (30000, 30000)})
        return zip_bytes({"images.npy": header.getvalue() + bytes(64), "labels.npy": _npz(x=labels)[:0]},
                         zipfile.ZIP_DEFLATED)
    raise AssertionError(case)


HOSTILE = {
    "garbage": "not a readable .npz archive", "empty": "not a readable .npz archive",
    "pickle": "not a readable .npz archive", "pickled_object": "Python objects", "plain_npy": "not a readable .npz",
    "truncated": "not a pynet samples file", "mnist_file": "found train_images, train_labels",
    "extra_array": "and nothing else, found images, labels, notes", "missing_labels": "found images$",
    "raw_member": "not a pynet samples file", "float_images": "images must be uint8 of shape",
    "wrong_width": r"images must be uint8 of shape \(m, 784\), got uint8 \(4, 783\)",
    "images_28x28": "images must be uint8 of shape", "labels_float": "labels must be 4 whole numbers",
    "labels_wrong_length": r"labels must be 4 whole numbers \(one per image\), got uint8 \(3,\)",
    "label_10": r"labels must lie in 0\.\.9, got 0\.\.10", "label_negative": r"labels must lie in 0\.\.9, got -1\.\.3",
    "no_samples": "it holds no samples", "too_many": "it holds 1,001 samples, more than the 1,000 allowed",
    "too_big": "it is larger than the 1 MiB allowed", "zip_bomb": "would unpack to 64 MiB, more than the 1 MiB",
    "lying_header": "claims 858.3 MiB of data but holds",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_every_hostile_file_is_refused_in_one_sentence(case, tmp_path):
    marker = tmp_path / "pwned"
    blob = _hostile(case, marker)
    with pytest.raises(ValueError, match=HOSTILE[case]) as refused:
        pynet.load_samples(blob)
    message = str(refused.value)
    assert message.startswith("not a pynet samples file: ") and "\n" not in message and len(message) < 300
    # the same through the page's bridge: a refusal as data, and the worker's state as it was
    before = dict(STATE)
    assert bridge.handle("read_samples", blob) == {"error": {"message": message, "field": None}}
    assert dict(STATE) == before
    assert not marker.exists()  # nothing was unpickled


def test_writing_refuses_what_it_could_not_read_back(tmp_path):
    images, labels = _some(2)
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        pynet.save_samples(tmp_path / "bad.npz", images, [1, 12])
    with pytest.raises(ValueError, match="no samples"):
        samples.samples_to_bytes(images[:0], [])
    assert not list(tmp_path.iterdir())


# ---- the page's bridge calls ------------------------------------------------------------------

def test_the_pages_samples_go_to_a_file_and_back_through_the_bridge():
    images, labels = _some(5)
    data = bridge.samples_file(images.tobytes(), labels.tobytes())
    np.testing.assert_array_equal(pynet.load_samples(data)[0], images)  # pynet reads the page's file natively
    back = bridge.read_samples(data)
    assert back["count"] == 5
    assert back["images"] == images.tobytes() and back["labels"] == labels.tobytes()
    refused = bridge.handle("samples_file", images.tobytes()[:-1], labels.tobytes())
    assert refused["error"]["message"] == "5 samples need 3,920 pixels, got 3,919"


def test_a_readings_image_is_kept_as_its_levels(worker):
    image28 = np.zeros(784)
    image28[300:310] = [0.004, 0.5, 1.0, 0.25, 0.75, 0.1, 0.2, 0.3, 0.9, 0.0]
    levels = np.frombuffer(bridge.sample_levels(list(image28)), np.uint8)
    np.testing.assert_array_equal(levels, samples.to_levels(image28))
    assert bridge.handle("sample_levels", [0.5] * 783)["error"]["message"] == "a sample is 784 pixels, got 783"


def test_split_keeps_every_fifth_apart_from_ten_samples_on():
    for m in range(FINETUNE["hold_out_from"]):
        train, check = samples.split(m)
        assert train.tolist() == list(range(m)) and check.size == 0
    train, check = samples.split(12)
    assert check.tolist() == [4, 9] and train.tolist() == [0, 1, 2, 3, 5, 6, 7, 8, 10, 11]


def test_the_finetuning_set_mixes_mnist_and_the_samples_in_their_share():
    mnist = np.zeros((3000, 784), np.uint8), np.zeros(3000, np.uint8)
    images, labels = _some(3)
    X, y = samples.finetune_set(images, labels, *mnist)
    n = FINETUNE["mnist_images"]
    copies = samples.copies_of(3, n)
    assert X.shape == (784, n + 3 * copies) and y.shape == (n + 3 * copies,)
    assert abs(3 * copies / X.shape[1] - FINETUNE["share"]) < 0.01
    np.testing.assert_array_equal(X[:, n:n + 3].T, images)
    np.testing.assert_array_equal(X[:, -3:].T, images)
    assert y[n:].tolist() == labels.tolist() * copies
    assert y.dtype == np.int64
    assert samples.copies_of(10_000, n) == 1  # every sample at least once


# ---- fine-tuning ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist_uint8(mnist_raw):
    """MNIST as pynet's data files hold it: {split: (images (m, 784) uint8, labels (m,) uint8)}."""
    return {name: (np.rint(x * 256).astype(np.uint8), y.astype(np.uint8))
            for name, (x, y) in zip(("train", "validation", "test"), mnist_raw)}


@pytest.fixture(scope="module")
def model(mnist_uint8):
    """A small model trained on 5,000 images (the page's small data set): 784-64-10."""
    x, y = mnist_uint8["train"]
    net = Network([784, 64, 10], seed=1, dtype="float32")
    net.fit(x[:5000].T, y[:5000], TrainConfig(epochs=3, batch_size=64, learning_rate=0.003))
    return net


def _misread(net, mnist_uint8, k):
    """k validation images net reads wrong: (images, labels)."""
    x, y = mnist_uint8["validation"]
    wrong = np.flatnonzero(net.predict(x[:2000].T) != y[:2000])[:k]
    assert wrong.size == k
    return x[wrong], y[wrong]


def test_finetuning_reads_a_corrected_digit_right_and_keeps_mnist(model, mnist_uint8):
    images, labels = _misread(model, mnist_uint8, 1)
    small_train = tuple(a[:5000] for a in mnist_uint8["train"])
    before = serialize.to_bytes(model)
    tuned, report = pynet.finetune(model, images, labels, small_train, mnist_uint8["test"])
    assert tuned.predict(images.T).tolist() == labels.tolist()
    assert model.predict(images.T).tolist() != labels.tolist()
    assert serialize.to_bytes(model) == before  # the model fine-tuned is a copy
    assert report["samples"] == {"checked_on": "trained on", "count": 1, "before": 0.0, "after": 1.0}
    x, y = mnist_uint8["test"]
    assert report["test"]["before"] == model.evaluate(x.T, y)["accuracy"]
    assert report["test"]["after"] == tuned.evaluate(x.T, y)["accuracy"]
    assert abs(report["test"]["after"] - report["test"]["before"]) <= 0.01


def test_finetuning_checks_on_the_samples_kept_apart(model, mnist_uint8):
    images, labels = _misread(model, mnist_uint8, 12)
    small_train = tuple(a[:5000] for a in mnist_uint8["train"])
    tuned, report = pynet.finetune(model, images, labels, small_train, mnist_uint8["test"])
    _, check = samples.split(12)
    assert report["samples"]["checked_on"] == "kept apart" and report["samples"]["count"] == check.size == 2
    assert report["samples"]["before"] == 0.0
    assert report["samples"]["after"] == samples.accuracy(tuned, images[check], labels[check])
    train = np.setdiff1d(np.arange(12), check)
    assert samples.accuracy(tuned, images[train], labels[train]) >= 0.9  # those it trained on
    assert abs(report["test"]["after"] - report["test"]["before"]) <= 0.01


@pytest.fixture()
def worker(mnist_uint8, model):
    """The page's worker after start-up with `model` in use and the small data set."""
    STATE.update(model=None, default=None, model_info={}, datasets={}, run=None, last_eval=None, partial_eval=None,
                 offer=None, helper=None)
    bridge.load_default_model(serialize.to_bytes(model))
    x, y = mnist_uint8["train"]
    bridge.load_dataset("small", _npz(train_images=x[:5000], train_labels=y[:5000], test_images=mnist_uint8["test"][0],
                                      test_labels=mnist_uint8["test"][1]))
    return bridge


@pytest.mark.parametrize("analysed", [True, False])
def test_the_pages_finetuning_offers_its_model_with_before_and_after(worker, mnist_uint8, model, analysed):
    images, labels = _misread(model, mnist_uint8, 1)
    if analysed:  # the page's analysis evaluated the model in use: its accuracy is reused
        worker.evaluate_test(1e9)
    in_use = worker.save_model()
    summary = worker.start_finetune(images.tobytes(), labels.tobytes())
    copies = samples.copies_of(1, FINETUNE["mnist_images"])
    assert summary["finetune"] == {"samples": 1, "trained_on": 1, "kept_apart": 0,
                                   "mnist_images": FINETUNE["mnist_images"], "copies": copies}
    assert summary["train_size"] == FINETUNE["mnist_images"] + copies
    batches = -(-summary["train_size"] // FINETUNE["batch_size"])  # the last one may be short
    assert {k: v for k, v in summary.items() if k != "finetune"} == {
        "dimensions": [784, 64, 10], "network": spec.label(model.spec), "activation": model.hidden_activation,
        "dataset": "small", "train_size": summary["train_size"], "batches": batches,
        "total_steps": batches * FINETUNE["epochs"], "config": samples.finetune_config().to_dict(), "workers": 1}
    assert worker.handle("start_finetune", images.tobytes(), labels.tobytes())["error"]["message"] == (
        "a training run is already in progress; stop it first")
    # the test accuracy before is the analysis's when the page has it, else measured before the first
    # batch; the one after, after the last: each in slices, the page showing 'evaluating' meanwhile
    evaluating = []
    while (r := worker.step(1))["done"] is None:
        if r["evaluating"]:
            evaluating.append(r["step"])
    assert r["total_steps"] in evaluating and (0 in evaluating) != analysed
    assert set(evaluating) <= {0, r["total_steps"]}
    done = r["done"]
    assert done["reason"] == "completed"
    assert worker.save_model() == in_use  # never put in use silently: offered
    report = done["offer"]["report"]
    x, y = mnist_uint8["test"]
    assert report["test"]["before"] == model.evaluate(x.T, y)["accuracy"]
    assert abs(report["test"]["after"] - report["test"]["before"]) <= 0.01
    assert report["samples"] == {"checked_on": "trained on", "count": 1, "before": 0.0, "after": 1.0}
    worker.use_offered()
    tuned = serialize.from_bytes(worker.save_model())
    assert tuned.predict(images.T).tolist() == labels.tolist()
    assert tuned.metadata["report"] == report
    assert (tuned.metadata["dataset"], tuned.metadata["train_size"]) == ("small", summary["train_size"])
    assert report["test"]["after"] == tuned.evaluate(x.T, y)["accuracy"]


def test_a_stopped_finetuning_is_offered_without_a_test_accuracy_after(worker, mnist_uint8, model):
    images, labels = _misread(model, mnist_uint8, 3)
    in_use = worker.save_model()
    worker.start_finetune(images.tobytes(), labels.tobytes())
    worker.step(1)
    stopped = worker.stop_training()
    assert stopped["stopped"] and worker.save_model() == in_use
    report = stopped["offer"]["report"]
    assert report["test"]["after"] is None and report["samples"]["before"] == 0.0
    assert json.loads(json.dumps(report)) == report


def test_finetuning_refuses_bad_samples_and_nothing_changes(worker):
    images, labels = _some(2)
    assert worker.handle("start_finetune", images.tobytes(), bytes([1, 11]))["error"]["message"] == (
        "not a pynet samples file: its labels must lie in 0..9, got 1..11")
    assert worker.handle("start_finetune", b"", b"")["error"]["message"] == "not a pynet samples file: it holds no samples"
    assert STATE["run"] is None and STATE["offer"] is None


def test_the_command_line_evaluates_a_model_on_your_samples(tmp_path, mnist_path, model, mnist_uint8, capsys):
    from pynet import cli

    images, labels = _misread(model, mnist_uint8, 3)
    pynet.save(model, tmp_path / "model.npz")
    pynet.save_samples(tmp_path / "mine.npz", images, labels)
    assert cli.main(["evaluate", str(tmp_path / "model.npz"), "--samples", str(tmp_path / "mine.npz"),
                     "--data", str(mnist_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["samples_count"], out["samples_acc"]) == (3, 0.0)
    (tmp_path / "bad.npz").write_bytes(_npz(images=images, labels=np.array([1, 2, 10])))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["evaluate", str(tmp_path / "model.npz"), "--samples", str(tmp_path / "bad.npz")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "pynet: error: not a pynet samples file: its labels must lie in 0..9, got 1..10\n"


# ---- limits, recipes and edges (each found by mutation testing: tests/mutation_results.md) -----

def test_the_limits_hold_to_the_sample_and_a_caller_may_lower_them(tmp_path):
    blob = _npz(images=np.zeros((MAX_SAMPLES, 784), np.uint8), labels=np.zeros(MAX_SAMPLES, np.uint8))
    assert pynet.load_samples(blob)[0].shape == (MAX_SAMPLES, 784)
    images, labels = _some(4)
    (tmp_path / "four.npz").write_bytes(_npz(images=images, labels=labels))
    for source in (_npz(images=images, labels=labels), tmp_path / "four.npz", open(tmp_path / "four.npz", "rb")):
        with pytest.raises(ValueError, match="^not a pynet samples file: it holds 4 samples, more than the 3 allowed$"):
            pynet.load_samples(source, max_samples=3)
    with pytest.raises(ValueError) as e:
        samples.to_levels([2.0])
    assert str(e.value) == "an image's values must be numbers between 0 and 1"


def test_a_file_too_big_is_refused_however_it_is_given(tmp_path):
    blob = _hostile("too_big", tmp_path / "pwned")
    (tmp_path / "big.npz").write_bytes(blob)
    for source in (tmp_path / "big.npz", open(tmp_path / "big.npz", "rb")):
        with pytest.raises(ValueError, match="^not a pynet samples file: it is larger than the 1 MiB allowed$"):
            pynet.load_samples(source)


def test_images_28_by_28_are_written_as_rows_of_784():
    images, labels = _some(3)
    got, _ = pynet.load_samples(samples.samples_to_bytes(images.reshape(3, 28, 28), labels))
    np.testing.assert_array_equal(got, images)


def test_a_failed_write_leaves_what_was_there(tmp_path):
    images, labels = _some(2)
    (tmp_path / "taken").mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(OSError):
        pynet.save_samples(tmp_path / "taken", images, labels)
    assert [p.name for p in tmp_path.iterdir()] == ["taken"] and not list((tmp_path / "taken").iterdir())


def test_from_ten_samples_on_one_in_five_is_kept_apart_and_none_is_made_of_none():
    train, check = samples.split(FINETUNE["hold_out_from"])
    assert check.tolist() == [4, 9] and train.size == 8
    assert samples.copies_of(0, FINETUNE["mnist_images"]) == 0


RECIPE = {**FINETUNE, "mnist_images": 300, "share": 0.5, "epochs": 1, "batch_size": 32, "optimizer": "momentum",
          "learning_rate": 0.02, "schedule": "cosine", "augment": "affine", "seed": 5, "hold_out_from": 3,
          "hold_out_every": 2}


def test_a_recipe_gives_every_setting_of_the_finetuning():
    config = samples.finetune_config(RECIPE)
    for key in ("epochs", "batch_size", "optimizer", "learning_rate", "schedule", "augment", "seed"):
        assert getattr(config, key) == RECIPE[key], key
    assert config.eval_every == RECIPE["epochs"]
    net = Network([784, 8, 10], seed=0, dtype="float32")
    images, labels = _some(6)
    mnist = np.zeros((1000, 784), np.uint8), np.zeros(1000, np.uint8)
    trainer, parts = samples.finetune_trainer(net, images, labels, mnist, None, RECIPE)
    assert parts["check"].tolist() == [1, 3, 5] and parts["train"].tolist() == [0, 2, 4]
    assert (parts["mnist"], parts["copies"]) == (300, 100)  # 3 samples, 100 times each: half of the set
    assert trainer.m == 300 + 3 * 100 and "test" not in trainer.sets  # no test set given, none evaluated


def test_a_conv_model_is_finetuned_as_itself():
    net = Network("conv 4@5x5, pool 2, dense 10", seed=1, dtype="float32")
    tuned = samples.copy_network(net)
    assert tuned.spec == net.spec and tuned.dimensions == net.dimensions
    x = _some(3)[0].T
    np.testing.assert_array_equal(tuned.predict(x), net.predict(x))


def test_the_report_counts_what_is_read_right_before_and_after(model, mnist_uint8):
    x, y = mnist_uint8["validation"]
    right = np.flatnonzero(model.predict(x[:200].T) == y[:200])[:4]
    parts = {"train": np.arange(4), "check": np.arange(0)}
    got = samples.report(model, model, x[right], y[right], parts, 0.9, 0.8)
    assert got == {"samples": {"checked_on": "trained on", "count": 4, "before": 1.0, "after": 1.0},
                   "test": {"before": 0.9, "after": 0.8}}


def test_a_diverging_finetuning_is_an_error_and_the_model_stays(model, mnist_uint8):
    images, labels = _misread(model, mnist_uint8, 2)
    before = serialize.to_bytes(model)
    small = tuple(a[:600] for a in mnist_uint8["train"])
    wild = {**FINETUNE, "optimizer": "sgd", "learning_rate": 1e6, "mnist_images": 500}
    with pytest.raises(FloatingPointError, match="^the loss "):
        pynet.finetune(model, images, labels, small, mnist_uint8["test"], wild)
    assert serialize.to_bytes(model) == before


class Endless(io.RawIOBase):
    """A source that never ends (a device, a pipe): reading it whole would never finish."""

    def readable(self):
        return True

    def read(self, n=-1):
        if n is None or n < 0:
            raise AssertionError("read whole")
        return bytes(n)


def test_a_source_is_read_only_just_past_the_limit(monkeypatch):
    too_big = "^not a pynet samples file: it is larger than the 1 MiB allowed$"
    with pytest.raises(ValueError, match=too_big):
        pynet.load_samples(Endless())
    monkeypatch.setattr(samples, "open", lambda path, mode: Endless(), raising=False)  # a path to such a source
    with pytest.raises(ValueError, match=too_big):
        pynet.load_samples("/some/device")


def test_nothing_is_unpickled_even_past_the_archive_check(monkeypatch, tmp_path):
    """Defence in depth: NumPy itself is told never to unpickle, should the archive check miss one."""
    marker = tmp_path / "pwned"
    blob = _hostile("pickled_object", marker)
    monkeypatch.setattr(samples, "check_npz_archive", lambda *args: None)
    with pytest.raises(ValueError, match=r"^not a pynet samples file: it is not a readable \.npz archive \(ValueError: "):
        pynet.load_samples(blob)
    assert not marker.exists()


def test_an_empty_archive_and_no_images():
    with pytest.raises(ValueError, match="and nothing else, found nothing$"):
        pynet.load_samples(zip_bytes({}, zipfile.ZIP_DEFLATED))
    images, labels = _some(2)
    assert samples.accuracy(Network([784, 10], seed=0), images[:0], labels[:0]) is None
