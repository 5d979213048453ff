"""The browser bridge, natively: the same calls the worker makes, with their failure modes."""

import io

import numpy as np
import pytest

from pynet import Network, TrainConfig, bridge, serialize
from pynet.errors import SettingError
from pynet.preprocess import preprocess
from pynet.page.state import STATE
from support import same_model, training


@pytest.fixture(scope="module")
def small_npz(mnist_raw):
    """A pynet data file like the site's mnist-small.npz, made from the verified MNIST."""
    (xtr, ytr), _, (xte, yte) = mnist_raw
    buf = io.BytesIO()
    np.savez_compressed(buf, train_images=np.rint(xtr[:2000] * 256).astype(np.uint8),
                        train_labels=ytr[:2000].astype(np.uint8),
                        test_images=np.rint(xte[:1000] * 256).astype(np.uint8), test_labels=yte[:1000].astype(np.uint8))
    return buf.getvalue()


@pytest.fixture()
def worker(small_npz):
    """Bridge state as after the worker's start-up: a default model and the small data set."""
    STATE.update(model=None, default=None, model_info={}, datasets={}, run=None, last_eval=None, helper=None)
    bridge.load_default_model(serialize.to_bytes(Network([784, 16, 10], seed=3)))
    bridge.load_dataset("small", small_npz)
    return bridge


def run_to_end(b, budget_ms=50, limit=10_000):
    results = []
    for _ in range(limit):
        r = b.step(budget_ms)
        results.append(r)
        if r["done"] is not None:
            return results
    raise AssertionError("training did not finish")


def drawing_of(image28, scale=10):
    """A grey canvas (280x280 bytes, ink bright) of a 28x28 image in [0, 1]."""
    return np.kron(np.rint(np.asarray(image28).reshape(28, 28) * 255), np.ones((scale, scale))).astype(np.uint8)


def current_parameters(b):
    """The current model's parameters, read back from the model file the page would download."""
    return serialize.from_bytes(b.save_model()).parameters


def assert_same_parameters(actual, expected):
    assert sorted(actual) == sorted(expected)
    for k in expected:
        assert actual[k].dtype == expected[k].dtype, k
        np.testing.assert_array_equal(actual[k], expected[k], err_msg=k)


def train_images(mnist_raw, m=2000):
    """The training images and labels as the bridge holds them after loading small_npz: X (784, m) uint8."""
    (xtr, ytr), _, _ = mnist_raw
    return np.rint(xtr[:m] * 256).astype(np.uint8).T, ytr[:m].astype(np.uint8)


def native_run(mnist_raw, dims, config, until):
    """A Network trained natively (not through the bridge) with the bridge's settings, stopped
    when until(event) is true: the reference for what the bridge's model must hold."""
    X, y = train_images(mnist_raw, config.get("train_size", 2000))
    tc = TrainConfig(epochs=config["epochs"], batch_size=config["batch_size"],
                     optimizer=config.get("optimizer", "adam"), learning_rate=config.get("learning_rate", 0.001),
                     seed=config.get("seed", 0))
    net = Network(dims, seed=config.get("seed", 0), dtype="float32")
    for event in net.train(X, y, tc):
        if until(event):
            return net
    raise AssertionError("the native run ended before the point asked for")


def test_training_run_lowers_loss_and_replaces_the_model(worker):
    before = worker.model_info()
    summary = worker.start_training({"hidden": "32", "optimizer": "adam", "learning_rate": 0.003, "epochs": 2,
                                   "batch_size": 64, "train_size": 2000, "seed": 1})
    assert summary["dimensions"] == [784, 32, 10] and summary["total_steps"] == 2 * 32
    results = run_to_end(worker)
    losses = [loss for r in results for _, loss in r["losses"]]
    epochs = [e for r in results for e in r["epochs"]]
    assert len(losses) == 64 and np.mean(losses[-10:]) < 0.5 * np.mean(losses[:5])
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert epochs[-1]["test_acc"] > 0.75  # measured 0.798
    assert results[-1]["done"]["reason"] == "completed"
    after = worker.model_info()
    assert before["dimensions"] == [784, 16, 10] and after["dimensions"] == [784, 32, 10]
    assert not training()


def test_same_seed_same_curve(worker):
    config = {"hidden": "16", "epochs": 1, "batch_size": 100, "train_size": 1000, "seed": 7, "learning_rate": 0.01}
    curves = []
    for seed in (7, 7, 8):
        worker.start_training({**config, "seed": seed})
        curves.append([loss for r in run_to_end(worker) for _, loss in r["losses"]])
    assert curves[0] == curves[1]
    assert curves[0] != curves[2]


@pytest.mark.parametrize("config, fragment", [
    ({"hidden": "0"}, "at least 1"),
    ({"hidden": "abc"}, "neither layer sizes nor layers"),
    ({"network": "-5"}, "at least 1"),
    ({"network": "100000"}, "memory"),
    ({"network": "conv 8@5x5, pool 2, dense 12"}, "dense 10"),
    ({"learning_rate": 0}, "learning rate"),
    ({"learning_rate": -1}, "learning rate"),
    ({"learning_rate": "nan"}, "learning rate"),
    ({"learning_rate": "fast"}, "learning rate"),
    ({"epochs": 0}, "epochs"),
    ({"batch_size": -1}, "batch size"),
    ({"train_size": 10**9}, "training-set size"),
    ({"optimizer": "magic"}, "optimizer"),
    ({"augment": "twist"}, "augmentation"),
    ({"dataset": "../../etc/passwd"}, "data set"),
    ({"code": "import os"}, "unknown training settings"),
])
def test_bad_settings_are_refused_and_nothing_changes(worker, config, fragment):
    info = worker.model_info()
    with pytest.raises(ValueError, match=fragment):
        worker.start_training(config)
    assert not training()
    assert worker.model_info() == info


def test_diverging_run_keeps_a_finite_model(worker):
    before = worker.save_model()
    worker.start_training({"hidden": "64", "optimizer": "sgd", "learning_rate": 100, "epochs": 3,
                         "batch_size": 50, "train_size": 1000})
    done = run_to_end(worker)[-1]["done"]
    assert done["reason"] == "diverged"
    net = serialize.from_bytes(worker.save_model())
    assert all(np.all(np.isfinite(p)) for p in net.parameters.values())
    if net.dimensions == [784, 16, 10]:  # diverged in its first epoch: the previous model stays
        assert same_model(worker.save_model(), before)


def test_stop_keeps_what_was_trained(worker, mnist_raw):
    """Stopping mid-run offers the network of the last batch; taken, it is exactly the parameters
    a native run of the same settings has after the same number of batches, and its predictions."""
    config = {"hidden": "24", "epochs": 50, "batch_size": 32, "train_size": 2000, "seed": 4}
    worker.start_training(config)
    steps = worker.step(30)["step"]
    assert steps >= 1
    result = worker.stop_training()
    # what was trained is offered; the model in use stays until it is taken
    assert result["stopped"] and result["offer"]["dimensions"] == [784, 24, 10]
    assert result["model"]["name"] == "default"
    assert worker.use_offered()["dimensions"] == [784, 24, 10]
    assert worker.model_info()["name"] == "trained"
    assert not training()
    with pytest.raises(ValueError, match="no training run"):
        worker.step(10)
    reference = native_run(mnist_raw, [784, 24, 10], config,
                           lambda e: e["type"] == "batch" and e["step"] == steps)
    assert_same_parameters(current_parameters(worker), reference.parameters)
    _, _, (xte, _) = mnist_raw
    canvas = drawing_of(xte[0])
    expected = reference.forward(preprocess(canvas))[:, 0]
    shown = worker.predict(canvas.tobytes(), 280, 280)
    np.testing.assert_allclose(shown["probabilities"], expected, rtol=0, atol=5e-6)
    assert shown["digit"] == int(np.argmax(expected))


def test_stop_before_any_batch_keeps_the_initial_network(worker):
    worker.start_training({"hidden": "8", "epochs": 1, "seed": 9})
    result = worker.stop_training()
    assert result["stopped"] and result["offer"]["dimensions"] == [784, 8, 10]
    worker.use_offered()
    assert_same_parameters(current_parameters(worker), Network([784, 8, 10], seed=9, dtype="float32").parameters)
    meta = serialize.from_bytes(worker.save_model()).metadata
    assert (meta["epochs_run"], meta["end"], meta["test_acc"]) == (0, "stopped", None)
    assert worker.stop_training() == {"model": worker.model_info(), "stopped": False}


def test_predict_reads_a_test_digit_and_an_empty_canvas(worker, mnist_raw):
    worker.start_training({"hidden": "64", "epochs": 2, "batch_size": 64, "train_size": 2000, "learning_rate": 0.003})
    run_to_end(worker)
    _, _, (xte, yte) = mnist_raw
    right = 0
    for i in range(20):
        r = worker.predict(drawing_of(xte[i]).tobytes(), 280, 280)
        assert len(r["probabilities"]) == 10 and abs(sum(r["probabilities"]) - 1) < 1e-3
        assert len(r["image28"]) == 784
        right += r["digit"] == yte[i]
    assert right >= 16
    empty = worker.predict(bytes(280 * 280 * 4), 280, 280)
    assert empty["digit"] is None and not any(empty["probabilities"])
    with pytest.raises(ValueError, match="RGBA or"):
        worker.predict(bytes(10), 280, 280)


@pytest.mark.parametrize("data", [b"", b"garbage", b"PK\x03\x04" + bytes(100)])
def test_bad_model_upload_is_refused_and_the_model_stays(worker, data):
    before = worker.save_model()
    with pytest.raises(ValueError, match="not a valid pynet model file"):
        worker.load_model(data)
    assert same_model(worker.save_model(), before)


def test_model_of_other_size_is_refused(worker):
    other = serialize.to_bytes(Network([100, 8, 10]))
    with pytest.raises(ValueError, match="inputs"):
        worker.load_model(other)


def test_save_and_load_round_trip(worker, mnist_raw):
    """A trained model saved from the page and loaded back (after another model was in use)
    has exactly its parameters and gives exactly its predictions."""
    worker.start_training({"hidden": "20", "epochs": 1, "batch_size": 100, "train_size": 1000, "seed": 2})
    run_to_end(worker)
    trained = STATE["model"]
    _, _, (xte, _) = mnist_raw
    canvas = drawing_of(xte[1]).tobytes()
    shown = worker.predict(canvas, 280, 280)
    data = worker.save_model()
    assert_same_parameters(serialize.from_bytes(data).parameters, trained.parameters)
    worker.use_default_model()
    assert worker.model_info()["dimensions"] == [784, 16, 10]
    info = worker.load_model(data, name="mine")
    assert info["name"] == "mine" and info["dimensions"] == [784, 20, 10]
    assert_same_parameters(current_parameters(worker), trained.parameters)
    assert worker.predict(canvas, 280, 280) == shown


def test_uploading_a_different_model_replaces_the_current_one(worker, mnist_raw):
    """The uploaded file's parameters are the ones in use afterwards, not the previous model's:
    same layers as the default model, so only the parameters can tell them apart."""
    other = Network([784, 16, 10], seed=99, dtype="float32")
    other.metadata = {"test_acc": 0.5}
    default = STATE["model"]
    assert not np.array_equal(other.parameters["W1"], default.parameters["W1"])
    _, _, (xte, _) = mnist_raw
    canvas = drawing_of(xte[2])
    before = worker.predict(canvas.tobytes(), 280, 280)
    info = worker.load_model(serialize.to_bytes(other))
    assert info["name"] == "uploaded" and info["label"] == "784-16-10" and info["test_acc"] == 0.5
    assert worker.model_info() == info
    assert_same_parameters(current_parameters(worker), other.parameters)
    after = worker.predict(canvas.tobytes(), 280, 280)
    expected = other.forward(preprocess(canvas))[:, 0]
    np.testing.assert_allclose(after["probabilities"], expected, rtol=0, atol=5e-6)
    assert after["probabilities"] != before["probabilities"]
    # and back to the default model: its own parameters again
    assert worker.use_default_model() == {**info, "name": "default", "test_acc": None}
    assert_same_parameters(current_parameters(worker), default.parameters)


def test_full_data_set_reports_validation_accuracy(worker, mnist_raw):
    (xtr, ytr), (xva, yva), (xte, yte) = mnist_raw
    buf = io.BytesIO()
    u8 = lambda x: np.rint(x * 256).astype(np.uint8)  # noqa: E731
    np.savez_compressed(buf, train_images=u8(xtr[:2000]), train_labels=ytr[:2000].astype(np.uint8),
                        validation_images=u8(xva[:500]), validation_labels=yva[:500].astype(np.uint8),
                        test_images=u8(xte[:800]), test_labels=yte[:800].astype(np.uint8))
    worker.load_dataset("full", buf.getvalue())
    worker.start_training({"hidden": "32", "epochs": 2, "batch_size": 64, "dataset": "full", "learning_rate": 0.003})
    epochs = [e for r in run_to_end(worker) for e in r["epochs"]]
    assert [e["epoch"] for e in epochs] == [1, 2]
    for e in epochs:
        assert 0.6 < e["val_acc"] <= 1 and 0.6 < e["test_acc"] <= 1
    # the small data set has no validation split: none is reported
    worker.start_training({"hidden": "16", "epochs": 1, "train_size": 500})
    assert all(e["val_acc"] is None for r in run_to_end(worker) for e in r["epochs"])


def with_helpers(b, budget_ms=50, tamper=None, limit=10_000):
    """Yield the step() results of a run started with workers > 1, answering its requests as
    web/worker.js does: each request's shards go to helper_gradients (here the same bridge,
    made a helper by helper_start: a helper's state is apart from the run's), the next step()
    computes the run's own shard, and the helpers' results come back with the step after.
    tamper(answers) may change the helpers' results (to make a run diverge)."""
    replies = None
    for _ in range(limit):
        r = b.step(budget_ms, replies)
        replies = None
        yield r
        if r["done"] is not None:
            return
        if r["request"] is not None:
            answers = [b.helper_gradients(r["request"]["parameters"], shard, r["request"]["step"]) for shard in r["request"]["shards"]]
            own = b.step(budget_ms)
            assert own["awaiting"] and own["request"] is None and own["done"] is None
            yield own
            replies = tamper(answers) if tamper else answers
    raise AssertionError("training did not finish")


def start_with_helpers(b, config, workers=2):
    summary = b.start_training(config, workers)
    b.helper_start(config)
    return summary


def one_worker_recipe(config, workers=2):
    """What `workers` workers train from config, written out (trainer.parallel_config): a batch
    of config's size per worker, so steps of `workers` batches, at `workers` times the rate."""
    return {**config, "batch_size": config["batch_size"] * workers, "learning_rate": config["learning_rate"] * workers}


# The 2-worker run differs from the 1-worker run only by float32 rounding: the batch's mean
# gradient is a sum of two shards' sums instead of one matrix product over the batch. Over
# two epochs of Adam this stays far below what a wrong shard, weight or update would change
# (each Adam step moves a weight by up to the learning rate, 0.006 here). Through np.einsum
# (--no-blas) one of 25,088 weights differed by 1.13e-6, within float32 rounding of its 0.149.
PARALLEL_LOSS_RTOL = 1e-5
PARALLEL_PARAM_ATOL = 3e-6


@pytest.mark.parametrize("augment", ["off", "elastic"])
def test_data_parallel_run_through_the_bridge_matches_single_worker(worker, augment):
    """Two workers driven like web/worker.js against one worker's step() with the same seed and
    the recipe two workers train (each a batch of 128: steps of 256 at twice the rate): the
    same batch losses and final parameters (float32 tolerance above), the same per-epoch
    accuracies, and the run's network becomes the current model. With augmentation, the helper
    distorts its shards as the run does (each request carries its batch's step)."""
    config = {"hidden": "32", "epochs": 2, "batch_size": 128, "train_size": 1000, "learning_rate": 0.003, "seed": 1,
              "augment": augment}
    assert one_worker_recipe(config)["batch_size"] == 256
    worker.start_training(one_worker_recipe(config))
    results = run_to_end(worker)
    single = [e for r in results for e in r["epochs"]]
    single_losses = [loss for r in results for _, loss in r["losses"]]
    single_params = {k: v.copy() for k, v in STATE["model"].parameters.items()}
    worker.use_default_model()

    summary = start_with_helpers(worker, config)
    assert summary["total_steps"] == 8 and summary["workers"] == 2 and summary["worker_batch"] == 128
    assert (summary["config"]["batch_size"], summary["config"]["learning_rate"]) == (256, 0.006)
    results = list(with_helpers(worker))
    requests = [r["request"] for r in results if r["request"] is not None]
    assert len(requests) == 8 and all(len(q["shards"]) == 1 for q in requests)
    assert [q["step"] for q in requests] == list(range(8))
    sizes = [len(q["shards"][0]) // 4 for q in requests]  # int32 indices
    assert sizes == [128, 128, 128, 116] * 2  # np.array_split: 1000 = 3 x 256 + 232, halved
    epochs = [e for r in results for e in r["epochs"]]
    losses = [loss for r in results for _, loss in r["losses"]]
    done = results[-1]["done"]
    assert done["reason"] == "completed" and done["model"]["name"] == "trained"
    assert [e["epoch"] for e in epochs] == [1, 2]
    np.testing.assert_allclose(losses, single_losses, rtol=PARALLEL_LOSS_RTOL, atol=0)
    assert [e["test_acc"] for e in epochs] == pytest.approx([e["test_acc"] for e in single], abs=0.005)
    assert [e["train_acc"] for e in epochs] == pytest.approx([e["train_acc"] for e in single], abs=0.005)
    assert [e["loss"] for e in epochs] == pytest.approx([e["loss"] for e in single], rel=PARALLEL_LOSS_RTOL)
    current = current_parameters(worker)
    for k, p in single_params.items():
        np.testing.assert_allclose(current[k], p, rtol=0, atol=PARALLEL_PARAM_ATOL, err_msg=k)


@pytest.mark.parametrize("workers, batch", [(2, 501), (3, 334), (4, 251)])
def test_more_images_a_step_than_the_training_set_are_refused(worker, workers, batch):
    """k workers each take a batch: k batches above the training images is refused with one
    sentence naming the batch size, and nothing starts; k batches of exactly all of them run."""
    config = {"hidden": "8", "epochs": 1, "batch_size": batch, "train_size": 1000, "seed": 1}
    with pytest.raises(SettingError) as refused:
        worker.start_training(config, workers)
    assert refused.value.field == "batch_size" and str(refused.value) == (
        f"with {workers} workers a step takes {workers} batches of {batch} images, more than the 1,000 training "
        f"images: choose a batch size of at most {1000 // workers} or fewer workers")
    assert not training()
    assert worker.start_training({**config, "batch_size": 1000 // workers}, workers)["total_steps"] == (
        1 if 1000 % workers == 0 else 2)


def test_helpers_compute_with_the_runs_activation(worker):
    """A sigmoid network with a helper: the helper's shards use sigmoid too (the same batch
    losses as one worker)."""
    config = {"hidden": "16", "activation": "sigmoid", "epochs": 1, "batch_size": 100, "train_size": 600,
              "learning_rate": 0.01, "seed": 3}
    worker.start_training(one_worker_recipe(config))
    single = [loss for r in run_to_end(worker) for _, loss in r["losses"]]
    start_with_helpers(worker, config)
    losses = [loss for r in with_helpers(worker) for _, loss in r["losses"]]
    assert len(losses) == len(single) == 3
    np.testing.assert_allclose(losses, single, rtol=PARALLEL_LOSS_RTOL, atol=0)


def test_a_conv_network_trains_through_the_bridge_with_one_worker_or_two(worker):
    """A conv spec in the network field: the run trains it (4-D kernels in the flat parameters the
    helper gets and the gradients it sends back), one worker and two give the same batch losses,
    and the trained model, read back from the file the page downloads, is that conv network."""
    spec = "conv 4@5x5, pool 2, dense 10"
    config = {"network": spec, "epochs": 2, "batch_size": 100, "train_size": 600, "learning_rate": 0.003, "seed": 2}
    summary = worker.start_training(one_worker_recipe(config))
    assert summary["network"] == spec and summary["dimensions"] == [784, 4 * 24 * 24, 10]
    results = run_to_end(worker)
    single = [loss for r in results for _, loss in r["losses"]]
    single_params = {k: v.copy() for k, v in STATE["model"].parameters.items()}
    assert results[-1]["done"]["reason"] == "completed" and single[-1] < 0.7 * single[0]
    saved = serialize.from_bytes(worker.save_model())
    assert saved.spec == spec and saved.parameters["W1"].shape == (4, 1, 5, 5)
    worker.use_default_model()

    assert start_with_helpers(worker, config)["workers"] == 2
    assert STATE["helper"]["net"].spec == spec
    results = list(with_helpers(worker))
    losses = [loss for r in results for _, loss in r["losses"]]
    assert len(losses) == len(single) == 6 and results[-1]["done"]["reason"] == "completed"
    np.testing.assert_allclose(losses, single, rtol=PARALLEL_LOSS_RTOL, atol=0)
    current = current_parameters(worker)
    for k, p in single_params.items():
        np.testing.assert_allclose(current[k], p, rtol=0, atol=PARALLEL_PARAM_ATOL, err_msg=k)


# ---- divergence: the last good parameters, exactly, in every training path ------------------


def poison(net):
    """Make the next batch's loss NaN, as a diverged run's is (one weight NaN; the copy of the
    last good epoch that the trainer keeps is separate and stays finite)."""
    net.parameters["W1"][0, 0] = np.nan


DIVERGING = {"hidden": "16", "epochs": 3, "batch_size": 50, "train_size": 2000, "seed": 5, "learning_rate": 0.003}


def test_divergence_in_step_restores_the_last_good_epoch_exactly(worker, mnist_raw):
    worker.start_training(DIVERGING)
    r = worker.step(1)
    while r["epoch"] < 2:  # into the second epoch: the first one is the last good one
        r = worker.step(1)
    assert r["epoch"] == 2 and r["step"] < 80
    poison(STATE["run"]["net"])
    done = run_to_end(worker)[-1]["done"]
    assert done["reason"] == "diverged"
    assert "became nan at epoch 2" in done["message"] and "last good epoch was kept" in done["message"]
    # the last good epoch is offered; the model in use stays until it is taken
    assert done["model"]["name"] == "default" and done["offer"]["dimensions"] == [784, 16, 10]
    assert done["offer"]["reason"] == "diverged" and done["offer"]["test_acc"] is None
    worker.use_offered()
    reference = native_run(mnist_raw, [784, 16, 10], DIVERGING, lambda e: e["type"] == "epoch")
    assert_same_parameters(current_parameters(worker), reference.parameters)
    assert STATE["model"].metadata["end"] == "diverged"
    assert STATE["model"].metadata["epochs_run"] == 1


def test_divergence_in_the_first_epoch_keeps_the_previous_model(worker):
    before = worker.save_model()
    default = {k: v.copy() for k, v in STATE["model"].parameters.items()}
    worker.start_training(DIVERGING)
    poison(STATE["run"]["net"])
    done = run_to_end(worker)[-1]["done"]
    assert done["reason"] == "diverged"
    assert done["message"].endswith("no epoch finished, so the previous model is still in use")
    assert done["model"]["name"] == "default"
    assert same_model(worker.save_model(), before)
    assert_same_parameters(current_parameters(worker), default)
    assert not training()


def into_epoch_2_with_helpers(worker, config, tamper=None):
    """A two-worker run through its first epoch and into the second; returns (the results so
    far, the run's parameters at the end of the first epoch, the rest of the run)."""
    start_with_helpers(worker, config)
    rest = with_helpers(worker, budget_ms=1, tamper=tamper)
    results, good = [], None
    for r in rest:
        results.append(r)
        if r["epochs"]:
            good = {k: v.copy() for k, v in STATE["run"]["net"].parameters.items()}
        if good is not None and r["epoch"] == 2 and r["request"] is not None:
            return results, good, rest


def test_divergence_with_helpers_restores_the_last_good_epoch_exactly(worker, mnist_raw):
    results, good, rest = into_epoch_2_with_helpers(worker, DIVERGING)
    poison(STATE["run"]["net"])  # after the request: the helpers still had finite parameters
    results = list(rest)
    done = results[-1]["done"]
    assert done["reason"] == "diverged" and "became nan at epoch 2, batch 2" in done["message"]
    assert done["model"]["name"] == "default" and done["offer"]["reason"] == "diverged"
    worker.use_offered()
    assert_same_parameters(current_parameters(worker), good)
    # and that epoch is the single-worker run's first epoch (up to float32 rounding)
    reference = native_run(mnist_raw, [784, 16, 10], one_worker_recipe(DIVERGING), lambda e: e["type"] == "epoch")
    for k, p in reference.parameters.items():
        np.testing.assert_allclose(good[k], p, rtol=0, atol=PARALLEL_PARAM_ATOL, err_msg=k)


def test_parameters_gone_non_finite_at_an_epoch_end_restore_the_last_good_epoch(worker):
    """A finite loss but an inf in a helper's gradient of an epoch's last batch: the epoch-end
    check finds non-finite parameters and restores the previous epoch's."""
    batches = 2000 // (2 * 50)  # two workers: steps of two batches
    answered = []

    def tamper(answers):
        answered.append(1)
        if len(answered) != 2 * batches:  # epoch 2's last batch
            return answers
        return [dict(a, grad=np.full(len(a["grad"]) // 4, np.inf, np.float32).tobytes()) for a in answers]

    _, good, rest = into_epoch_2_with_helpers(worker, DIVERGING, tamper)
    results = list(rest)
    assert all(np.isfinite(loss) for r in results for _, loss in r["losses"])
    done = results[-1]["done"]
    assert done["reason"] == "diverged" and "parameters became NaN or inf in epoch 2" in done["message"]
    worker.use_offered()
    assert_same_parameters(current_parameters(worker), good)


def test_divergence_with_helpers_in_the_first_epoch_keeps_the_previous_model(worker):
    before = worker.save_model()
    start_with_helpers(worker, DIVERGING)
    poison(STATE["run"]["net"])
    done = list(with_helpers(worker))[-1]["done"]
    assert done["reason"] == "diverged" and done["model"]["name"] == "default"
    assert done["message"].endswith("no epoch finished, so the previous model is still in use")
    assert same_model(worker.save_model(), before)


def test_parameters_gone_non_finite_in_step_restore_the_last_good_epoch(worker, mnist_raw):
    """A hidden unit switched off by a bias of -inf: the loss stays finite (the unit outputs 0),
    but the epoch-end check finds a non-finite parameter and restores the previous epoch's."""
    worker.start_training(DIVERGING)
    r = worker.step(1)
    while r["epoch"] < 2:
        r = worker.step(1)
    assert r["epoch"] == 2 and r["step"] < 80
    STATE["run"]["net"].parameters["b1"][0, 0] = -np.inf
    results = run_to_end(worker)
    assert all(np.isfinite(loss) for r in results for _, loss in r["losses"])
    done = results[-1]["done"]
    assert done["reason"] == "diverged" and "parameters became NaN or inf in epoch 2" in done["message"]
    worker.use_offered()
    reference = native_run(mnist_raw, [784, 16, 10], DIVERGING, lambda e: e["type"] == "epoch")
    assert_same_parameters(current_parameters(worker), reference.parameters)
