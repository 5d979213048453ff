"""Nothing a user made is lost or replaced silently.

The page's current model (pynet.bridge) changes only when a new model is complete and valid: a
file that is refused leaves the model, its description and its predictions as they were. The
Python API says when training diverged, and refuses bad input with one clear message."""

import numpy as np
import pytest

import pynet
from pynet import bridge, serialize
from pynet.errors import SettingError
from pynet.page import form, models, state
from pynet.page.state import STATE


@pytest.fixture
def page_state():
    """A fresh page state holding a default model, restored afterwards."""
    saved = dict(STATE)
    STATE.update(model=None, default=None, model_info={}, datasets={}, run=None, last_eval=None, offer=None,
                 helper=None)
    bridge.load_default_model(serialize.to_bytes(pynet.Network([784, 8, 10], seed=1), {"test_acc": 0.5}))
    yield STATE
    STATE.clear()
    STATE.update(saved)


def _model_bytes(metadata, hidden=6, seed=2):
    return serialize.to_bytes(pynet.Network([784, hidden, 10], seed=seed), metadata)


def _probe():
    return np.random.default_rng(0).integers(0, 256, size=(784, 3), dtype=np.uint8)


@pytest.mark.parametrize("metadata", [{"test_acc": 10**400}, {"test_acc": 55}, {"test_acc": -1},
                                      {"test_acc": True}, {"test_acc": float("nan")}, {"test_acc": "0.9"}])
def test_an_accuracy_in_a_file_is_shown_only_when_it_is_one(page_state, metadata):
    info = bridge.load_model(_model_bytes(metadata))
    assert info["test_acc"] is None
    assert bridge.model_info() == info and info["dimensions"] == [784, 6, 10]
    uploaded = serialize.from_bytes(_model_bytes(metadata))
    np.testing.assert_array_equal(page_state["model"].forward(_probe()), uploaded.forward(_probe()))


def test_a_refused_file_changes_nothing(page_state, monkeypatch):
    before = (page_state["model"], dict(page_state["model_info"]), page_state["model"].forward(_probe()))
    # whatever fails while the new model is taken in, the old one stays complete
    with monkeypatch.context() as patch, pytest.raises(OverflowError):
        patch.setattr(models, "describe", lambda net, name: (_ for _ in ()).throw(OverflowError("too big")))
        bridge.load_model(_model_bytes({}))
    with pytest.raises(ValueError, match="not a valid pynet model file"):
        bridge.load_model(b"PK\x03\x04" + bytes(100))
    assert page_state["model"] is before[0] and bridge.model_info() == before[1]
    np.testing.assert_array_equal(page_state["model"].forward(_probe()), before[2])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow that divergence is
def test_fit_says_when_the_run_diverged_and_keeps_the_last_good_epoch():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(20, 300)), rng.integers(0, 3, 300)
    net = pynet.Network([20, 16, 3], seed=0)
    history = net.fit(X, y, pynet.TrainConfig(epochs=2, batch_size=50, optimizer="sgd", learning_rate=0.05))
    good = {k: v.copy() for k, v in net.parameters.items()}
    with pytest.raises(pynet.TrainingDiverged, match="too high") as caught:
        net.fit(X * 1e6, y, pynet.TrainConfig(epochs=3, batch_size=50, optimizer="sgd", learning_rate=100))
    assert caught.value.epochs_run == 0 and caught.value.history == []
    for name, value in good.items():  # nothing of the diverged run stayed
        np.testing.assert_array_equal(net.parameters[name], value)
    assert len(history) == 2


@pytest.mark.parametrize("labels", [np.array(["a", "b", "c"] * 10), np.array([b"1"] * 30), [None] * 30])
def test_labels_that_are_not_numbers_get_a_clear_message(labels):
    net = pynet.Network([4, 3, 3])
    with pytest.raises(ValueError, match="labels must be whole numbers 0..2"):
        net.fit(np.zeros((4, 30)), labels)
    with pytest.raises(ValueError, match="labels must be whole numbers 0..9"):
        pynet.one_hot(np.asarray(labels))


@pytest.mark.parametrize("iterations", [-1, 2.5, True, "10"])
def test_L_layer_model_refuses_a_bad_number_of_iterations(iterations):
    with pytest.raises(ValueError, match="num_iterations must be a whole number of at least 0"):
        pynet.L_layer_model(np.zeros((4, 2)), np.eye(2), [4, 2], 0.1, iterations)


def _file_with_metadata_text(text, dims=(784, 6, 10)):
    import io
    net = pynet.Network(list(dims), seed=4)
    buf = io.BytesIO()
    np.savez(buf, format=np.array("pynet-model"), version=np.array(1), dimensions=np.array(dims, dtype=np.int64),
             hidden_activation=np.array("relu"), metadata=np.array(text), **net.parameters)
    return buf.getvalue()


@pytest.mark.parametrize("text, words", [
    ("[" * 200_000 + "]" * 200_000, "nested more than 64 levels deep"),
    ('{"a": ' * 65 + "1" + "}" * 65, "nested more than 64 levels deep"),
    ('{"note": "' + "x" * 1_000_001 + '"}', "more than the 1,000,000 allowed"),
])
def test_hostile_metadata_is_refused_in_one_sentence(page_state, text, words):
    before = page_state["model"]
    with pytest.raises(ValueError) as refused:
        bridge.load_model(_file_with_metadata_text(text))
    message = str(refused.value)
    assert message.startswith("not a valid pynet model file: ") and words in message, message[:300]
    assert "\n" not in message and len(message) < 200
    assert page_state["model"] is before


def test_metadata_nesting_up_to_the_limit_and_brackets_in_strings_are_fine(page_state):
    text = '{"a": ' * 63 + '"[[[[{{{{\\"\\\\"' + "}" * 63
    info = bridge.load_model(_file_with_metadata_text(text))
    assert info["dimensions"] == [784, 6, 10]


@pytest.mark.parametrize("text, depth", [
    ("1", 0), ("[]", 1), ('{"a": [1, {"b": 2}]}', 3),
    ("[[[],[[]]]]", 4),  # deeper again after a closing bracket
    ('{"a": "[[[{"}', 1), ('["x\\"[[[["]', 1),  # brackets in strings, after an escaped quote
    ('["\\\\", [[1]]]', 3),  # an escaped backslash ends with the string's quote
])
def test_metadata_nesting_is_counted_outside_strings(text, depth):
    assert serialize._nesting(text) == depth


def test_metadata_at_the_limits_is_accepted(page_state):
    deepest = '{"a": ' * 63 + "[1]" + "}" * 63  # 64 levels
    longest = '{"note": "' + "x" * (1_000_000 - 12) + '"}'  # 1,000,000 characters
    assert len(longest) == 1_000_000 and serialize._nesting(deepest) == 64
    for text in (deepest, longest):
        assert bridge.load_model(_file_with_metadata_text(text))["dimensions"] == [784, 6, 10]


@pytest.mark.parametrize("acc, shown", [(0, 0.0), (1, 1.0), (0.5, 0.5), (1.5, None), (-0.01, None)])
def test_an_accuracy_from_0_to_1_is_shown(page_state, acc, shown):
    assert bridge.load_model(_model_bytes({"test_acc": acc}))["test_acc"] == shown


def test_a_model_with_more_layers_than_the_page_draws_is_refused(page_state):
    before = page_state["model"]
    with pytest.raises(ValueError, match="it has 17 layers; at most 16 are accepted here"):
        bridge.load_model(serialize.to_bytes(pynet.Network([784] + [4] * 16 + [10])))
    assert page_state["model"] is before
    assert bridge.load_model(serialize.to_bytes(pynet.Network([784] + [4] * 15 + [10])))["dimensions"][1:-1] == [4] * 15


# ---- the end of a run: what becomes the model in use, what is only offered -----------------


def _dataset_bytes(m=600, seed=0):
    """A small data file in pynet's format: blob-like digits that a network learns quickly."""
    import io
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, size=(10, 784))

    def split(n):
        labels = rng.integers(0, 10, n)
        noise = rng.integers(-40, 41, size=(n, 784))
        return np.clip(centres[labels] + noise, 0, 255).astype(np.uint8), labels.astype(np.uint8)

    (xtr, ytr), (xte, yte) = split(m), split(200)
    buf = io.BytesIO()
    np.savez(buf, train_images=xtr, train_labels=ytr, test_images=xte, test_labels=yte)
    return buf.getvalue()


@pytest.fixture
def trainable(page_state):
    bridge.load_dataset("small", _dataset_bytes())
    return page_state


def _run_to_the_end(budget_ms=1000):
    while True:
        r = bridge.step(budget_ms)
        if r["done"] is not None:
            return r


SETTINGS = {"hidden": "12", "epochs": 2, "batch_size": 50, "learning_rate": 0.01, "seed": 3}


def test_a_completed_run_replaces_the_model_it_started_from(trainable):
    bridge.start_training(SETTINGS)
    done = _run_to_the_end()["done"]
    assert done["reason"] == "completed" and done["offer"] is None
    assert bridge.model_info()["dimensions"] == [784, 12, 10] and trainable["model"].metadata["end"] == "completed"
    assert 0 <= bridge.model_info()["test_acc"] <= 1


def test_stop_offers_what_was_trained_and_keeps_the_model_in_use(trainable):
    before, info = trainable["model"], bridge.model_info()
    probe = before.forward(_probe())
    bridge.start_training({**SETTINGS, "epochs": 50})
    bridge.step(1)
    result = bridge.stop_training()
    assert result["stopped"] and result["model"] == info
    assert trainable["model"] is before
    np.testing.assert_array_equal(trainable["model"].forward(_probe()), probe)
    offer = result["offer"]
    assert offer["reason"] == "stopped" and offer["dimensions"] == [784, 12, 10]
    assert offer["steps_run"] >= 1 and offer["test_acc"] is None  # batches no evaluation has seen
    offered = trainable["offer"]["net"]
    taken = bridge.use_offered()
    assert taken["dimensions"] == [784, 12, 10] and trainable["model"] is offered
    assert bridge.offer_info() is None
    with pytest.raises(ValueError, match="no trained model is waiting to be used"):
        bridge.use_offered()


def test_keeping_the_model_in_use_drops_the_offer(trainable):
    before = trainable["model"]
    bridge.start_training({**SETTINGS, "epochs": 50})
    bridge.step(1)
    assert bridge.stop_training()["offer"] is not None
    assert bridge.discard_offer() == bridge.model_info()
    assert bridge.offer_info() is None and trainable["model"] is before


def test_a_model_loaded_during_a_run_is_not_replaced_when_the_run_ends(trainable):
    bridge.start_training(SETTINGS)
    bridge.step(1)
    uploaded = bridge.load_model(_model_bytes({}))
    done = _run_to_the_end()["done"]
    assert done["reason"] == "completed" and done["model"] == uploaded == bridge.model_info()
    assert done["offer"]["reason"] == "completed" and done["offer"]["dimensions"] == [784, 12, 10]
    assert done["offer"]["test_acc"] is not None  # its last epoch was evaluated
    bridge.use_offered()
    assert bridge.model_info()["dimensions"] == [784, 12, 10]


def test_a_new_run_drops_an_offer_nobody_took(trainable):
    bridge.start_training({**SETTINGS, "epochs": 50})
    bridge.step(1)
    bridge.stop_training()
    bridge.start_training(SETTINGS)
    assert bridge.offer_info() is None


# ---- refusals as data: what the worker sends the page ----------------------------------------


@pytest.mark.parametrize("setting, field", [
    ({"hidden": "abc"}, "hidden"), ({"hidden": "100000"}, "hidden"), ({"learning_rate": "0"}, "learning_rate"),
    ({"learning_rate": "abc"}, "learning_rate"), ({"epochs": "1.5"}, "epochs"), ({"batch_size": -1}, "batch_size"),
    ({"train_size": 999999}, "train_size"), ({"seed": -1}, "seed"), ({"activation": "tanh"}, "activation"),
    ({"optimizer": "lbfgs"}, "optimizer"), ({"dataset": "huge"}, "dataset"), ({"schedule": "wavy"}, "schedule"),
    ({"augment": "rotate"}, "augment"), ({"batch_size": 0, "train_size": 600}, None),
])
def test_a_refused_setting_names_its_field(trainable, setting, field):
    out = bridge.handle("start_training", setting)
    if field is None:  # full batch on the 600 images of this data set is fine
        assert "value" in out
        bridge.stop_training()
        return
    error = out["error"]
    assert error["field"] == field, error
    assert "\n" not in error["message"] and error["message"], error
    assert STATE["run"] is None


def test_a_hostile_file_is_refused_in_one_line(page_state):
    """A .npy header that is code, not a dict: NumPy's message is long and multi-line."""
    import io
    import zipfile
    buf = io.BytesIO()
    header = b"{'descr': __import__('os').system('echo hi'), 'fortran_order': False, 'shape': (2,), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("W1.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + bytes(16))
    out = bridge.handle("load_model", buf.getvalue())
    message = out["error"]["message"]
    assert message.startswith("not a valid pynet model file:") and out["error"]["field"] is None
    assert "\n" not in message and "Traceback" not in message and len(message) <= 300


@pytest.mark.parametrize("text, shown", [
    ("x" * 300, "x" * 300),  # up to 300 characters: as it is
    ("x" * 301, "x" * 297 + "..."),  # longer: cut to 300 with the dots
    ("  two\n  lines  ", "two lines"),  # white space of any kind: single spaces
    ("", "ValueError"),  # no text at all: the kind of the error
])
def test_a_refusal_reaches_the_page_as_one_line_of_at_most_300_characters(page_state, monkeypatch, text, shown):
    def refuse():
        raise ValueError(text)

    monkeypatch.setitem(bridge._CALLS, "model_info", refuse)
    assert bridge.handle("model_info") == {"error": {"message": shown, "field": None}}


def test_handle_returns_the_value_and_lets_bugs_through(page_state):
    assert bridge.handle("model_info") == {"value": bridge.model_info()}
    with pytest.raises(KeyError):
        bridge.handle("no_such_call")


@pytest.mark.parametrize("changes, field", [
    ({"epochs": 0}, "epochs"), ({"epochs": "x"}, "epochs"), ({"epochs": 1.5}, "epochs"), ({"batch_size": -1}, "batch_size"),
    ({"l2": "x"}, "l2"), ({"momentum": 1.0}, "momentum"), ({"optimizer": "lbfgs"}, "optimizer"),
    ({"schedule": "wavy"}, "schedule"), ({"learning_rate": 0}, "learning_rate"), ({"seed": True}, "seed"),
])
def test_a_train_config_refusal_names_its_field(changes, field):
    with pytest.raises(SettingError) as refused:
        pynet.TrainConfig(**changes).validated()
    assert refused.value.field == field


def test_slices_of_an_evaluation_are_reported(blobs):
    X, y, Xv, yv = blobs
    events = list(pynet.Network([20, 8, 3], seed=1).train(X, y, pynet.TrainConfig(epochs=1, batch_size=100),
                                                           validation=(Xv, yv), eval_chunk=128))
    slices = [e for e in events if e["type"] == "evaluating"]
    assert slices == [{"type": "evaluating", "epoch": 1, "set": "validation", "done": 128, "of": 300},
                      {"type": "evaluating", "epoch": 1, "set": "validation", "done": 256, "of": 300}]
    assert [e["type"] for e in events].index("epoch") > [e["type"] for e in events].index("evaluating")


@pytest.mark.parametrize("setting, field", [
    ({"hidden": ""}, "hidden"), ({"hidden": "8, 8, 8, 8, 8"}, "hidden"), ({"hidden": "8.5"}, "hidden"),
    ({"hidden": "0"}, "hidden"), ({"hidden": "784, 8, 10"}, "hidden"), ({"dimensions": [784, 8, 9]}, "hidden"),
    ({"dataset": "small", "batch_size": 0, "train_size": 10_001}, "batch_size"),
])
def test_every_refusal_of_the_form_names_its_field(setting, field):
    """The page marks the field a refusal names (pynet/page/form.py), never by its wording."""
    huge = {"train": (np.zeros((10_001, 784), np.uint8), np.zeros(10_001, np.uint8))}
    saved = dict(STATE["datasets"])
    STATE["datasets"]["small"] = huge
    try:
        with pytest.raises(SettingError) as refused:
            form.check_config(setting)
    finally:
        STATE["datasets"].clear()
        STATE["datasets"].update(saved)
    assert refused.value.field == field, refused.value


def test_finite_numbers_only_reach_the_page():
    assert state.finite(None) is None and state.finite(float("nan")) is None and state.finite(float("-inf")) is None
    assert state.finite(np.float32(0.5)) == 0.5 and type(state.finite(np.float32(0.5))) is float
