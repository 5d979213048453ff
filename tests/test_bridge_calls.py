"""The bridge's calls one by one, on a small made-up data set: every setting, limit and report
the page relies on, each checked against a value computed here (by hand or with native pynet)."""

import io
import json
import math

import numpy as np
import pytest

from pynet import Network, TrainConfig, bridge, serialize, settings, spec, trainer
from pynet.errors import SettingError
from pynet.preprocess import preprocess
from pynet.page import form, runs
from pynet.page.state import STATE
from support import same_model, training


def data_file(n_train=300, n_test=250, n_validation=0, seed=0):
    """A pynet data file of random digits (uint8 pixels, labels 0..9) and its arrays."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, m in (("train", n_train), ("validation", n_validation), ("test", n_test)):
        if m:
            arrays[split + "_images"] = rng.integers(0, 256, (m, 784), dtype=np.uint8)
            arrays[split + "_labels"] = rng.integers(0, 10, m).astype(np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue(), arrays


DEFAULT = Network([784, 6, 10], seed=1)


@pytest.fixture()
def worker():
    """Bridge state as after the page worker's start-up: a default model and a small data set."""
    STATE.update(model=None, default=None, model_info={}, datasets={}, run=None, last_eval=None, helper=None)
    STATE.pop("warm", None)
    bridge.load_default_model(serialize.to_bytes(DEFAULT))
    bridge.load_dataset("small", data_file()[0])
    yield bridge
    STATE.pop("warm", None)


@pytest.fixture()
def arrays():
    return data_file()[1]


def basics(info):
    """A model's description without its layers (tested in test_the_default_model_and_its_description)."""
    return {k: info[k] for k in ("name", "dimensions", "hidden_activation", "test_acc")}


def finish(b, budget_ms=50):
    results = []
    while True:
        results.append(b.step(budget_ms))
        if results[-1]["done"] is not None:
            return results


def parameters_of(b):
    return serialize.from_bytes(b.save_model()).parameters


class JsBuffer:
    """What Pyodide hands over for a Uint8Array: an object with to_bytes()."""

    def __init__(self, data):
        self.data = data

    def to_bytes(self):
        return self.data


class JsProxy:
    """What Pyodide hands over for a JS object or array: an object with to_py()."""

    def __init__(self, value):
        self.value = value

    def to_py(self):
        return self.value


# ---- models ---------------------------------------------------------------------------------


def test_no_model_yet():
    STATE.update(model=None, default=None, model_info={}, datasets={}, run=None, last_eval=None, helper=None)
    for call in (bridge.save_model, lambda: bridge.predict(bytes(4), 1, 1), bridge.first_layer):
        with pytest.raises(ValueError, match="^no model is loaded yet$"):
            call()
    with pytest.raises(ValueError, match="^the default model is not loaded$"):
        bridge.use_default_model()
    assert bridge.model_info() == {}


def test_the_default_model_and_its_description(worker):
    info = worker.model_info()
    assert info == {"name": "default", "dimensions": [784, 6, 10], "hidden_activation": "relu", "test_acc": None,
                    "spec": "784,6,10", "label": "784-6-10", "parameters": 784 * 6 + 6 + 6 * 10 + 10,
                    "layers": [{"name": "dense 6", "kind": "dense", "shape": [6]},
                               {"name": "dense 10", "kind": "dense", "shape": [10]}]}
    info["name"] = "changed"  # a copy: the page cannot change the bridge's state through it
    assert worker.model_info()["name"] == "default"
    np.testing.assert_array_equal(parameters_of(worker)["W1"], DEFAULT.parameters["W1"])


@pytest.mark.parametrize("test_acc, shown", [(0.913, 0.913), (1, 1.0), (float("nan"), None), (float("inf"), None),
                                             ("high", None), (None, None)])
def test_the_accuracy_shown_for_a_model(worker, test_acc, shown):
    net = Network([784, 3, 10], hidden_activation="sigmoid", seed=4)
    net.metadata = {} if test_acc is None else {"test_acc": test_acc}
    info = worker.load_model(serialize.to_bytes(net), name="n" * 50)
    assert basics(info) == {"name": "n" * 40, "dimensions": [784, 3, 10], "hidden_activation": "sigmoid",
                            "test_acc": shown}
    assert type(info["test_acc"]) is type(shown)


def test_models_come_as_bytes_or_as_pyodide_buffers(worker):
    other = Network([784, 5, 10], seed=8)
    blob = serialize.to_bytes(other)
    for data in (blob, bytearray(blob), memoryview(blob), JsBuffer(blob), JsProxy(list(blob))):
        worker.use_default_model()
        assert worker.load_model(data)["dimensions"] == [784, 5, 10]
        np.testing.assert_array_equal(parameters_of(worker)["W1"], other.parameters["W1"])
    worker.load_default_model(JsBuffer(serialize.to_bytes(DEFAULT)))
    assert worker.model_info()["name"] == "default"


def test_a_saved_model_says_where_it_comes_from(worker):
    back = serialize.from_bytes(worker.save_model())
    assert back.metadata == {"saved_from": "pynet browser"}
    assert back.dimensions == [784, 6, 10]


def test_an_uploaded_model_may_unpack_to_64_mib_and_no_more(worker):
    """The limit is the bridge's own (MAX_MODEL_UNPACKED), well under serialize's default."""
    with np.load(io.BytesIO(serialize.to_bytes(DEFAULT))) as z:
        arrays = {k: z[k] for k in z.files}

    def padded(total):
        sizes = sum(a.nbytes + 128 for a in arrays.values())  # each .npy member: header + data
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays, padding=np.zeros(total - sizes - 128, np.uint8))
        return buf.getvalue()

    assert settings.MAX_MODEL_BYTES == 64 * 2**20
    with pytest.raises(ValueError, match="would unpack to 64 MiB, more than the 64 MiB allowed"):
        worker.load_model(padded(64 * 2**20 + 1))
    with pytest.raises(ValueError, match=r"unexpected entries \['padding'\]"):  # within the limit
        worker.load_model(padded(64 * 2**20))
    assert worker.model_info()["name"] == "default"


def test_models_for_other_inputs_or_classes_are_refused(worker):
    for dims in ([100, 8, 10], [784, 8, 9]):
        with pytest.raises(ValueError, match="not 784 and 10"):
            worker.load_model(serialize.to_bytes(Network(dims)))
        with pytest.raises(ValueError, match="not 784 and 10"):
            worker.load_default_model(serialize.to_bytes(Network(dims)))
    assert worker.model_info()["dimensions"] == [784, 6, 10]


# ---- data -----------------------------------------------------------------------------------


def test_data_sets(worker, arrays):
    assert worker.has_dataset("small") and not worker.has_dataset("full")
    assert worker.dataset_summary("small") == {"name": "small", "splits": {"train": 300, "test": 250}}
    with pytest.raises(ValueError, match="^the data set 'full' is not loaded$"):
        worker.dataset_summary("full")
    with pytest.raises(ValueError, match="^unknown data set 'other'$"):
        worker.load_dataset("other", data_file()[0])
    blob, _ = data_file(n_train=40, n_test=20, n_validation=10, seed=1)
    assert worker.load_dataset("full", JsBuffer(blob)) == {
        "name": "full", "splits": {"train": 40, "validation": 10, "test": 20}}
    assert worker.has_dataset("full")


def test_samples(worker, arrays):
    images, labels = arrays["train_images"], arrays["train_labels"]
    out = worker.samples()
    assert out["images"] == images[:24].tolist() and out["labels"] == labels[:24].tolist()
    assert all(type(v) is int for v in out["labels"])
    out = worker.samples(3, "small", "test", 249)  # wraps around the end of the split
    assert out["images"] == arrays["test_images"][[249, 0, 1]].tolist()
    assert out["labels"] == arrays["test_labels"][[249, 0, 1]].tolist()
    assert worker.samples(2, start=301)["labels"] == labels[[1, 2]].tolist()
    assert worker.samples(2, start=-5)["labels"] == labels[[0, 1]].tolist()
    assert len(worker.samples(500)["labels"]) == 200
    assert worker.samples(-3) == {"images": [], "labels": []}
    assert worker.samples("5")["labels"] == labels[:5].tolist()


# ---- prediction -----------------------------------------------------------------------------


def digit_canvas():
    """A 60 x 40 grey canvas with a bright bar: a 'one'."""
    canvas = np.zeros((60, 40), np.uint8)
    canvas[10:50, 18:24] = 255
    return canvas


def test_predict_against_native_preprocess_and_forward(worker):
    canvas = digit_canvas()
    expected_x = preprocess(canvas)
    expected_p = DEFAULT.forward(expected_x)[:, 0]
    r = worker.predict(canvas.tobytes(), 40, 60)
    assert r["image28"] == [round(float(v), 3) for v in expected_x[:, 0]]
    np.testing.assert_allclose(r["probabilities"], expected_p, rtol=0, atol=5e-6)
    assert all(round(v, 5) == v for v in r["probabilities"])
    assert r["digit"] == int(np.argmax(expected_p))
    # the same drawing as RGBA: black ink on a transparent canvas (the page's), or on white
    rgba = np.zeros((60, 40, 4), np.uint8)
    rgba[..., 3] = canvas
    assert worker.predict(JsBuffer(rgba.tobytes()), 40, 60) == r
    white = np.full((60, 40, 4), 255, np.uint8)
    white[..., :3] -= canvas[..., None]
    assert worker.predict(white.tobytes(), "40", "60") == r


def test_predict_an_empty_canvas(worker):
    for pixels in (bytes(30 * 20 * 4), bytes(30 * 20)):
        r = worker.predict(pixels, 20, 30)
        assert r["digit"] is None and r["probabilities"] == [0.0] * 10 and r["image28"] == [0.0] * 784
        assert r["activations"] == [{"kind": "dense", "name": "dense 6", "size": 6, "values": [0.0] * 6, "max": 0.0,
                                     "active": 0}]


@pytest.mark.parametrize("width, height", [(0, 10), (10, 0), (4097, 1), (1, 4097), (-1, -1)])
def test_predict_refuses_canvas_sizes_out_of_range(worker, width, height):
    with pytest.raises(ValueError, match=f"^canvas size {width}x{height} is out of range$"):
        worker.predict(bytes(4), width, height)


def test_predict_accepts_the_largest_canvas(worker):
    r = worker.predict(bytes(4096), 4096, 1)
    assert r["digit"] is None
    r = worker.predict(bytes(4096), 1, 4096)
    assert r["digit"] is None


def test_predict_refuses_a_wrong_number_of_bytes(worker):
    with pytest.raises(ValueError, match=r"^expected 2400 RGBA or 600 grey bytes, got 601$"):
        worker.predict(bytes(601), 20, 30)


def hidden_by_hand(net, x):
    """Each hidden layer's activations for one column x, computed here from the parameters."""
    out, a = [], x[:, 0].astype(np.float64)
    L = len(net.dimensions) - 1
    for l in range(1, L):
        z = net.parameters["W" + str(l)].astype(np.float64) @ a + net.parameters["b" + str(l)][:, 0]
        a = np.maximum(z, 0) if net.hidden_activation == "relu" else 1 / (1 + np.exp(-z))
        out.append(a)
    return out


@pytest.mark.parametrize("hidden, activation", [([300, 7], "relu"), ([5], "sigmoid")])
def test_predict_shows_each_hidden_layer(worker, hidden, activation):
    net = Network([784, *hidden, 10], hidden_activation=activation, seed=6)
    worker.load_model(serialize.to_bytes(net))
    canvas = digit_canvas()
    shown = worker.predict(canvas.tobytes(), 40, 60)["activations"]
    expected = hidden_by_hand(net, preprocess(canvas))
    assert [s["size"] for s in shown] == hidden
    on = 0.5 if activation == "sigmoid" else 1e-6
    for s, a in zip(shown, expected):
        assert len(s["values"]) == min(a.size, 256)
        np.testing.assert_allclose(s["values"], a[:256], rtol=0, atol=5e-4 + 1e-6)
        assert s["max"] == pytest.approx(a.max(), abs=5e-5 + 1e-6)
        assert abs(s["active"] - np.count_nonzero(a > on)) <= 1  # float32 vs float64 at the threshold
    assert shown[0]["active"] > 0
    empty = worker.predict(bytes(60 * 40), 40, 60)["activations"]
    assert empty == [{"kind": "dense", "name": f"dense {n}", "size": n, "values": [0.0] * min(n, 256), "max": 0.0,
                      "active": 0} for n in hidden]


def test_sigmoid_units_count_as_active_above_one_half(worker):
    """A sigmoid layer whose units sit at exactly known values: 0.5 is not active, above is."""
    net = Network([784, 4, 10], hidden_activation="sigmoid", seed=0)
    net.parameters["W1"][:] = 0
    net.parameters["b1"][:, 0] = [0.0, 0.1, -0.1, 3.0]  # sigmoid: 0.5, 0.525, 0.475, 0.953
    worker.load_model(serialize.to_bytes(net))
    layer = worker.predict(digit_canvas().tobytes(), 40, 60)["activations"][0]
    assert layer["active"] == 2
    assert layer["values"] == [0.5, 0.525, 0.475, 0.953]
    assert layer["max"] == round(1 / (1 + math.exp(-3.0)), 4)


def test_relu_units_count_as_active_above_zero(worker):
    net = Network([784, 4, 10], seed=0)
    net.parameters["W1"][:] = 0
    net.parameters["b1"][:, 0] = [0.0, 1e-7, 2e-6, 0.25]
    worker.load_model(serialize.to_bytes(net))
    layer = worker.predict(digit_canvas().tobytes(), 40, 60)["activations"][0]
    assert layer["active"] == 2 and layer["max"] == 0.25 and layer["values"] == [0.0, 0.0, 0.0, 0.25]


# ---- settings -------------------------------------------------------------------------------


LENET = "conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10"


@pytest.mark.parametrize("value, dims", [
    # hidden sizes, as the page's "hidden layers" field took them: the input and output layers are added
    ("128", [784, 128, 10]), (" 128 , 64 ", [784, 128, 64, 10]), ("128; 64;32", [784, 128, 64, 32, 10]),
    ([32, 16], [784, 32, 16, 10]), (("8",), [784, 8, 10]), (12, [784, 12, 10]), ("16.0", [784, 16, 10]),
    ([784, 128, 10], [784, 784, 128, 10, 10]), ("5, 128, 10", [784, 5, 128, 10, 10]), ("784, 5, 9", [784, 784, 5, 9, 10]),
    # a whole dense spec: from 784 inputs to 10 outputs
    ("784,128,10", [784, 128, 10]), ("784, 256, 128, 10", [784, 256, 128, 10]), ("784, 10", [784, 10]),
    ("2048", [784, 2048, 10]),  # wider than the old limit of 1,024 units: the memory is what counts
    ("128\n64", [784, 128, 64, 10]),  # a line break is a comma
])
def test_the_network_field_takes_hidden_sizes_or_a_dense_spec(value, dims):
    plan = form.network_plan(value)
    assert plan.dense_only and plan.dimensions == dims
    assert spec.label(plan.text) == "-".join(map(str, dims))


@pytest.mark.parametrize("text, canonical", [
    (LENET, LENET), ("CONV 4@5X5 , pool 2,dense 10", "conv 4@5x5, pool 2, dense 10"), ("dense 10", "dense 10"),
    ("input 1@28x28, conv 4@3x3 pad 1, pool 2, dense 10", "conv 4@3x3 pad 1, pool 2, dense 10"),
    ("conv 4@5x5\npool 2\r\n  dense 10\n", "conv 4@5x5, pool 2, dense 10"),  # one layer a line
    ("conv 4@5x5,\n pool 2 ,\ndense 10", "conv 4@5x5, pool 2, dense 10"),
])
def test_the_network_field_takes_a_conv_spec(text, canonical):
    plan = form.network_plan(text)
    assert not plan.dense_only and spec.label(plan.text) == plan.text == canonical
    assert plan.dimensions[0] == 784 and plan.dimensions[-1] == 10


def test_the_sigmoid_activation_goes_into_the_network():
    assert form.network_plan("conv 4@5x5, dense 10", "sigmoid").layers[1].activation == "sigmoid"


EXAMPLES = "write sizes such as 128 or 128, 64, or layers such as conv 8@5x5, pool 2, dense 10"


@pytest.mark.parametrize("value, message", [
    ("", "give the network: hidden sizes such as 128 or 128, 64, or layers such as conv 8@5x5, pool 2, dense 10"),
    ("   ", "give the network: hidden sizes such as 128 or 128, 64"),
    (None, "give the network: hidden sizes"),
    ([], "give the network: hidden sizes"),
    ([""], f"'' is not a layer size; {EXAMPLES}"),
    ("12,,3", f"'' is not a layer size; {EXAMPLES}"),
    ([None], f"'None' is not a layer size; {EXAMPLES}"),
    ("abc", f"'abc' is neither layer sizes nor layers; {EXAMPLES}"),
    ("12, abc", f"'12, abc' is neither layer sizes nor layers; {EXAMPLES}"),
    ("inf", f"'inf' is neither layer sizes nor layers; {EXAMPLES}"),
    ("x" * 50, f"'{'x' * 37}...' is neither layer sizes nor layers"),
    ("2.5", "layer sizes are whole numbers, got '2.5'"),
    ("0", "layer sizes are at least 1, got 0"),
    ("-3", "layer sizes are at least 1, got -3"),
    ("784, 0, 10", "layer sizes are at least 1, got 0"),
    ("8, 8, 8, 8, 8, 8, 8, 8, 8, 8", "the network has 11 layers; the page trains at most 10 (conv, pool and dense "
                                     "layers, the output layer included)"),
    # the spec's own line for each mistake (pynet.spec)
    ("conv 8@29x29, dense 10", "layer 1 (conv 8@29x29): its 29x29 kernel is larger than its 28x28 input"),
    ("conv 0@5x5, dense 10", "layer 1 (conv 0@5x5): the number of channels must be at least 1, got 0"),
    ("conv -2@5x5, dense 10", "layer 1 (conv -2@5x5): the number of channels must be at least 1, got -2"),
    ("conv 4@5x5 stride 0, dense 10", "layer 1 (conv 4@5x5 stride 0): the stride must be at least 1, got 0"),
    ("conv 8@5x5, pool 5, dense 10", "layer 2 (pool 5): pooling by 5 does not divide its 24x24 input"),
    ("conv 8@5x5, pool 2, dense 12", "the last layer must be dense 10 (one unit per class), got dense 12"),
    ("conv 8@5x5, pool 2", "the last layer must be dense 10 (one unit per class), got 'pool 2'"),
    ("784, 128, 9", None),  # hidden sizes 784, 128, 9: a network of 784-784-128-9-10, which is fine
    ("input 3@32x32, dense 10", "the page's images are 1@28x28; drop the input 3@32x32 from the spec"),
    ("conv 4@3x3 pad 1, " * 10 + "dense 10", "the network has 11 layers; the page trains at most 10"),
    # a model file the page would refuse to load back (pynet/page/models.py), whatever the batch
    ("conv 512@3x3 pad 1, conv 512@3x3 pad 1, dense 10", "one image through the network would take about 20 MB of "
                                                         "memory, more than the 16 MB a model may take in the page"),
])
def test_the_network_field_refuses(value, message):
    if message is None:
        assert form.network_plan(value).dimensions == [784, 784, 128, 9, 10]
        return
    with pytest.raises(SettingError) as e:
        form.network_plan(value, field="hidden")
    assert str(e.value).startswith(message) and e.value.field == "hidden"


@pytest.mark.parametrize("value, batch, need", [
    ("100000", 128, "1.4 GB"), ("20000", 128, "282 MB"),
    ("conv 64@5x5, conv 64@5x5, dense 1024, dense 10", 128, "1.1 GB"), (LENET, 1000, "318 MB"),
])
def test_a_network_too_large_for_the_page_is_refused_with_what_it_would_need(value, batch, need):
    plan = form.network_plan(value)
    assert plan.training_bytes(batch) > settings.MAX_TRAINING_BYTES
    with pytest.raises(SettingError) as e:
        form.check_memory(plan, batch)
    assert str(e.value) == (f"the network would need about {need} of memory to train on batches of {batch:,} images, "
                            f"more than the 256 MB this page allows; use fewer or smaller layers, or a smaller batch")
    assert e.value.field == "network"


def test_the_memory_limit_is_inclusive_and_keeps_a_model_within_a_model_file():
    plan = form.network_plan("128")
    exact = plan.training_bytes(128)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(form, "MAX_TRAINING_BYTES", exact)
        assert form.check_memory(plan, 128) == exact
        with pytest.raises(SettingError, match="batches of 129 images"):
            form.check_memory(plan, 129)
        with pytest.raises(SettingError, match="use fewer or smaller layers$"):  # no smaller batch than one
            form.check_memory(form.network_plan("4096"), 1)
    # what training allows (parameters four times over, plus a batch) leaves the parameters within a model file
    assert settings.MAX_TRAINING_BYTES // 4 <= settings.MAX_MODEL_BYTES


def test_the_description_shows_every_layer_as_it_is_typed():
    d = form.describe_network({"network": LENET, "batch_size": "128", "train_size": "50000"})
    assert d["network"] == LENET and d["batch_size"] == 128
    assert [(layer["layer"], layer["shape"], layer["parameters"]) for layer in d["layers"]] == [
        ("input", [1, 28, 28], 0), ("conv 8@5x5", [8, 24, 24], 8 * 25 + 8), ("pool 2", [8, 12, 12], 0),
        ("conv 16@5x5", [16, 8, 8], 16 * 8 * 25 + 16), ("pool 2", [16, 4, 4], 0), ("dense 128", [128], 128 * 257),
        ("dense 10", [10], 10 * 129)]
    assert d["parameters"] == sum(p.size for p in Network(LENET).parameters.values()) == 37_610
    assert d["training_bytes"] == form.network_plan(LENET).training_bytes(128)
    dense = form.describe_network(JsProxy({"hidden": "128, 64", "activation": "sigmoid"}))
    assert dense["network"] == "784-128-64-10" and [layer["shape"] for layer in dense["layers"]] == [[784], [128], [64], [10]]
    assert dense["parameters"] == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10


@pytest.mark.parametrize("form_values, batch", [
    ({}, 128), ({"batch_size": "32"}, 32), ({"batch_size": "0", "train_size": "5000"}, 5000),
    ({"batch_size": "900", "train_size": "700"}, 700), ({"batch_size": "0"}, 128), ({"batch_size": "x"}, 128),
    ({"batch_size": "-4", "train_size": "many"}, 128), ({"batch_size": 2.5}, 128),
])
def test_the_description_reads_the_batch_size_leniently(form_values, batch):
    """The memory depends on the batch (a full batch: the training images): the description
    reads what the form holds as well as it can; the Train button checks those fields."""
    assert form.describe_network(json.dumps({"network": "32", **form_values}))["batch_size"] == batch


def test_the_description_refuses_as_the_train_button_does(worker):
    for config in ({"network": "conv 8@5x5, pool 5, dense 10"}, {"hidden": "abc"}, {"network": "8", "hidden": "8"},
                   {"network": "conv 32@3x3, conv 32@3x3, dense 10", "batch_size": 0, "train_size": 300}):
        with pytest.raises(SettingError) as described:
            form.describe_network(config)
        with pytest.raises(SettingError) as started:
            worker.start_training(config)
        assert (str(described.value), described.value.field) == (str(started.value), started.value.field)
    assert bridge.handle("describe_network", {"network": "conv 8@5x5, pool 5, dense 10"}) == {"error": {
        "message": "layer 2 (pool 5): pooling by 5 does not divide its 24x24 input", "field": "network"}}
    assert bridge.handle("describe_network", {"network": "16"})["value"]["network"] == "784-16-10"


def test_default_settings(worker):
    plan, activation, dataset, train_size, tc = form.check_config({})
    assert (plan.dimensions, plan.dense_only, activation, dataset, train_size) == ([784, 128, 10], True, "relu", "small", 300)
    assert tc == TrainConfig(epochs=2, batch_size=128, optimizer="adam", learning_rate=0.001, schedule="constant",
                             seed=0, eval_every=1)


def test_every_setting_is_used(worker):
    config = {"hidden": "9, 7", "activation": "sigmoid", "optimizer": "momentum", "learning_rate": "0.05",
              "epochs": 3, "batch_size": 40, "train_size": 200, "seed": 12, "dataset": "small",
              "eval_every": 2, "schedule": "cosine", "augment": "elastic"}
    for given in (config, json.dumps(config), JsProxy(config)):
        plan, activation, dataset, train_size, tc = form.check_config(given)
        assert (plan.dimensions, activation, dataset, train_size) == ([784, 9, 7, 10], "sigmoid", "small", 200)
        assert tc == TrainConfig(epochs=3, batch_size=40, optimizer="momentum", learning_rate=0.05,
                                 schedule="cosine", seed=12, eval_every=2, augment="elastic")
    assert form.check_config({"augment": "affine"})[4].augment == "affine"
    assert form.check_config({"dimensions": [784, 20, 10]})[0].dimensions == [784, 20, 10]
    assert form.check_config({"hidden": [20, 784]})[0].dimensions == [784, 20, 784, 10]
    # the network field's key: "network", or "hidden", its older name, which means the same
    for key in ("network", "hidden"):
        assert form.check_config({key: "9, 7"})[0].dimensions == [784, 9, 7, 10]
        assert form.check_config({key: "784,9,10"})[0].dimensions == [784, 9, 10]
        assert form.check_config({key: LENET, "activation": "sigmoid"})[0].text == LENET


@pytest.mark.parametrize("config, message", [
    ([1, 2], "training settings must be a dict"),
    ("[1, 2]", "training settings must be a dict"),
    ({"lr": 1, "code": 2}, "unknown training settings: code, lr"),
    ({"dimensions": [784, 10]}, "dimensions must start with 784 and end with 10, got [784, 10]"),
    ({"dimensions": [100, 32, 10]}, "dimensions must start with 784 and end with 10, got [100, 32, 10]"),
    ({"dimensions": [784, 32, 9]}, "dimensions must start with 784 and end with 10, got [784, 32, 9]"),
    ({"dimensions": [784, 0, 10]}, "layer sizes are at least 1, got 0"),
    ({"network": "8", "dimensions": [784, 8, 10]}, "give the network once, not both as network and as dimensions"),
    ({"hidden": "8", "network": "8"}, "give the network once, not both as network and as hidden"),
    # a full batch of this data set's 300 images (conv windows of 300 images: the memory of a batch counts)
    ({"network": "conv 32@3x3, conv 32@3x3, dense 10", "batch_size": 300}, "the network would need about 581 MB"),
    ({"network": "conv 32@3x3, conv 32@3x3, dense 10", "batch_size": 0}, "the network would need about 581 MB "
                                                                          "of memory to train on batches of 300 images"),
    ({"activation": "tanh"}, "activation must be one of relu, sigmoid, got 'tanh'"),
    ({"optimizer": "magic"}, "optimizer must be one of gd, sgd, momentum, adam, got 'magic'"),
    ({"learning_rate": 0}, "learning rate must be a number above 0 and at most 100, got 0"),
    ({"learning_rate": 100.001}, "learning rate must be a number above 0 and at most 100, got 100.001"),
    ({"learning_rate": "inf"}, "learning rate must be a number above 0 and at most 100, got 'inf'"),
    ({"learning_rate": "fast"}, "learning rate must be a number, got 'fast'"),
    ({"learning_rate": None}, "learning rate must be a number, got None"),
    ({"dataset": "full"}, "the data set 'full' is not loaded"),
    ({"dataset": "tiny"}, "data set must be 'small' or 'full', got 'tiny'"),
    ({"train_size": 0}, "training-set size must be between 1 and 300, got 0"),
    ({"train_size": 301}, "training-set size must be between 1 and 300, got 301"),
    ({"train_size": 2.5}, "training-set size must be a whole number, got 2.5"),
    ({"train_size": True}, "training-set size must be a whole number, got True"),
    ({"train_size": "many"}, "training-set size must be a whole number, got 'many'"),
    ({"train_size": None}, "training-set size must be a whole number, got None"),
    ({"train_size": float("nan")}, "training-set size must be a whole number, got nan"),
    ({"epochs": 0}, "epochs must be between 1 and 100,000, got 0"),
    ({"epochs": 100_001}, "epochs must be between 1 and 100,000, got 100,001"),
    ({"batch_size": -1}, "batch size must be between 0 and 300, got -1"),
    ({"batch_size": 301}, "batch size must be between 0 and 300, got 301"),
    ({"seed": -1}, "seed must be between 0 and 4,294,967,295, got -1"),
    ({"seed": 2**32}, "seed must be between 0 and 4,294,967,295, got 4,294,967,296"),
    ({"eval_every": 0}, "evaluate every must be between 1 and 100,000, got 0"),
    ({"eval_every": 100_001}, "evaluate every must be between 1 and 100,000, got 100,001"),
    ({"schedule": "sometimes"}, "schedule must be one of"),
    ({"augment": "rotate"}, "augmentation must be one of off, affine, elastic, got 'rotate'"),
    ({"augment": True}, "augmentation must be one of off, affine, elastic, got True"),
])
def test_bad_settings(worker, config, message):
    with pytest.raises(ValueError) as e:
        worker.start_training(config)
    assert str(e.value).startswith(message)
    assert not training()


def test_limits_are_inclusive(worker):
    ok = {"train_size": 300, "epochs": 100_000, "batch_size": 300, "seed": 2**32 - 1, "eval_every": 100_000,
          "learning_rate": 100}
    dims, _, _, train_size, tc = form.check_config(ok)
    assert (train_size, tc.epochs, tc.batch_size, tc.seed, tc.eval_every, tc.learning_rate) == \
        (300, 100_000, 300, 2**32 - 1, 100_000, 100.0)
    _, _, _, train_size, tc = form.check_config({"train_size": "1", "epochs": 1.0, "batch_size": 0, "seed": 0,
                                                 "eval_every": 1, "learning_rate": 1e-9})
    assert (train_size, tc.epochs, tc.batch_size, tc.seed, tc.eval_every) == (1, 1, 0, 0, 1)


def test_full_batch_is_limited_to_ten_thousand_images(worker):
    blob, _ = data_file(n_train=10_001, n_test=10)
    worker.load_dataset("full", blob)
    message = ("full-batch training (batch size 0) is limited to 10,000 images in the browser; "
               "choose a batch size such as 128")
    for config in ({"batch_size": 0}, {"batch_size": 10_001}, {"batch_size": 10_001, "train_size": 10_001}):
        with pytest.raises(ValueError) as e:
            form.check_config({"dataset": "full", **config})
        assert str(e.value) == message
    # at the limit, or with mini-batches, it is allowed
    assert form.check_config({"dataset": "full", "batch_size": 0, "train_size": 10_000})[3] == 10_000
    assert form.check_config({"dataset": "full", "batch_size": 10_000, "train_size": 10_000})[4].batch_size == 10_000
    assert form.check_config({"dataset": "full", "batch_size": 10_000})[4].batch_size == 10_000


# ---- training -------------------------------------------------------------------------------


def native(arrays, dims, tc, activation="relu", train_size=300):
    """Network.train with the same settings, as a list of events, and its network."""
    net = Network(dims, hidden_activation=activation, seed=tc.seed, dtype="float32")
    X, y = arrays["train_images"][:train_size].T, arrays["train_labels"][:train_size]
    return list(net.train(X, y, tc)), net


def test_a_run_reports_what_native_training_does(worker, arrays):
    config = {"hidden": "10", "epochs": 2, "batch_size": 64, "train_size": 250, "seed": 3, "learning_rate": 0.01,
              "optimizer": "sgd", "schedule": "step"}
    summary = worker.start_training(config)
    tc = TrainConfig(epochs=2, batch_size=64, optimizer="sgd", learning_rate=0.01, schedule="step", seed=3)
    assert summary == {"dimensions": [784, 10, 10], "network": "784-10-10", "activation": "relu", "dataset": "small", "train_size": 250,
                       "batches": 4, "total_steps": 8, "config": tc.to_dict(), "workers": 1,
                       "worker_batch": 64}
    assert training()
    results = finish(worker)
    events, net = native(arrays, [784, 10, 10], tc, train_size=250)
    batches = [e for e in events if e["type"] == "batch"]
    assert [r for res in results for r in res["losses"]] == [[e["step"], e["loss"]] for e in batches]
    last = results[-1]
    assert (last["step"], last["total_steps"], last["epoch"], last["epochs_total"], last["batches"]) == (8, 8, 2, 2, 4)
    assert last["samples_per_s"] > 0 and 0 < last["elapsed_s"] < 60 and last["evaluating"] is False
    # the test evaluation, against native pynet's on the final network
    epochs = [e for r in results for e in r["epochs"]]
    test = net.evaluate(arrays["test_images"].T, arrays["test_labels"])
    assert [e["epoch"] for e in epochs] == [1, 2] and [e["epochs"] for e in epochs] == [2, 2]
    assert epochs[-1]["test_acc"] == test["accuracy"]
    assert epochs[-1]["test_loss"] == pytest.approx(test["loss"], rel=1e-5)
    native_epochs = [e for e in events if e["type"] == "epoch"]
    for e, n in zip(epochs, native_epochs):
        assert e["loss"] == n["loss"] and e["train_acc"] == n["train_acc"]
        assert e["val_acc"] is None and e["val_loss"] is None
        assert e["step"] == 4 * e["epoch"]
    # the trained network becomes the current model, with what the page shows about it
    done = last["done"]
    assert done["reason"] == "completed" and done["message"] == "training completed"
    assert basics(done["model"]) == {"name": "trained", "dimensions": [784, 10, 10], "hidden_activation": "relu",
                                     "test_acc": test["accuracy"]}
    saved = serialize.from_bytes(worker.save_model())
    for k in net.parameters:
        np.testing.assert_array_equal(saved.parameters[k], net.parameters[k])
    meta = dict(saved.metadata)
    assert meta.pop("saved_from") == "pynet browser"
    assert meta == {"name": "trained", "dimensions": [784, 10, 10], "hidden_activation": "relu",
                    "config": tc.to_dict(), "dataset": "small", "train_size": 250, "epochs_run": 2,
                    "steps_run": 8, "test_acc": test["accuracy"], "end": "completed"}
    assert not training()
    with pytest.raises(ValueError, match="^no training run is in progress$"):
        worker.step()


def test_evaluation_goes_in_chunks_of_the_test_set(worker, arrays, monkeypatch):
    """With chunks of 100 of the 250 test images, the evaluation takes three chunks (100, 100,
    50) and still gives native pynet's accuracy and loss."""
    monkeypatch.setattr(runs, "EVAL_MACS", 1.0)
    chunks = []
    real = trainer.Evaluation.step

    def counted(ev):
        chunks.append((ev.pos, ev.chunk))
        return real(ev)

    monkeypatch.setattr(trainer.Evaluation, "step", counted)
    worker.start_training({"hidden": "10", "epochs": 1, "batch_size": 300, "seed": 1})
    results = finish(worker)
    assert chunks == [(0, 100), (100, 100), (200, 100)]
    epochs = [e for r in results for e in r["epochs"]]
    net = STATE["model"]
    test = net.evaluate(arrays["test_images"].T, arrays["test_labels"])
    assert len(epochs) == 1
    assert epochs[0]["test_acc"] == test["accuracy"]
    assert epochs[0]["test_loss"] == pytest.approx(test["loss"], rel=1e-5)


def test_a_step_call_reports_an_evaluation_in_progress(worker, monkeypatch):
    """step() returns when its time is up, in the middle of an evaluation if need be."""
    clock = iter(range(0, 10**6, 5))  # every reading of the clock is 5 s later: one unit of work per call
    monkeypatch.setattr(runs.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(runs, "EVAL_MACS", 1.0)  # chunks of 100 test images
    worker.start_training({"hidden": "10", "epochs": 1, "batch_size": 300, "seed": 1})
    r = worker.step(60)
    assert len(r["losses"]) == 1 and not r["epochs"] and r["evaluating"] is False
    for _ in range(2):  # the epoch's end: its evaluation, chunks 0-100 and 100-200
        r = worker.step(60)
        assert r["evaluating"] is True and not r["epochs"] and not r["losses"]
    r = worker.step(60)  # the last chunk, 200-250, and the epoch it completes
    assert r["evaluating"] is False and len(r["epochs"]) == 1 and r["done"] is None
    r = worker.step(60)
    assert r["done"]["reason"] == "completed" and r["evaluating"] is False
    assert r["elapsed_s"] > 0 and r["elapsed_s"] == int(r["elapsed_s"])


def test_evaluation_chunk_size():
    # about EVAL_MACS multiply-adds per chunk, at least 100 images
    assert runs.EVAL_MACS == 60e6
    assert runs._eval_chunk_size(Network([784, 128, 10])) == int(60e6 / (784 * 128 + 128 * 10)) == 590
    assert runs._eval_chunk_size(Network([784, 1024, 1024, 10])) == 100
    assert runs._eval_chunk_size(Network([784, 10])) == int(60e6 / 7840)
    # a conv layer: its kernel's weights at each of its output values
    macs = 25 * 8 * 24 * 24 + 8 * 25 * 16 * 8 * 8 + 256 * 128 + 128 * 10
    assert runs._eval_chunk_size(Network(LENET)) == int(60e6 / macs) == 169


def test_eval_every(worker, arrays):
    worker.start_training({"hidden": "5", "epochs": 5, "batch_size": 100, "eval_every": 2, "seed": 2})
    epochs = [e for r in finish(worker) for e in r["epochs"]]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5]
    evaluated = [e["test_acc"] is not None for e in epochs]
    assert evaluated == [False, True, False, True, True]  # every second epoch, and the last
    assert all((e["test_loss"] is not None) == ev for e, ev in zip(epochs, evaluated))
    assert worker.model_info()["test_acc"] == epochs[-1]["test_acc"]


def test_no_accuracy_is_claimed_for_a_network_trained_past_its_last_evaluation(worker, monkeypatch):
    """Stopped after an epoch that was not evaluated: the network on offer has no test accuracy
    (that of epoch 2 belongs to an earlier network), and no mistakes of an earlier network."""
    clock = iter(range(0, 10**6, 5))  # every reading of the clock is 5 s later: one unit of work per call
    monkeypatch.setattr(runs.time, "perf_counter", lambda: next(clock))
    worker.start_training({"hidden": "5", "epochs": 5, "batch_size": 300, "eval_every": 2, "seed": 2})
    epochs = []
    while len(epochs) < 3:
        epochs += worker.step(60)["epochs"]
    offer = worker.stop_training()["offer"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[1]["test_acc"] is not None and epochs[2]["test_acc"] is None
    assert offer["test_acc"] is None
    assert worker.use_offered()["test_acc"] is None
    meta = serialize.from_bytes(worker.save_model()).metadata
    assert meta["epochs_run"] == 3 and meta["end"] == "stopped" and meta["test_acc"] is None
    assert STATE["last_eval"] is None  # the evaluation of epoch 2 is not that of this network


def test_validation_split_of_the_full_data_set(worker):
    blob, arrays = data_file(n_train=200, n_test=120, n_validation=80, seed=4)
    worker.load_dataset("full", blob)
    worker.start_training({"hidden": "6", "epochs": 1, "batch_size": 50, "dataset": "full", "seed": 1})
    e = [e for r in finish(worker) for e in r["epochs"]][0]
    net = STATE["model"]
    for split, key in (("validation", "val"), ("test", "test")):
        r = net.evaluate(arrays[split + "_images"].T, arrays[split + "_labels"])
        assert e[key + "_acc"] == r["accuracy"] and e[key + "_loss"] == pytest.approx(r["loss"], rel=1e-5)


def test_a_run_with_a_non_finite_network_is_not_kept_when_stopped(worker):
    before = worker.save_model()
    worker.start_training({"hidden": "5", "epochs": 3, "batch_size": 100, "seed": 2})
    worker.step(1)
    STATE["run"]["net"].parameters["W2"][0, 0] = np.inf
    assert worker.stop_training() == {"model": worker.model_info(), "stopped": True,
                                    "message": "the run had diverged; the previous model was kept"}
    assert same_model(worker.save_model(), before) and not training()


def test_a_new_run_replaces_the_one_in_progress(worker):
    worker.start_training({"hidden": "5", "epochs": 3, "seed": 2})
    worker.step(1)
    worker.start_training({"hidden": "7", "epochs": 1, "seed": 2})
    done = finish(worker)[-1]["done"]
    assert done["model"]["dimensions"] == [784, 7, 10]


def test_misclassified_and_the_confusion_matrix(worker, arrays):
    worker.start_training({"hidden": "8", "epochs": 1, "batch_size": 100, "seed": 5})
    finish(worker)
    net = STATE["model"]
    images, labels = arrays["test_images"], arrays["test_labels"]
    P = net.forward(images.T)
    pred, conf = P.argmax(axis=0), P.max(axis=0)
    wrong = np.flatnonzero(pred != labels)
    r = worker.misclassified(5)
    assert r["dataset"] == "small" and r["total"] == 250 and r["errors"] == wrong.size
    assert r["accuracy"] == 1 - wrong.size / 250
    confusion = np.zeros((10, 10), int)
    for t, p in zip(labels, pred):
        confusion[t, p] += 1
    assert r["confusion"] == confusion.tolist()
    most_confident = wrong[np.argsort(-conf[wrong], kind="stable")[:5]]
    assert [item["image"] for item in r["items"]] == images[most_confident].tolist()
    assert [item["true"] for item in r["items"]] == labels[most_confident].tolist()
    assert [item["predicted"] for item in r["items"]] == pred[most_confident].tolist()
    assert [item["confidence"] for item in r["items"]] == [round(float(c), 4) for c in conf[most_confident]]
    assert [c for c in (item["confidence"] for item in r["items"])] == sorted(
        (item["confidence"] for item in r["items"]), reverse=True)
    assert len(worker.misclassified()["items"]) == min(24, wrong.size)
    assert len(worker.misclassified(1000)["items"]) == min(100, wrong.size)
    assert worker.misclassified(-1)["items"] == []
    # a cell of the matrix: its members, most confident first
    t, p = np.unravel_index(np.argmax(confusion - np.diag(np.diag(confusion))), confusion.shape)
    members = np.flatnonzero((labels == t) & (pred == p))
    cell = worker.cell_images(t, p, 2)
    assert cell["count"] == members.size == confusion[t, p]
    chosen = members[np.argsort(-conf[members], kind="stable")[:2]]
    assert cell["items"] == [{"image": images[i].tolist(), "true": int(t), "predicted": int(p),
                              "confidence": round(float(conf[i]), 4)} for i in chosen]
    assert len(worker.cell_images(t, p)["items"]) == min(24, members.size)
    assert len(worker.cell_images(t, t, 500)["items"]) == min(100, confusion[t, t])
    assert worker.cell_images(t, p, -2)["items"] == []


def one_class_model(digit):
    """A model file whose network answers digit for every image."""
    net = Network([784, 6, 10], seed=1)
    net.parameters["W2"][:] = 0
    net.parameters["b2"][:] = 0
    net.parameters["b2"][digit] = 10
    return serialize.to_bytes(net)


def test_a_cell_shows_at_most_100_images_and_needs_no_earlier_evaluation(worker):
    """A cell of 150 images (every test image labelled 0, every answer 3): 100 shown at most,
    the count whole; asked before any evaluation (the page's first look), the small data set's."""
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buf, train_images=rng.integers(0, 256, (20, 784), dtype=np.uint8), train_labels=np.zeros(20, np.uint8),
             test_images=rng.integers(0, 256, (150, 784), dtype=np.uint8), test_labels=np.zeros(150, np.uint8))
    worker.load_dataset("small", buf.getvalue())
    worker.load_model(one_class_model(3))
    assert STATE["last_eval"] is None
    cell = worker.cell_images(0, 3, 500)
    assert cell["count"] == 150 and len(cell["items"]) == 100
    assert worker.cell_images(0, 3, 100)["items"] == cell["items"]
    confusion = worker.misclassified()["confusion"]
    assert confusion[0][3] == 150 and all(type(v) is int for row in confusion for v in row)


@pytest.mark.parametrize("true, predicted", [(-1, 0), (0, 10), (10, 3), (2, -1)])
def test_cell_images_refuses_labels_out_of_range(worker, true, predicted):
    with pytest.raises(ValueError, match=rf"^a confusion-matrix cell has labels 0..9, got \({true}, {predicted}\)$"):
        worker.cell_images(true, predicted)


def test_misclassified_without_a_run_evaluates_the_current_model(worker, arrays):
    blob, full = data_file(n_train=20, n_test=30, seed=9)
    worker.load_dataset("full", blob)
    for name, data in ((None, arrays), ("full", full)):
        r = worker.misclassified(3, name)
        pred = DEFAULT.predict(data["test_images"].T)
        assert r["dataset"] == (name or "small")
        assert r["errors"] == int(np.count_nonzero(pred != data["test_labels"]))
        assert r["total"] == data["test_labels"].size
    # the last evaluation is reused by the next calls, and by a cell's images
    assert worker.misclassified()["dataset"] == "full"

    def cell(data, t, p):
        return int(np.count_nonzero((data["test_labels"] == t) & (DEFAULT.predict(data["test_images"].T) == p)))

    t, p = next((t, p) for t in range(10) for p in range(10) if cell(full, t, p) != cell(arrays, t, p))
    assert worker.cell_images(t, p)["count"] == cell(full, t, p)
    # a new model drops it
    worker.use_default_model()
    assert worker.misclassified()["dataset"] == "small"


def test_first_layer_tiles(worker):
    tiles = worker.first_layer(4)["tiles"]
    W = DEFAULT.parameters["W1"][:4].astype(np.float64)
    expected = np.round(W / np.abs(W).max(axis=1, keepdims=True), 3)
    assert np.array_equal(np.array(tiles), expected)
    assert all(max(abs(v) for v in row) == 1.0 for row in tiles)
    assert len(worker.first_layer()["tiles"]) == 6  # fewer units than asked for
    assert worker.first_layer(-1)["tiles"] == []
    assert len(worker.first_layer("3")["tiles"]) == 3
    # a row of zeros stays zeros (no division by zero)
    net = Network([784, 2, 10], seed=0)
    net.parameters["W1"][0] = 0
    worker.load_model(serialize.to_bytes(net))
    assert worker.first_layer()["tiles"][0] == [0.0] * 784
    # while training: the network being trained
    worker.start_training({"hidden": "3", "epochs": 100, "seed": 7})
    assert len(worker.first_layer()["tiles"]) == 3
    worker.step(1)
    W = STATE["run"]["net"].parameters["W1"].astype(np.float64)
    assert worker.first_layer()["tiles"] == np.round(W / np.abs(W).max(axis=1, keepdims=True), 3).tolist()


def test_warm_up_trains_a_throwaway_network(worker):
    before = worker.save_model()
    rounds = 0
    while worker.warm_up(20):
        rounds += 1
        assert "warm" in STATE
        assert rounds < 10_000
    assert "warm" not in STATE
    assert same_model(worker.save_model(), before)  # nothing of it is kept
    assert worker.warm_up(1) is True  # starts again
    worker.warm_up_done()
    assert "warm" not in STATE
    worker.warm_up_done()  # nothing to drop: no error


def test_warm_up_uses_a_784_128_10_network_on_the_small_data_set(worker):
    assert worker.warm_up(1) is True
    warm = STATE["warm"]
    assert warm["net"].dimensions == [784, 128, 10]
    assert warm["eval"].shape == (784, 300)


# ---- data-parallel calls --------------------------------------------------------------------


def test_helper_calls_are_refused_out_of_turn(worker):
    with pytest.raises(ValueError, match="^this worker is not a helper of a data-parallel run$"):
        worker.helper_gradients(b"", b"", 0)
    worker.start_training({"hidden": "4", "epochs": 1})
    with pytest.raises(ValueError, match="^no helper gradients were asked for$"):
        worker.step(1, [])
    worker.start_training({"hidden": "4", "epochs": 1, "batch_size": 100}, 2)
    r = worker.step(60)
    assert r["request"] is not None and not r["awaiting"]
    assert worker.step(60)["awaiting"]
    with pytest.raises(ValueError, match="^the run is waiting for the helpers' gradients$"):
        worker.step(60)
    assert training()


@pytest.mark.parametrize("workers, message", [(0, "^workers must be between 1 and 4, got 0$"),
                                              (5, "^workers must be between 1 and 4, got 5$"),
                                              ("two", "^workers must be a whole number, got 'two'$"),
                                              (1.5, "^workers must be a whole number, got 1.5$")])
def test_the_number_of_workers_is_checked(worker, workers, message):
    with pytest.raises(SettingError, match=message) as refused:
        worker.start_training({"hidden": "4", "epochs": 1}, workers)
    assert refused.value.field == "workers" and not training()


def test_a_run_with_helpers_hands_out_the_rest_of_each_batch(worker, arrays):
    """The request: the run's parameters as float32 bytes, and for each helper the int32 indices of
    its batch of the shuffled step (a batch of the config's size per worker: steps of 3 x 40)."""
    config = {"hidden": "8", "epochs": 1, "batch_size": 40, "train_size": 250, "seed": 4}
    assert worker.start_training(JsProxy(config), "3")["workers"] == 3
    r = worker.step(60)
    net = Network([784, 8, 10], seed=4)
    np.testing.assert_array_equal(np.frombuffer(r["request"]["parameters"], np.float32), net.flat_parameters())
    order = np.random.default_rng(4).permutation(250)
    shards = [np.frombuffer(s, np.int32) for s in r["request"]["shards"]]
    assert [s.tolist() for s in shards] == [order[40:80].tolist(), order[80:120].tolist()]
    assert (r["step"], r["losses"], r["awaiting"]) == (0, [], False)


def test_a_helper_sends_its_shard_sum_as_float32(worker, arrays):
    before = worker.save_model()
    assert worker.helper_start(JsProxy({"hidden": "4", "epochs": 1, "train_size": 250})) == {
        "dimensions": [784, 4, 10], "train_size": 250}
    net = Network([784, 4, 10], seed=3)
    idx = np.array([249, 5, 17, 0, 200], np.int32)
    part = worker.helper_gradients(JsBuffer(net.flat_parameters().tobytes()), JsBuffer(idx.tobytes()), 0)
    loss_sum, correct, grads = net.gradients(arrays["train_images"][idx].T, arrays["train_labels"][idx])
    np.testing.assert_allclose(np.frombuffer(part["grad"], np.float32), net.flatten_gradients(grads) * 5,
                               rtol=1e-5, atol=1e-7)
    assert part["n"] == 5 and part["correct"] == correct and type(part["correct"]) is int
    assert part["loss_sum"] == pytest.approx(loss_sum, rel=1e-6) and type(part["loss_sum"]) is float
    for bad in ([250], [-1]):  # outside the run's 250 training images
        with pytest.raises(ValueError, match="^a shard names images outside the run's training set$"):
            worker.helper_gradients(net.flat_parameters().tobytes(), np.array(bad, np.int32).tobytes(), 0)
    with pytest.raises(ValueError, match="^expected 3190 parameter values"):
        worker.helper_gradients(net.flat_parameters()[1:].tobytes(), idx.tobytes(), 0)
    # a helper touches neither the model nor a run
    assert same_model(worker.save_model(), before) and not training()


def test_a_run_stopped_while_waiting_for_its_helpers_offers_its_network(worker):
    """The page's stop button between a request and its answers: the network of the last batch
    applied is offered, the one in use stays."""
    worker.start_training({"hidden": "8", "epochs": 3, "batch_size": 40, "seed": 4}, 2)
    worker.helper_start({"hidden": "8", "epochs": 3, "batch_size": 40, "seed": 4})
    r = worker.step(60)
    for batch in range(3):
        answers = [worker.helper_gradients(r["request"]["parameters"], s, r["request"]["step"]) for s in r["request"]["shards"]]
        assert worker.step(60)["awaiting"]
        if batch < 2:
            r = worker.step(60, answers)  # the batch applied, up to the next request
            assert r["step"] == batch + 1 and r["request"] is not None
    trained = {k: v.copy() for k, v in STATE["run"]["net"].parameters.items()}
    result = worker.stop_training()
    assert result["stopped"] and result["offer"]["reason"] == "stopped" and result["offer"]["steps_run"] == 2
    assert result["offer"]["epochs_run"] == 0 and result["offer"]["name"] == "trained"
    assert result["model"]["name"] == "default" and not training()
    assert worker.use_offered()["name"] == "trained"
    for k, v in trained.items():
        np.testing.assert_array_equal(parameters_of(worker)[k], v)


def test_stopping_drops_the_evaluation_of_an_earlier_network(worker, arrays, monkeypatch):
    """Stopped a batch after an evaluated epoch: the misclassified images are those of the
    network kept, evaluated anew, not those of the epoch's evaluation."""
    clock = iter(range(0, 10**6, 5))  # every reading of the clock is 5 s later: one unit of work per call
    monkeypatch.setattr(runs.time, "perf_counter", lambda: next(clock))
    worker.start_training({"hidden": "5", "epochs": 3, "batch_size": 100, "seed": 2, "learning_rate": 0.05})
    epochs = []
    while not epochs:
        epochs += worker.step(60)["epochs"]
    assert epochs[0]["test_acc"] is not None
    worker.step(60)  # one batch of the second epoch
    worker.stop_training()
    net = serialize.from_bytes(worker.save_model())
    wrong = np.count_nonzero(net.predict(arrays["test_images"].T) != arrays["test_labels"])
    assert worker.misclassified()["errors"] == wrong
    assert wrong != round((1 - epochs[0]["test_acc"]) * 250)  # the epoch's network read them otherwise


def test_the_last_epochs_evaluation_is_reused_for_the_mistakes(worker, arrays, monkeypatch):
    """After a completed run the test set is not evaluated again: its last epoch's evaluation
    (the same network) gives the mistakes and the confusion matrix."""
    worker.start_training({"hidden": "8", "epochs": 1, "batch_size": 100, "seed": 5})
    finish(worker)
    net = serialize.from_bytes(worker.save_model())
    wrong = int(np.count_nonzero(net.predict(arrays["test_images"].T) != arrays["test_labels"]))

    def no_forward(self, X, chunk=4096):
        raise AssertionError("the test set was evaluated again")

    monkeypatch.setattr(Network, "forward", no_forward)
    assert worker.misclassified()["errors"] == wrong
    assert sum(worker.cell_images(t, t)["count"] for t in range(10)) == 250 - wrong


def test_equally_confident_mistakes_keep_the_data_sets_order(worker):
    """Sixty test images made from three, changed only in pixels the model ignores (so three
    confidences and many ties between different images): the most confident first, and among
    equals the data set's order."""
    net = Network([784, 6, 10], seed=1)
    net.parameters["W1"][:, :10] = 0  # the first ten pixels do not count
    worker.load_model(serialize.to_bytes(net))
    rng = np.random.default_rng(11)
    three = rng.integers(0, 256, (3, 784), dtype=np.uint8)
    images = three[rng.integers(0, 3, 60)]
    images[:, :10] = rng.integers(0, 256, (60, 10), dtype=np.uint8)  # every image different
    P = net.forward(images.T)
    pred, conf = P.argmax(axis=0), P.max(axis=0)
    assert len(set(conf.tolist())) == 3
    labels = ((pred + 1) % 10).astype(np.uint8)  # every one of them a mistake
    buf = io.BytesIO()
    np.savez(buf, train_images=images[:5], train_labels=labels[:5], test_images=images, test_labels=labels)
    worker.load_dataset("full", buf.getvalue())
    expected = sorted(range(60), key=lambda i: (-conf[i], i))
    items = worker.misclassified(100, "full")["items"]
    assert [item["image"] for item in items] == [images[i].tolist() for i in expected]
    t, p = int(labels[expected[0]]), int(pred[expected[0]])
    members = [i for i in expected if labels[i] == t and pred[i] == p]
    assert len(members) > 16  # enough ties for an unstable sort to reorder them
    assert [item["image"] for item in worker.cell_images(t, p, 100)["items"]] == [images[i].tolist() for i in members]


def one_event_per_step(monkeypatch):
    """Every reading of the clock 5 s after the last: each step() call does one unit of work."""
    clock = iter(range(0, 10**6, 5))
    monkeypatch.setattr(runs.time, "perf_counter", lambda: next(clock))


def test_the_first_step_reports_the_speed(worker, monkeypatch):
    one_event_per_step(monkeypatch)
    worker.start_training({"hidden": "8", "epochs": 1, "batch_size": 50, "train_size": 300})
    first = worker.step(60)  # one batch
    assert first["step"] == 1 and first["samples_per_s"] > 0


def test_a_sigmoid_run_trains_a_sigmoid_network(worker, arrays):
    tc = TrainConfig(epochs=1, batch_size=100, optimizer="sgd", learning_rate=0.5, seed=2)
    worker.start_training({"hidden": "6", "activation": "sigmoid", "epochs": 1, "batch_size": 100, "train_size": 300,
                           "optimizer": "sgd", "learning_rate": 0.5, "seed": 2})
    results = finish(worker)
    events, net = native(arrays, [784, 6, 10], tc, activation="sigmoid", train_size=300)
    assert [loss for r in results for _, loss in r["losses"]] == [e["loss"] for e in events if e["type"] == "batch"]
    assert results[-1]["done"]["model"]["hidden_activation"] == "sigmoid"


def test_a_run_stopped_after_an_evaluated_epoch_keeps_that_evaluation_only_as_long_as_it_is_true(worker, monkeypatch):
    """Stopped right after epoch 1's evaluation: the offer carries that test accuracy, and taking
    it keeps the evaluation for the analysis; stopped one batch later: no accuracy (none has seen
    the network as it is)."""
    one_event_per_step(monkeypatch)
    config = {"hidden": "8", "epochs": 3, "batch_size": 100, "train_size": 300, "seed": 4}
    for extra_batches in (0, 1):
        worker.start_training(config)
        epochs = []
        while not epochs:
            epochs += worker.step(60)["epochs"]
        for _ in range(extra_batches):
            worker.step(60)
        offer = worker.stop_training()["offer"]
        assert offer["epochs_run"] == 1 and offer["steps_run"] == 3 + extra_batches
        if extra_batches:
            assert offer["test_acc"] is None
        else:
            assert offer["test_acc"] == epochs[0]["test_acc"] is not None
            worker.use_offered()
            assert STATE["last_eval"] is not None
