"""Data-parallel training: ``Trainer(..., shards=k)`` takes each batch's gradient from k shards,
the first computed by the trainer itself, the others answered by helpers (``shard_gradients``
with the trainer's parameters, as the page's helper workers answer them), and trains the same
model as one worker."""

import numpy as np
import pytest

from pynet.errors import SettingError
from pynet.model import Network, TrainConfig
from pynet.trainer import Trainer, parallel_config, shard_gradients


def data(m=600, seed=1):
    rng = np.random.default_rng(seed)
    centers = rng.integers(0, 256, size=(10, 784))
    y = rng.integers(0, 10, size=m)
    X = np.clip(centers[y] + rng.normal(0, 60, size=(m, 784)), 0, 255).astype(np.uint8)
    return X.T, y


def simulate(X, y, config, world, dims=(784, 32, 10), dtype="float32", tamper=None):
    """A sharded run of Trainer answered in this process by world - 1 helper networks.

    Each helper gets nothing but what the 'gradients' event carries: the trainer's parameters,
    its shard's sample indices and the step (its own initial weights are different on purpose),
    and the run's settings, as the page's helpers have them.
    tamper(batch_number, replies) may change the helpers' replies (to make a run diverge).
    Returns (trainer's net, events other than the shard requests, parameters after every
    epoch, the 'gradients' events)."""
    net = Network(list(dims), seed=config.seed, dtype=dtype)
    helpers = [Network(list(dims), seed=1000 + k, dtype=dtype) for k in range(world - 1)]
    gen = Trainer(net, X, y, config, shards=world).run()
    events, snapshots, requests = [], [], []
    reply = None
    while True:
        try:
            event = gen.send(reply)
        except StopIteration:
            break
        reply = None
        if event["type"] == "gradients":
            requests.append(event)
            answers = []
            for helper, idx in zip(helpers, event["shards"]):
                helper.load_flat_parameters(event["parameters"])
                answers.append(shard_gradients(helper, X, y, idx, config, event["step"]))
        elif event["type"] == "awaiting":
            assert event["shards"] == world - 1
            reply = tamper(len(requests), answers) if tamper else answers
        else:
            events.append(event)
            if event["type"] == "epoch":
                snapshots.append({k: v.copy() for k, v in net.parameters.items()})
    return net, events, snapshots, requests


def single(X, y, config, dims, dtype):
    """Network.train of the same seed: (events, parameters after every epoch)."""
    net = Network(list(dims), seed=config.seed, dtype=dtype)
    events, snapshots = [], []
    for event in net.train(X, y, config):
        events.append(event)
        if event["type"] == "epoch":
            snapshots.append({k: v.copy() for k, v in net.parameters.items()})
    return events, snapshots


def of(events, kind):
    return [e for e in events if e["type"] == kind]


@pytest.mark.parametrize("world", [2, 3])
def test_averaged_shard_gradients_equal_the_batch_gradient(world):
    X, y = data(200)
    net = Network([784, 32, 16, 10], seed=3, dtype="float64")
    loss_sum, correct, full = net.gradients(X, y)
    shards = np.array_split(np.arange(200), world)
    parts = [shard_gradients(net, X, y, idx) for idx in shards]
    assert [p[0] for p in parts] == [len(idx) for idx in shards]
    mean = net.unflatten_gradients(sum(p[3] for p in parts) / 200)
    for k in full:
        np.testing.assert_allclose(mean[k], full[k], rtol=1e-10, atol=1e-13)
    assert sum(p[1] for p in parts) == pytest.approx(loss_sum, rel=1e-12)
    assert sum(p[2] for p in parts) == correct


def test_a_shard_is_its_samples_wherever_they_are():
    """shard_gradients(net, X, labels, idx) is the summed gradient of the columns idx."""
    X, y = data(100)
    net = Network([784, 8, 10], seed=0, dtype="float64")
    idx = np.array([7, 3, 99, 42])
    n, loss_sum, correct, flat = shard_gradients(net, X, y, idx)
    ref_loss, ref_correct, ref = net.gradients(X[:, idx], y[idx])
    assert (n, correct) == (4, ref_correct) and loss_sum == pytest.approx(ref_loss)
    np.testing.assert_allclose(flat, net.flatten_gradients(ref) * 4, rtol=1e-12)


def test_empty_shard_gives_zero_gradients():
    net = Network([784, 8, 10], seed=0)
    loss_sum, correct, g = net.gradients(np.zeros((784, 0), np.uint8), np.zeros(0, np.int64))
    assert (loss_sum, correct) == (0.0, 0) and all(not v.any() for v in g.values())


RUNS = {
    "adam-cosine": dict(optimizer="adam", learning_rate=0.003, schedule="cosine"),
    "sgd-l2-step": dict(optimizer="sgd", learning_rate=0.05, l2=0.01, schedule="step"),
    "momentum-0.5": dict(optimizer="momentum", learning_rate=0.05, momentum=0.5),
    # each shard distorts its own images, as one worker distorts the whole batch
    "adam-affine": dict(optimizer="adam", learning_rate=0.003, augment="affine"),
    "sgd-elastic": dict(optimizer="sgd", learning_rate=0.05, augment="elastic"),
}


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("name", RUNS)
def test_shards_train_the_same_model_as_one_worker_epoch_by_epoch(name, world):
    X, y = data(600)
    # 600 = 4 batches of 128 + one of 88: unequal last batch; float64 for a tight comparison
    config = TrainConfig(epochs=3, batch_size=128, seed=5, **RUNS[name])
    dims = (784, 32, 10)
    ref, snapshots = single(X, y, config, dims, "float64")
    _, events, ours, requests = simulate(X, y, config, world=world, dims=dims, dtype="float64")
    assert len(ours) == len(snapshots) == 3 and len(requests) == 15
    assert [r["step"] for r in requests] == list(range(15))
    for mine, theirs in zip(ours, snapshots):
        for k, p in theirs.items():
            np.testing.assert_allclose(mine[k], p, rtol=1e-7, atol=1e-9, err_msg=k)
    # the same steps with the same learning rates and losses, and the same epochs reported
    keys = ("epoch", "batch", "batches", "step", "lr")
    assert [tuple(e[k] for k in keys) for e in of(events, "batch")] == [tuple(e[k] for k in keys) for e in of(ref, "batch")]
    np.testing.assert_allclose([e["loss"] for e in of(events, "batch")], [e["loss"] for e in of(ref, "batch")], rtol=1e-9)
    for mine, theirs in zip(of(events, "epoch"), of(ref, "epoch")):
        assert mine["epoch"] == theirs["epoch"] and mine["train_acc"] == theirs["train_acc"]
        assert mine["loss"] == pytest.approx(theirs["loss"], rel=1e-9)
    assert of(events, "done")[0]["reason"] == "completed" and of(events, "start")[0]["shards"] == world


def test_each_request_carries_the_trainers_parameters_and_the_rest_of_the_shuffled_batch():
    X, y = data(600)
    config = TrainConfig(epochs=2, batch_size=128, seed=5, optimizer="sgd", learning_rate=0.05)
    net = Network([784, 8, 10], seed=5)
    gen = Trainer(net, X, y, config, shards=3).run()
    rng = np.random.default_rng(5)  # train's shuffle, one permutation per epoch
    orders = [rng.permutation(600), rng.permutation(600)]
    seen = 0
    event = next(gen)
    while event["type"] != "done":
        if event["type"] == "gradients":
            epoch, b = divmod(seen, 5)
            batch = orders[epoch][128 * b : 128 * (b + 1)]
            parts = np.array_split(batch, 3)
            assert len(event["shards"]) == 2
            for got, want in zip(event["shards"], parts[1:]):
                np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(event["parameters"], np.concatenate([p.ravel() for p in net.parameters.values()]))
            answers = [shard_gradients(net, X, y, idx) for idx in event["shards"]]
            seen += 1
            event = next(gen)
            assert event == {"type": "awaiting", "shards": 2}
            event = gen.send(answers)
        else:
            event = next(gen)
    assert seen == 10 and event["reason"] == "completed"
    assert [len(p) for p in np.array_split(orders[1][512:], 3)] == [30, 29, 29]  # the last batch: 88 samples


def test_two_shards_float32_same_accuracy():
    X, y = data(2000, seed=2)
    Xt, yt = data(1000, seed=3)
    config = TrainConfig(epochs=2, batch_size=128, optimizer="adam", learning_rate=0.003, seed=0)
    one = Network([784, 64, 10], seed=0, dtype="float32")
    history = one.fit(X, y, config)
    net, events, *_ = simulate(X, y, config, world=2, dims=(784, 64, 10))
    for k, p in one.parameters.items():
        np.testing.assert_allclose(net.parameters[k], p, rtol=1e-3, atol=1e-4)
    assert abs(one.evaluate(Xt, yt)["accuracy"] - net.evaluate(Xt, yt)["accuracy"]) <= 0.005
    for mine, theirs in zip(of(events, "epoch"), history):
        assert abs(mine["train_acc"] - theirs["train_acc"]) <= 0.005


def test_full_batch_runs():
    X, y = data(300)
    config = TrainConfig(epochs=2, batch_size=0, optimizer="gd", learning_rate=0.01, seed=2)
    _, snapshots = single(X, y, config, (784, 16, 10), "float64")
    _, events, ours, requests = simulate(X, y, config, world=2, dims=(784, 16, 10), dtype="float64")
    assert [e["batch"] for e in of(events, "batch")] == [1, 1]
    for request in requests:  # the data in its order, unshuffled
        np.testing.assert_array_equal(request["shards"][0], np.arange(150, 300))
    for mine, theirs in zip(ours, snapshots):
        for k, p in theirs.items():
            np.testing.assert_allclose(mine[k], p, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("bad_loss", [float("nan"), float("inf"), 500.0])
def test_divergence_restores_exactly_the_last_good_epoch(bad_loss):
    """A batch loss that is not finite, or ten times the first and above 20, in epoch 2: the
    trainer goes back to the parameters it had at the end of epoch 1, bit for bit."""
    X, y = data(600)
    config = TrainConfig(epochs=3, batch_size=128, optimizer="adam", learning_rate=0.003, seed=5)

    def tamper(batch, answers):  # a helper's loss in epoch 2, batch 3
        return [(n, bad_loss * n, c, g) for n, _, c, g in answers] if batch == 8 else answers

    net, events, ours, requests = simulate(X, y, config, world=2, dims=(784, 16, 10), dtype="float64", tamper=tamper)
    done = events[-1]
    assert done["type"] == "done" and done["reason"] == "diverged" and done["epochs_run"] == 1
    assert "at epoch 2, batch 3" in done["message"] and "too high" in done["message"]
    assert len(requests) == 8 and len(ours) == 1
    for k, p in ours[0].items():
        np.testing.assert_array_equal(net.parameters[k], p)
    _, snapshots = single(X, y, config, (784, 16, 10), "float64")  # and that is one worker's epoch 1
    for k, p in snapshots[0].items():
        np.testing.assert_allclose(net.parameters[k], p, rtol=1e-7, atol=1e-9)


def test_divergence_in_the_first_epoch_restores_the_initial_parameters():
    X, y = data(300)
    initial = Network([784, 16, 10], seed=0).parameters

    def tamper(batch, answers):
        return [(n, float("nan"), c, g) for n, _, c, g in answers] if batch == 2 else answers

    net, events, ours, _ = simulate(X, y, TrainConfig(epochs=1, batch_size=100, seed=0), world=2,
                                    dims=(784, 16, 10), tamper=tamper)
    assert events[-1]["reason"] == "diverged" and events[-1]["epochs_run"] == 0 and ours == []
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, initial[k])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_parameters_overflowing_at_an_epoch_end_restore_the_last_good_epoch():
    X, y = data(200)
    config = TrainConfig(epochs=3, batch_size=100, optimizer="sgd", learning_rate=0.1, seed=3)

    def tamper(batch, answers):  # a finite loss, an overflowed gradient: epoch 2's last batch
        return [(n, l, c, np.full_like(g, np.inf)) for n, l, c, g in answers] if batch == 4 else answers

    net, events, ours, _ = simulate(X, y, config, world=2, dims=(784, 8, 10), tamper=tamper)
    done = events[-1]
    assert done["reason"] == "diverged" and done["epochs_run"] == 1
    assert done["message"].startswith("parameters became NaN or inf in epoch 2")
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, ours[0][k])


@pytest.mark.parametrize("shards", [0, -1, 1.5, True, "2"])
def test_a_bad_number_of_shards_is_refused(shards):
    X, y = data(50)
    with pytest.raises(ValueError, match="shards must be a whole number of at least 1"):
        Trainer(Network([784, 8, 10]), X, y, TrainConfig(), shards=shards)


def test_the_other_shards_results_must_be_given_and_fit():
    X, y = data(200)
    net = Network([784, 8, 10], seed=0)

    def at_awaiting():
        gen = Trainer(net, X, y, TrainConfig(batch_size=100), shards=2).run()
        event = next(gen)
        while event["type"] != "gradients":
            event = next(gen)
        answer = shard_gradients(net, X, y, event["shards"][0])
        assert next(gen)["type"] == "awaiting"
        return gen, answer

    gen, _ = at_awaiting()
    with pytest.raises(ValueError, match="needs the results of 1 other shards"):
        next(gen)  # resumed without the results
    gen, answer = at_awaiting()
    with pytest.raises(ValueError, match="needs the results of 1 other shards"):
        gen.send([answer, answer])
    gen, (n, loss_sum, c, g) = at_awaiting()
    with pytest.raises(ValueError, match="does not fit: 49 samples and 6370 gradient values for 50 samples and 6370"):
        gen.send([(n - 1, loss_sum, c, g)])
    gen, (n, loss_sum, c, g) = at_awaiting()
    with pytest.raises(ValueError, match="does not fit: 50 samples and 6369 gradient values"):
        gen.send([(n, loss_sum, c, g[1:])])


def test_flat_parameters_round_trip_and_refuse_another_size():
    net = Network([784, 8, 10], seed=0, dtype="float32")
    other = Network([784, 8, 10], seed=1, dtype="float32")
    flat = net.flat_parameters()
    assert flat.shape == (784 * 8 + 8 + 8 * 10 + 10,) and flat.dtype == np.float32
    other.load_flat_parameters(flat)
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(other.parameters[k], v)
    flat[:] = 0  # a copy each way: neither network shares memory with it
    assert net.parameters["W1"].any() and other.parameters["W1"].any()
    with pytest.raises(ValueError, match="expected 6370 parameter values, got \\(6369,\\)"):
        other.load_flat_parameters(flat[1:])


# ---- the recipe k workers train: a batch each, k of them a step, k times the learning rate ----


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_k_workers_train_k_batches_a_step_at_k_times_the_rate(workers):
    config = TrainConfig(epochs=4, batch_size=128, optimizer="adam", learning_rate=0.003, schedule="cosine",
                         seed=7, augment="affine")
    ours = parallel_config(config, workers)
    assert (ours.batch_size, ours.learning_rate) == (128 * workers, [0.006, 0.009, 0.012][workers - 2])
    # the rest of the recipe is the same: epochs, schedule (over the run's fewer steps), seed, augmentation
    assert {k: v for k, v in ours.to_dict().items() if k not in ("batch_size", "learning_rate")} == \
        {k: v for k, v in config.to_dict().items() if k not in ("batch_size", "learning_rate")}
    assert config.batch_size == 128 and config.learning_rate == 0.003  # the caller's config is left as it was


def test_one_worker_and_full_batch_keep_their_recipe():
    config = TrainConfig(epochs=2, batch_size=128, learning_rate=0.01)
    assert parallel_config(config, 1) == config
    full = TrainConfig(epochs=2, batch_size=0, optimizer="gd", learning_rate=0.0075)
    assert parallel_config(full, 3) == full


def test_a_bad_config_is_refused_with_its_field():
    with pytest.raises(SettingError) as refused:
        parallel_config(TrainConfig(learning_rate=float("nan")), 2)
    assert refused.value.field == "learning_rate"
    with pytest.raises(SettingError) as refused:
        parallel_config(TrainConfig(batch_size=-1), 2)
    assert refused.value.field == "batch_size"


@pytest.mark.parametrize("workers", [2, 3])
def test_k_workers_are_one_worker_with_the_effective_recipe(workers):
    """Each of k workers a batch of 50 (the shards path) trains the model that one worker trains
    with batches of k x 50 at k times the rate, epoch by epoch; the steps are k times fewer."""
    X, y = data(600)
    config = TrainConfig(epochs=2, batch_size=50, optimizer="adam", learning_rate=0.002, schedule="cosine", seed=4)
    effective = parallel_config(config, workers)
    ref, snapshots = single(X, y, effective, (784, 24, 10), "float64")
    _, events, ours, requests = simulate(X, y, effective, world=workers, dims=(784, 24, 10), dtype="float64")
    steps = 2 * -(-600 // (50 * workers))
    assert len(requests) == len(of(ref, "batch")) == steps
    assert all(len(part) == 50 for r in requests[:-1] for part in r["shards"][:1])  # a batch of 50 per worker
    for mine, theirs in zip(ours, snapshots):
        for k, p in theirs.items():
            np.testing.assert_allclose(mine[k], p, rtol=1e-7, atol=1e-9, err_msg=k)
    np.testing.assert_allclose([e["lr"] for e in of(events, "batch")], [e["lr"] for e in of(ref, "batch")], rtol=0)
