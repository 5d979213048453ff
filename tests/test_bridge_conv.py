"""The page's views of a conv model through the bridge: its description, a drawing's feature
maps, the first layer's kernels, the test-set analysis, its file in and out, and the files the
page refuses. Each checked against native pynet on the same model and pixels."""

import io

import numpy as np
import pytest

from pynet import Network, bridge, serialize, settings
from pynet.page.state import STATE
from pynet.preprocess import preprocess
from support import same_model

LENET = "conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10"


def data_file(m=300, seed=0):
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    np.savez(buf, train_images=rng.integers(0, 256, (20, 784), dtype=np.uint8), train_labels=np.zeros(20, np.uint8),
             test_images=rng.integers(0, 256, (m, 784), dtype=np.uint8),
             test_labels=rng.integers(0, 10, m).astype(np.uint8))
    return buf.getvalue()


@pytest.fixture()
def page():
    """Bridge state as after the page worker's start-up, with a dense default model and a conv
    model loaded from its file: (bridge, the conv network as read natively from that file)."""
    STATE.update(model=None, default=None, model_info={}, datasets={}, run=None, last_eval=None, helper=None)
    bridge.load_default_model(serialize.to_bytes(Network([784, 6, 10], seed=1)))
    bridge.load_dataset("small", data_file())
    blob = serialize.to_bytes(Network(LENET, seed=3), {"test_acc": 0.99})
    bridge.load_model(blob)
    return bridge, serialize.from_bytes(blob)


def drawing():
    """A 60 x 40 grey canvas with a bar and a hook: a 'seven'-ish stroke."""
    canvas = np.zeros((60, 40), np.uint8)
    canvas[8:14, 6:34] = 255
    for row in range(14, 54):
        col = 30 - (row - 14) // 3
        canvas[row, col - 3 : col + 3] = 255
    return canvas


def with_entries(blob, **entries):
    """A model file's bytes with some of its entries replaced (None: removed)."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    for name, value in entries.items():
        if value is None:
            arrays.pop(name)
        else:
            arrays[name] = np.asarray(value)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_a_conv_model_is_described_by_its_spec_and_layers(page):
    b, net = page
    info = b.model_info()
    assert info["name"] == "uploaded" and info["spec"] == info["label"] == LENET and info["test_acc"] == 0.99
    assert info["parameters"] == 8 * 25 + 8 + 16 * 8 * 25 + 16 + 256 * 128 + 128 + 128 * 10 + 10
    assert info["layers"] == [
        {"name": "conv 8@5x5", "kind": "conv", "shape": [8, 24, 24]},
        {"name": "pool 2", "kind": "pool", "shape": [8, 12, 12]},
        {"name": "conv 16@5x5", "kind": "conv", "shape": [16, 8, 8]},
        {"name": "pool 2", "kind": "pool", "shape": [16, 4, 4]},
        {"name": "dense 128", "kind": "dense", "shape": [128]},
        {"name": "dense 10", "kind": "dense", "shape": [10]}]
    assert info["dimensions"] == net.dimensions


def test_a_drawing_shows_each_conv_and_pool_layers_feature_maps(page):
    b, net = page
    canvas = drawing()
    r = b.predict(canvas.tobytes(), 40, 60)
    x = preprocess(canvas)
    np.testing.assert_allclose(r["probabilities"], net.forward(x)[:, 0], rtol=0, atol=5e-6)
    outputs = [o.astype(np.float64) for o in net.outputs(x)]
    shown = r["activations"]
    assert [(a["kind"], a["name"]) for a in shown] == [("conv", "conv 8@5x5"), ("pool", "pool 2"),
                                                      ("conv", "conv 16@5x5"), ("pool", "pool 2"),
                                                      ("dense", "dense 128")]
    for a, i in zip(shown[:4], (1, 2, 3, 4)):
        o = outputs[i]  # (C, H, W)
        assert a["shape"] == list(o.shape)
        assert len(a["maps"]) == len(a["scales"]) == o.shape[0]
        for grey, scale, channel in zip(a["maps"], a["scales"], o):
            assert len(grey) == o.shape[1] * o.shape[2] and all(0 <= v <= 255 for v in grey)
            assert scale == pytest.approx(channel.max(), abs=1e-4)
            if channel.max() > 0:  # its own strongest value is white
                np.testing.assert_allclose(grey, 255 * channel.ravel() / channel.max(), rtol=0, atol=0.51)
                assert max(grey) == 255
            else:
                assert grey == [0] * len(grey)
        assert a["max"] == pytest.approx(o.max(), abs=1e-4)
        assert a["active"] == int(np.count_nonzero((o > 1e-6).any(axis=(1, 2))))
    assert shown[0]["active"] > 0, "a stroke lights up some feature map of the first layer"
    dense = shown[4]
    np.testing.assert_allclose(dense["values"], outputs[6], rtol=0, atol=5e-4 + 1e-6)
    assert dense["size"] == 128


def test_an_empty_pad_shows_blank_feature_maps(page):
    b, _ = page
    shown = b.predict(bytes(60 * 40), 40, 60)["activations"]
    for a, (C, H, W) in zip(shown, ((8, 24, 24), (8, 12, 12), (16, 8, 8), (16, 4, 4))):
        assert a["maps"] == [[0] * (H * W)] * C and a["scales"] == [0.0] * C and a["max"] == 0.0 and a["active"] == 0
    assert shown[4]["values"] == [0.0] * 128


def test_at_most_max_shown_channels_maps_are_sent(page):
    b, _ = page
    wide = settings.MAX_SHOWN_CHANNELS + 4
    b.load_model(serialize.to_bytes(Network(f"conv {wide}@3x3, pool 2, dense 10", seed=0)))
    conv, pool = b.predict(drawing().tobytes(), 40, 60)["activations"]
    for a, side in ((conv, 26), (pool, 13)):
        assert a["shape"] == [wide, side, side]
        assert len(a["maps"]) == len(a["scales"]) == settings.MAX_SHOWN_CHANNELS
    assert b.model_info()["layers"][0]["shape"] == [wide, 26, 26]


def test_the_first_layers_kernels_as_tiles(page):
    b, net = page
    W = net.parameters["W1"].astype(np.float64)  # (8, 1, 5, 5)
    first = b.first_layer(32)
    assert (first["kind"], first["height"], first["width"], first["count"]) == ("kernels", 5, 5, 8)
    rows = W.reshape(8, 25)
    np.testing.assert_array_equal(first["tiles"], np.round(rows / np.abs(rows).max(axis=1, keepdims=True), 3))
    assert len(b.first_layer(3)["tiles"]) == 3
    # several input channels: a tile per kernel and channel
    b.load_model(serialize.to_bytes(Network("input 4@14x14, conv 3@3x3, dense 10", seed=0)))
    first = b.first_layer()
    assert (first["kind"], first["height"], first["width"], first["count"], len(first["tiles"])) == ("kernels", 3, 3, 12, 12)
    # a dense first layer after pooling: each unit's weights over the pooled 14 x 14 image
    b.load_model(serialize.to_bytes(Network("pool 2, dense 10", seed=0)))
    first = b.first_layer()
    assert (first["kind"], first["height"], first["width"], first["count"]) == ("units", 14, 14, 10)
    assert len(first["tiles"][0]) == 196
    # a dense network, as before
    b.use_default_model()
    first = b.first_layer()
    assert (first["kind"], first["height"], first["width"], first["count"]) == ("units", 28, 28, 6)


def test_mistakes_and_confusion_of_a_conv_model_are_native_pynets(page):
    b, net = page
    assert net.chunk < 300, "the test set is read in several chunks, each within the conv windows' budget"
    with np.load(io.BytesIO(data_file()), allow_pickle=False) as z:
        images, labels = z["test_images"], z["test_labels"]
    predicted = net.predict(images.T)
    r = b.misclassified(5)
    assert r["errors"] == int(np.count_nonzero(predicted != labels)) and r["total"] == 300
    expected = np.zeros((10, 10), np.int64)
    np.add.at(expected, (labels.astype(np.int64), predicted), 1)
    assert r["confusion"] == expected.tolist()
    t, p = next(zip(*np.nonzero(expected)))
    assert b.cell_images(int(t), int(p))["count"] == expected[t, p]


def test_a_conv_model_saved_from_the_page_loads_back_the_same(page):
    b, net = page
    saved = b.save_model()
    again = serialize.from_bytes(saved)
    assert again.spec == LENET
    assert same_model(saved, serialize.to_bytes(net, {"saved_from": "pynet browser"}))
    b.use_default_model()
    assert b.load_model(saved, "saved")["label"] == LENET


def hostile(blob):
    return {
        # the spec's layers need other arrays than the file has
        "a spec that does not match its arrays": (
            with_entries(blob, spec="conv 4@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10"),
            "are not those of its spec"),
        "a spec of the same sizes but other kernels": (  # 7x7 kernels on the image padded by 1: 24x24 again
            with_entries(blob, spec="conv 8@7x7 pad 1, pool 2, conv 16@5x5, pool 2, dense 128, dense 10"),
            "parameter W1 has shape (8, 1, 5, 5); dimensions [784, 4608, 1024, 128, 10] need (8, 1, 7, 7)"),
        "garbage spec text": (with_entries(blob, spec="rm -rf /; conv lots"), "its spec 'rm -rf /; conv lots' is not valid"),
        "a spec that is not text": (with_entries(blob, spec=np.arange(3)), "the 'spec' entry has the wrong type"),
        # small arrays, but one image through its layers takes far more memory than the page has
        "a spec too big for the page's memory": (
            serialize.to_bytes(Network("conv 1@1x1 pad 722, pool 46, dense 10", seed=0)),
            "more than the 16 MB a model may take here"),
    }


@pytest.mark.parametrize("case", list(hostile(serialize.to_bytes(Network(LENET, seed=0)))))
def test_bad_conv_model_files_are_refused_and_nothing_changes(page, case):
    b, _ = page
    data, words = hostile(serialize.to_bytes(Network(LENET, seed=0)))[case]
    before_info, before_reading = b.model_info(), b.predict(drawing().tobytes(), 40, 60)
    answer = b.handle("load_model", data)
    message = answer["error"]["message"]
    assert words in message, message
    assert message.count(". ") == 0 and "\n" not in message, "one sentence"
    assert b.model_info() == before_info and b.predict(drawing().tobytes(), 40, 60) == before_reading


def test_the_test_set_is_evaluated_a_slice_at_a_time(page):
    """evaluate_test does about budget_ms of work per call (16 images to begin with, then as
    many as the budget left allows at the measured time per image, at least one); drawings can
    be read between two calls, a model change starts it again, and misclassified then reuses it."""
    b, net = page
    first = b.evaluate_test(0)
    assert first == {"done": False, "evaluated": 16, "total": 300}
    b.predict(drawing().tobytes(), 40, 60)  # a drawing read in between changes nothing
    calls = [first, b.evaluate_test(0)]
    assert calls[-1]["evaluated"] == 17, "no budget left: one image"
    calls.append(b.evaluate_test(60_000))  # a budget for all the rest: in chunks of at most net.chunk
    assert calls[-1] == {"done": True, "evaluated": 300, "total": 300}
    assert STATE["partial_eval"] is None and b.evaluate_test(0) == {"done": True, "evaluated": 300, "total": 300}
    with np.load(io.BytesIO(data_file()), allow_pickle=False) as z:
        images, labels = z["test_images"], z["test_labels"]
    assert b.misclassified()["errors"] == int(np.count_nonzero(net.predict(images.T) != labels))
    # a new model half-way: its own evaluation starts from the first image
    b.use_default_model()
    b.load_model(serialize.to_bytes(net))
    b.evaluate_test(0)
    b.use_default_model()
    assert b.evaluate_test(0)["evaluated"] == 16  # the default model's evaluation starts from the first image
    assert b.evaluate_test(float("inf"))["done"]
