"""The step-through view (pynet/page/stepper.py) through the bridge: every number it shows is
what pynet computes for that batch, checked against the seed's L_layer_forward/L_layer_backward
for dense networks, against conv's and core's functions called one by one for a conv network,
and against training's own gradients (Network.gradients) for the site's default spec; the model
in use never changes; bad options are refused in one sentence and nothing is kept."""

import importlib
import inspect
import io
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

import pynet
from pynet import Network, bridge, conv, core, serialize, settings
from pynet.page import models
from pynet.page.state import STATE

CONV = "conv 4@3x3, pool 2, dense 10"
LR = 0.05


def data_file(m=40, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"train_images": rng.integers(0, 256, (m, 784), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, m).astype(np.uint8),
              "test_images": rng.integers(0, 256, (5, 784), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, 5).astype(np.uint8)}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue(), arrays


@pytest.fixture()
def page():
    """Bridge state as after the page worker's start-up; load(net) makes net the model in use
    (through its file, as the page does) and returns the Network the bridge uses."""
    STATE.update(model=None, default=None, model_info={}, datasets={}, run=None, last_eval=None, helper=None,
                 steps=None)
    blob, arrays = data_file()
    bridge.load_dataset("small", blob)

    def load(net):
        bridge.load_default_model(serialize.to_bytes(net))
        return STATE["model"]

    load.images, load.labels = arrays["train_images"], arrays["train_labels"].astype(np.int64)
    return load


def run(options):
    """step_through through the bridge, then every step: (its answer, [steps])."""
    answer = bridge.handle("step_through", options)
    assert "error" not in answer, answer
    first = answer["value"]
    steps = [first["step"]] + [bridge.handle("step_detail", k)["value"] for k in range(1, first["count"])]
    assert [s["index"] for s in steps] == list(range(first["count"]))
    assert [s["title"] for s in steps] == first["titles"]
    return first, steps


def check(shown, name, expected):
    """An array as the page has it is expected: its name, shape, min, max and each exact value
    (the text reads back as the same number of the array's type)."""
    expected = np.asarray(expected)
    assert shown["name"] == name
    assert shown["shape"] == list(expected.shape), name
    assert shown["min"] == float(expected.min()) and shown["max"] == float(expected.max()), name
    assert shown["signed"] == bool(expected.min() < 0), name
    assert shown["values"], name
    for v in shown["values"]:
        assert expected.dtype.type(v["value"]) == expected[tuple(v["index"])], (name, v)


def check_steps(steps, expected):
    """expected: [(title's start, [(array name, array)], {scalar name: value})] for each step in order."""
    assert len(steps) == len(expected), [s["title"] for s in steps]
    for step, (title, arrays, scalars) in zip(steps, expected):
        assert step["title"].startswith(title), (step["title"], title)
        assert [a["name"] for a in step["arrays"]] == [name for name, _ in arrays], step["title"]
        for shown, (name, array) in zip(step["arrays"], arrays):
            check(shown, name, array)
        assert {s["name"]: float(s["value"]) for s in step["scalars"]} == scalars, step["title"]


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_a_dense_networks_steps_are_the_seeds_functions_numbers(page, activation):
    net = page(Network([784, 12, 10], hidden_activation=activation, seed=3))
    start, m = 5, 3
    first, steps = run({"start": start, "size": m, "learning_rate": LR})
    labels = page.labels[start:start + m]
    assert first["batch"]["labels"] == labels.tolist() and first["learning_rate"] == LR
    X = page.images[start:start + m].T / np.float32(256)  # k/256 is exact in float32
    p = net.parameters
    HL, memories = core.L_layer_forward(X, p, activation)
    Y = core.one_hot(labels).astype(np.float32)
    loss = core.compute_loss(HL, Y)
    g = core.L_layer_backward(HL, Y, memories, activation, need_dH0=False)
    new = core.update_parameters(p, g, LR)
    HL_after, _ = core.L_layer_forward(X, new, activation)
    Z1, H1, Z2 = memories[0][1], memories[1][0][0], memories[1][1]
    H = 1 / (1 + np.exp(-Z1))
    dZ1 = np.where(Z1 > 0, g["dH1"], 0) if activation == "relu" else g["dH1"] * H * (1 - H)
    check_steps(steps, [
        ("Input", [("X", X)], {}),
        ("Forward, layer 1 (dense 12): Z", [("W1", p["W1"]), ("b1", p["b1"]), ("Z", Z1)], {}),
        (f"Forward, layer 1 (dense 12): {activation}", [("Z", Z1), ("H", H1)], {}),
        ("Forward, layer 2 (dense 10): Z", [("W2", p["W2"]), ("b2", p["b2"]), ("Z", Z2)], {}),
        ("Forward, layer 2 (dense 10): softmax", [("Z", Z2), ("H", HL)], {}),
        ("Loss", [("HL", HL), ("Y", Y)], {"loss": loss}),
        ("Backward, layer 2 (dense 10): dZ", [("dZ", HL - Y)], {}),
        ("Backward, layer 2 (dense 10): dW, db, dH_prev", [("dW2", g["dW2"]), ("db2", g["db2"]), ("dH_prev", g["dH1"])], {}),
        ("Backward, layer 1 (dense 12): dZ", [("dH", g["dH1"]), ("dZ", dZ1)], {}),
        ("Backward, layer 1 (dense 12): dW, db", [("dW1", g["dW1"]), ("db1", g["db1"])], {}),
        *[(f"Update, layer {l}", [(f"W{l}", p[f"W{l}"]), (f"dW{l}", g[f"dW{l}"]), (f"W{l} after", new[f"W{l}"]),
                                  (f"b{l}", p[f"b{l}"]), (f"db{l}", g[f"db{l}"]), (f"b{l} after", new[f"b{l}"])],
           {"learning rate α": LR}) for l in (1, 2)],
        ("After one step", [("HL after", HL_after)], {"loss before": loss,
                                                      "loss after": core.compute_loss(HL_after, Y)}),
    ])
    # the right digit's probability of each image is among the exact values shown
    assert {tuple(v["index"]) for v in steps[5]["arrays"][0]["values"]} == {(y, j) for j, y in enumerate(labels)}
    assert steps[-1]["scalars"][1]["value"] != steps[-1]["scalars"][0]["value"]


def test_a_conv_networks_steps_are_conv_and_core_functions_numbers(page):
    net = page(Network(CONV, seed=4))
    m = 2
    _, steps = run({"start": 0, "size": m, "learning_rate": LR})
    labels = page.labels[:m]
    p = net.parameters
    X = page.images[:m].T / np.float32(256)
    images = X.reshape(1, 28, 28, m)
    Z1, conv_memory = conv.conv_forward(images, p["W1"], p["b1"])
    H1 = np.maximum(Z1, 0)
    P1, pool_memory = conv.pool_forward(H1, 2)
    F1 = P1.reshape(-1, m)
    Z2 = core._matmul(p["W2"], F1) + p["b2"]
    HL = core.softmax(Z2)[0]
    Y = core.one_hot(labels).astype(np.float32)
    loss = core.compute_loss(HL, Y)
    dZ2 = HL - Y
    dF1, dW2, db2 = core.linear_backward(dZ2, (F1, p["W2"], p["b2"]))
    dP1 = dF1.reshape(P1.shape)
    dH1 = conv.pool_backward(dP1, pool_memory)
    dZ1 = np.where(Z1 > 0, dH1, 0)
    _, dW1, db1 = conv.conv_backward(dZ1, conv_memory, need_dH_prev=False)
    g = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
    new = core.update_parameters(p, g, LR)
    Z1n = conv.conv_forward(images, new["W1"], new["b1"])[0]
    HL_after = core.softmax(core._matmul(new["W2"], conv.pool_forward(np.maximum(Z1n, 0), 2)[0].reshape(-1, m))
                            + new["b2"])[0]
    check_steps(steps, [
        ("Input", [("X", X)], {}),
        ("Forward, input as images", [("H", images)], {}),
        ("Forward, layer 1 (conv 4@3x3): Z", [("W1", p["W1"]), ("b1", p["b1"]), ("Z", Z1)], {}),
        ("Forward, layer 1 (conv 4@3x3): relu", [("H", H1)], {}),
        ("Forward, pool 2 after layer 1", [("H_prev", H1), ("H", P1)], {}),
        ("Forward, flatten after layer 1", [("H", F1)], {}),
        ("Forward, layer 2 (dense 10): Z", [("W2", p["W2"]), ("b2", p["b2"]), ("Z", Z2)], {}),
        ("Forward, layer 2 (dense 10): softmax", [("Z", Z2), ("H", HL)], {}),
        ("Loss", [("HL", HL), ("Y", Y)], {"loss": loss}),
        ("Backward, layer 2 (dense 10): dZ", [("dZ", dZ2)], {}),
        ("Backward, layer 2 (dense 10): dW, db, dH_prev", [("dW2", dW2), ("db2", db2), ("dH_prev", dF1)], {}),
        ("Backward, flatten after layer 1", [("dH_prev", dP1)], {}),
        ("Backward, pool 2 after layer 1", [("dH", dP1), ("dH_prev", dH1)], {}),
        ("Backward, layer 1 (conv 4@3x3): dZ", [("dH", dH1), ("dZ", dZ1)], {}),
        ("Backward, layer 1 (conv 4@3x3): dW, db", [("dW1", dW1), ("db1", db1)], {}),
        *[(f"Update, layer {l}", [(f"W{l}", p[f"W{l}"]), (f"dW{l}", g[f"dW{l}"]), (f"W{l} after", new[f"W{l}"]),
                                  (f"b{l}", p[f"b{l}"]), (f"db{l}", g[f"db{l}"]), (f"b{l} after", new[f"b{l}"])],
           {"learning rate α": LR}) for l in (1, 2)],
        ("After one step", [("HL after", HL_after)], {"loss before": loss,
                                                      "loss after": core.compute_loss(HL_after, Y)}),
    ])
    # a feature map is drawn for the first image, one tile per channel, each a whole map
    maps = steps[2]["arrays"][2]
    assert [(t["label"], t["rows"], t["cols"], t["block"]) for t in maps["tiles"]] == \
        [(f"ch {c + 1}", 26, 26, [1, 1]) for c in range(4)]
    assert all(v["index"][-1] == 0 for v in maps["values"])  # the exact values are of the image drawn
    scale = np.abs(Z1).max()
    np.testing.assert_array_equal(maps["tiles"][1]["cells"], np.round(255 * Z1[1, :, :, 0].astype(np.float64) / scale).ravel())


def test_the_heat_maps_are_the_arrays_in_blocks_of_at_most_64_cells_a_side(page):
    net = page(Network([784, 12, 10], seed=3))
    _, steps = run({"size": 2})
    x = steps[0]["arrays"][0]
    assert [(t["label"], t["rows"], t["cols"]) for t in x["tiles"]] == [(f"label {y}", 28, 28) for y in page.labels[:2]]
    X = page.images[:2].T.astype(np.float64) / 256
    np.testing.assert_array_equal(x["tiles"][1]["cells"], np.round(255 * X[:, 1] / X.max()))
    W1 = steps[1]["arrays"][0]  # (12, 784): blocks of 1 x 13 values, 61 columns, the last one of 4 values
    tile = W1["tiles"][0]
    assert (tile["rows"], tile["cols"], tile["block"]) == (12, 61, [1, 13])
    W = net.parameters["W1"].astype(np.float64)
    means = np.array([[W[r, c:c + 13].mean() for c in range(0, 784, 13)] for r in range(12)])
    np.testing.assert_array_equal(np.array(tile["cells"]).reshape(12, 61), np.round(255 * means / np.abs(W).max()))
    assert W1["signed"] and all(-255 <= c <= 255 for c in tile["cells"])


@pytest.mark.parametrize("spec", ["784,16,10", settings.DEFAULT_MODEL["spec"]])
def test_the_update_uses_trainings_own_gradients_and_the_answers_stay_small(page, spec):
    net = page(Network(spec, seed=1))
    first, steps = run({"start": 7, "size": settings.STEP_BATCH, "learning_rate": LR})
    idx = np.arange(7, 7 + settings.STEP_BATCH)
    loss_sum, _, g = net.gradients(page.images[idx].T, page.labels[idx])
    updates = [s for s in steps if s["title"].startswith("Update")]
    assert len(updates) == len(net.parameters) // 2
    for l, step in enumerate(updates, 1):
        names = [a["name"] for a in step["arrays"]]
        check(step["arrays"][names.index(f"dW{l}")], f"dW{l}", g[f"dW{l}"])
        check(step["arrays"][names.index(f"db{l}")], f"db{l}", g[f"db{l}"])
        check(step["arrays"][names.index(f"W{l} after")], f"W{l} after", net.parameters[f"W{l}"] - LR * g[f"dW{l}"])
    loss = [s for s in steps if s["phase"] == "loss"][0]
    assert float(loss["scalars"][0]["value"]) == pytest.approx(loss_sum / settings.STEP_BATCH, rel=1e-6)
    sizes = [len(json.dumps(s)) for s in steps] + [len(json.dumps({k: v for k, v in first.items() if k != "step"}))]
    assert max(sizes) < 100_000, sizes
    for s in steps:
        for a in s["arrays"]:
            assert all(t["rows"] <= 64 and t["cols"] <= 64 and len(t["cells"]) == t["rows"] * t["cols"]
                       for t in a["tiles"]), (s["title"], a["name"])
            assert len(a["tiles"]) <= settings.MAX_SHOWN_CHANNELS and 1 <= len(a["values"]) <= 4


def test_the_model_in_use_does_not_change(page):
    net = page(Network(CONV, seed=4))
    before = {k: v.copy() for k, v in net.parameters.items()}
    info = bridge.model_info()
    run({"size": 4, "learning_rate": 10.0})
    assert STATE["model"] is net and bridge.model_info() == info
    assert all(np.array_equal(net.parameters[k], v) for k, v in before.items())


def test_a_drawing_with_its_label(page):
    net = page(Network([784, 12, 10], seed=3))
    pixels = np.zeros((28, 28))
    pixels[5:23, 13:16] = 0.75
    pixels[5, 10:18] = 1.0
    first, steps = run({"source": "drawing", "pixels": pixels.ravel().tolist(), "label": 1, "learning_rate": LR})
    assert first["batch"] == {"labels": [1], "what": "your drawing, labelled 1"}
    X = pixels.reshape(784, 1).astype(np.float32)
    check(steps[0]["arrays"][0], "X", X)
    assert "drawing" in steps[0]["formula"]
    HL, _ = core.L_layer_forward(X, net.parameters)
    assert float(steps[5]["scalars"][0]["value"]) == pytest.approx(-np.log(HL[1, 0]), rel=1e-6)


def test_a_dropout_layer_shows_its_mask(page):
    page(Network([784, 12, 10], seed=3))
    net = Network("784,16,10", seed=2, dropout=0.5)
    models.set_model(net, "with dropout")
    _, steps = run({"size": 3, "seed": 9})
    titles = [s["title"] for s in steps]
    assert "Forward, dropout 0.5 after layer 1" in titles and "Backward, dropout 0.5 after layer 1" in titles
    forward = steps[titles.index("Forward, dropout 0.5 after layer 1")]
    X = net._batch(STATE["datasets"]["small"]["train"][0][:3].T)
    H1 = core.layer_forward(X, net.parameters["W1"], net.parameters["b1"])[0]
    keep = np.random.default_rng([9, 1]).random(H1.shape) >= 0.5  # the trainer's kind of generator
    mask = keep.astype(np.float32) * np.float32(2)
    check(forward["arrays"][0], "mask", mask)
    shown = forward["arrays"][0]["tiles"][0]  # the whole mask, one cell a value: kept 255, dropped 0
    assert (shown["rows"], shown["cols"]) == mask.shape and shown["cells"] == (keep.ravel() * 255).tolist()
    check(forward["arrays"][1], "H", H1 * mask)
    backward = steps[titles.index("Backward, dropout 0.5 after layer 1")]
    dH = np.asarray(backward["arrays"][0]["values"][0]["value"], dtype=np.float32)
    index = tuple(backward["arrays"][0]["values"][0]["index"])
    assert [v["index"] for v in backward["arrays"][1]["values"]][0] == list(index)
    assert np.float32(backward["arrays"][1]["values"][0]["value"]) == dH * mask[index]


def test_each_step_shows_the_source_of_the_function_that_ran(page):
    page(Network(CONV, seed=4))
    _, steps = run({"size": 2})
    root = Path(pynet.__file__).resolve().parent.parent
    names = set()
    for step in steps:
        src = step["source"]
        module, _, qualname = src["name"].rpartition(".")
        if module.endswith(".Network") or module.endswith((".Dense", ".Dropout", ".Unflatten")):
            module, _, cls = module.rpartition(".")
            qualname = f"{cls}.{qualname}"
        function = importlib.import_module(module)
        for part in qualname.split("."):
            function = getattr(function, part)
        assert src["text"] == textwrap.dedent(inspect.getsource(function)).rstrip() + "\n"
        lines = (root / src["file"]).read_text().splitlines()
        first = src["line"] - 1  # where the source starts: its decorators (mutmut adds one), then the def
        while lines[first].strip().startswith("@"):
            first += 1
        assert lines[first].strip().startswith(f"def {function.__name__}(")
        assert src["via"].endswith(function.__name__), src
        names.add(src["name"])
    assert {"pynet.core.layer_forward", "pynet.core.relu", "pynet.core.softmax", "pynet.core.compute_loss",
            "pynet.model.Network._backward", "pynet.core.linear_backward", "pynet.core.relu_backward",
            "pynet.conv.conv_forward", "pynet.conv.conv_backward", "pynet.conv.pool_forward", "pynet.conv.pool_backward",
            "pynet.conv.flatten_forward", "pynet.conv.flatten_backward", "pynet.core.update_parameters",
            "pynet.layers.Unflatten.forward", "pynet.model.Network._batch"} <= names


REFUSED = [
    ({"source": "drawing", "pixels": [0.5] * 784, "label": 11}, "label", "the label must be between 0 and 9, got 11"),
    ({"source": "drawing", "pixels": [0.5] * 784, "label": 2.5}, "label", "the label must be a whole number, got 2.5"),
    ({"source": "drawing", "pixels": [0.5] * 784, "label": True}, "label", "the label must be a whole number, got True"),
    ({"source": "drawing", "pixels": [0.5] * 784}, "label", "say which digit the drawing is (0 to 9)"),
    ({"source": "drawing", "pixels": [0.5] * 783 + [float("nan")], "label": 1}, "pixels",
     "the drawing's grey levels must be numbers, not NaN or infinity"),
    ({"source": "drawing", "pixels": [0.5] * 783 + [float("inf")], "label": 1}, "pixels",
     "the drawing's grey levels must be numbers, not NaN or infinity"),
    ({"source": "drawing", "pixels": [0.5] * 783, "label": 1}, "pixels",
     "the drawing must be 784 numbers (28×28 grey levels), got 783"),
    ({"source": "drawing", "pixels": [[0.5] * 28] * 28, "label": 1}, "pixels",
     "the drawing must be 784 numbers (28×28 grey levels), got 784"),
    ({"source": "drawing", "pixels": ["a"] * 784, "label": 1}, "pixels",
     "the drawing must be 784 numbers (28×28 grey levels)"),
    ({"source": "drawing", "pixels": [2.0] * 784, "label": 1}, "pixels", "the drawing's grey levels must lie between 0 and 1"),
    ({"source": "drawing", "pixels": [0.0] * 784, "label": 1}, "pixels", "the pad is empty: draw a digit first"),
    ({"size": 0}, "size", "the number of images must be between 1 and 16, got 0"),
    ({"size": 10**9}, "size", "the number of images must be between 1 and 16, got 1,000,000,000"),
    ({"start": 40}, "start", "the first image must be between 0 and 39, got 40"),
    ({"start": "x"}, "start", "the first image must be a whole number, got 'x'"),
    ({"learning_rate": float("nan")}, "learning_rate", "learning rate must be a finite number above 0, got nan"),
    ({"learning_rate": -1}, "learning_rate", "learning rate must be a finite number above 0, got -1"),
    ({"seed": -1}, "seed", "the seed must be between 0 and 4,294,967,295, got -1"),
    ({"source": "upload"}, "source", "step through a 'batch' of training images or a 'drawing', not 'upload'"),
    ({"eval": "1"}, "eval", "the step-through view has no option 'eval'"),
    ("drawing", "options", "the step-through options must be a set of named values"),
]


@pytest.mark.parametrize("options, field, message", REFUSED)
def test_bad_options_are_refused_in_one_sentence_and_nothing_changes(page, options, field, message):
    page(Network([784, 12, 10], seed=3))
    run({"size": 2})
    kept = STATE["steps"]
    answer = bridge.handle("step_through", options)
    assert answer == {"error": {"message": message, "field": field}}
    assert STATE["steps"] is kept


def test_steps_are_asked_for_by_number(page):
    assert bridge.handle("step_detail", 0)["error"]["message"] == "no iteration has been run yet: start stepping first"
    page(Network([784, 12, 10], seed=3))
    first, _ = run({"size": 2})
    for bad, message in ((first["count"], f"the step must be between 0 and {first['count'] - 1}, got {first['count']}"),
                         (-1, f"the step must be between 0 and {first['count'] - 1}, got -1"),
                         ("one", "the step must be a whole number, got 'one'")):
        assert bridge.handle("step_detail", bad) == {"error": {"message": message, "field": "step"}}
    assert bridge.handle("step_detail", 3)["value"]["index"] == 3


def test_without_a_model_there_is_nothing_to_step(page):
    assert bridge.handle("step_through", {}) == {"error": {"message": "no model is loaded yet", "field": None}}


@pytest.mark.parametrize("spec", [[784, 8, 10], CONV])
def test_each_array_is_drawn_as_what_it_is_and_the_phases_run_in_order(page, spec):
    """The page draws an array by its kind: the input as images of pixels, a parameter as a matrix
    or (a conv layer's) kernels, anything else as one column a sample or (C, H, W, m) maps."""
    page(Network(spec, seed=4))
    _, steps = run({"size": 2})
    order = ["forward", "loss", "backward", "update"]
    phases = [s["phase"] for s in steps]
    assert phases == sorted(phases, key=order.index) and set(phases) == set(order)
    for step in steps:
        for a in step["arrays"]:
            base = a["name"].removesuffix(" after").lstrip("d")
            four_d = len(a["shape"]) == 4
            if base == "X":
                kind = "pixels"
            elif base[:1] in "Wb" and base[1:].isdigit():
                kind = "kernels" if four_d else "matrix"
            else:
                kind = "images" if four_d else "columns"
            assert a["kind"] == kind, (step["title"], a["name"])
