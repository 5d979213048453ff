"""The browser bridge, natively: the same calls the worker makes, with their failure modes."""

import io

import numpy as np
import pytest

from pynet import Network, bridge, serialize


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
    bridge._state.update(model=None, default=None, model_info={}, datasets={}, run=None, last_eval=None)
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
    assert not worker.training()


def test_same_seed_same_curve(worker):
    config = {"hidden": "16", "epochs": 1, "batch_size": 100, "train_size": 1000, "seed": 7, "learning_rate": 0.01}
    curves = []
    for seed in (7, 7, 8):
        worker.start_training({**config, "seed": seed})
        curves.append([loss for r in run_to_end(worker) for _, loss in r["losses"]])
    assert curves[0] == curves[1]
    assert curves[0] != curves[2]


@pytest.mark.parametrize("config, fragment", [
    ({"hidden": "0"}, "hidden"),
    ({"hidden": "abc"}, "hidden"),
    ({"hidden": "-5"}, "hidden"),
    ({"hidden": "100000"}, "hidden"),
    ({"learning_rate": 0}, "learning rate"),
    ({"learning_rate": -1}, "learning rate"),
    ({"learning_rate": "nan"}, "learning rate"),
    ({"learning_rate": "fast"}, "learning rate"),
    ({"epochs": 0}, "epochs"),
    ({"batch_size": -1}, "batch size"),
    ({"train_size": 10**9}, "training-set size"),
    ({"optimizer": "magic"}, "optimizer"),
    ({"dataset": "../../etc/passwd"}, "data set"),
    ({"code": "import os"}, "unknown training settings"),
])
def test_bad_settings_are_refused_and_nothing_changes(worker, config, fragment):
    info = worker.model_info()
    with pytest.raises(ValueError, match=fragment):
        worker.start_training(config)
    assert not worker.training()
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
        assert worker.save_model() == before


def test_stop_keeps_what_was_trained(worker):
    worker.start_training({"hidden": "24", "epochs": 50, "batch_size": 32, "train_size": 2000})
    worker.step(30)
    result = worker.stop_training()
    assert result["stopped"] and result["offer"]["dimensions"] == [784, 24, 10]
    assert worker.use_offered()["dimensions"] == [784, 24, 10]
    assert not worker.training()
    with pytest.raises(ValueError, match="no training run"):
        worker.step(10)


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
    assert worker.save_model() == before


def test_model_of_other_size_is_refused(worker):
    other = serialize.to_bytes(Network([100, 8, 10]))
    with pytest.raises(ValueError, match="inputs"):
        worker.load_model(other)


def test_save_and_load_round_trip(worker):
    data = worker.save_model()
    info = worker.load_model(data, name="mine")
    assert info["dimensions"] == [784, 16, 10]


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


def test_data_parallel_run_through_the_bridge_matches_single_worker(worker):
    """Two ranks (two bridge states swapped in one process) driven like web/parallel.js: the
    same per-epoch test accuracy as step(), and rank 0's network becomes the current model."""
    config = {"hidden": "32", "epochs": 2, "batch_size": 128, "train_size": 1000, "learning_rate": 0.003, "seed": 1}
    worker.start_training(config)
    single = [e for r in run_to_end(worker) for e in r["epochs"]]
    single_params = {k: v.copy() for k, v in worker._state["model"].parameters.items()}

    base = dict(worker._state, run=None)
    states = [dict(base), dict(base)]

    def on(rank, fn, *args):
        worker._state = states[rank]
        try:
            return fn(*args)
        finally:
            worker._state = states[0]

    summaries = [on(k, worker.parallel_start, config, k, 2) for k in range(2)]
    assert summaries[0]["total_steps"] == 16
    epochs, seen, loss_sum, correct = [], 0, 0.0, 0
    while True:
        parts = [on(k, worker.parallel_grad) for k in range(2)]
        n = sum(p["n"] for p in parts)
        total = sum(np.frombuffer(p["grad"], np.float32).astype(np.float64) for p in parts)
        mean = (total / n).astype(np.float32).tobytes()
        batch_loss = sum(p["loss_sum"] for p in parts) / n
        seen += n
        loss_sum += sum(p["loss_sum"] for p in parts)
        correct += sum(p["correct"] for p in parts)
        events = [on(k, worker.parallel_apply, mean, batch_loss) for k in range(2)]
        assert events[0] == events[1]
        if events[0]["epoch_end"]:
            ev = {"epoch": events[0]["epoch"], "epochs": 2, "loss": loss_sum / 1000, "train_acc": correct / 1000}
            loss_sum, correct = 0.0, 0
            e = None
            while e is None:
                e = on(0, worker.parallel_eval, ev, 20)
            epochs.append(e)
            if events[0]["epoch"] == 2:
                break
    assert on(1, worker.parallel_finish, "completed") == {"model": None}
    info = on(0, worker.parallel_finish, "completed")["model"]
    assert info["name"] == "trained" and seen == 2000
    assert [e["test_acc"] for e in epochs] == pytest.approx([e["test_acc"] for e in single], abs=0.005)
    assert [e["train_acc"] for e in epochs] == pytest.approx([e["train_acc"] for e in single], abs=0.005)
    for k, p in single_params.items():
        np.testing.assert_allclose(worker._state["model"].parameters[k], p, rtol=1e-3, atol=1e-4)
