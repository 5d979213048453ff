"""Data-parallel training (pynet.model.ShardedRun): shard gradients averaged by size are the
batch's gradient, and workers that apply the averaged gradient train the same model as one."""

import numpy as np
import pytest

from pynet.model import Network, ShardedRun, TrainConfig


def data(m=600, seed=1):
    rng = np.random.default_rng(seed)
    centers = rng.integers(0, 256, size=(10, 784))
    y = rng.integers(0, 10, size=m)
    X = np.clip(centers[y] + rng.normal(0, 60, size=(m, 784)), 0, 255).astype(np.uint8)
    return X.T, y


def simulate(X, y, config, world, dims=(784, 32, 10), dtype="float32", losses=None):
    """world ShardedRuns in one process, their shard gradients summed like the page's coordinator.

    losses, if given, replaces the batch losses in order (None keeps the computed one): a way to
    make a run diverge at a chosen batch. Returns (nets, correct_total, events of rank 0,
    parameters of rank 0 after every epoch)."""
    nets = [Network(list(dims), seed=config.seed, dtype=dtype) for _ in range(world)]
    runs = [ShardedRun(net, X, y, config, rank=k, world=world) for k, net in enumerate(nets)]
    correct_total = 0
    log, snapshots = [], []
    losses = list(losses or [])
    while not runs[0].finished:
        parts = [r.shard_gradients() for r in runs]
        n = sum(p[0] for p in parts)
        total = np.sum([p[3].astype(np.float64) for p in parts], axis=0)
        loss = sum(p[1] for p in parts) / n
        override = losses.pop(0) if losses else None
        if override is not None:
            loss = override
        correct_total += sum(p[2] for p in parts)
        mean = (total / n).astype(nets[0].dtype)
        events = [r.apply(mean, loss) for r in runs]
        log.append(events[0])
        assert all(e == events[0] for e in events)  # every worker takes the same step
        if events[0]["type"] == "done":
            break
        if events[0]["epoch_end"]:
            snapshots.append({k: v.copy() for k, v in nets[0].parameters.items()})
    return nets, correct_total, log, snapshots


@pytest.mark.parametrize("world", [2, 3])
def test_averaged_shard_gradients_equal_the_batch_gradient(world):
    X, y = data(200)
    net = Network([784, 32, 16, 10], seed=3, dtype="float64")
    loss_sum, correct, full = net.gradients(X, y)
    parts = [net.gradients(X[:, idx], y[idx]) for idx in np.array_split(np.arange(200), world)]
    sizes = [len(idx) for idx in np.array_split(np.arange(200), world)]
    for k in full:
        mean = sum(n * g[2][k] for n, g in zip(sizes, parts)) / 200
        np.testing.assert_allclose(mean, full[k], rtol=1e-10, atol=1e-13)
    assert sum(p[0] for p in parts) == pytest.approx(loss_sum, rel=1e-12)
    assert sum(p[1] for p in parts) == correct


def test_empty_shard_gives_zero_gradients():
    net = Network([784, 8, 10], seed=0)
    loss_sum, correct, g = net.gradients(np.zeros((784, 0), np.uint8), np.zeros(0, np.int64))
    assert (loss_sum, correct) == (0.0, 0) and all(not v.any() for v in g.values())


def train_snapshots(X, y, config, dims, dtype):
    """Network.train of the same seed: (batch events, parameters after every epoch)."""
    net = Network(list(dims), seed=config.seed, dtype=dtype)
    batches, snapshots = [], []
    for event in net.train(X, y, config):
        if event["type"] == "batch":
            batches.append(event)
        elif event["type"] == "epoch":
            snapshots.append({k: v.copy() for k, v in net.parameters.items()})
    return batches, snapshots


RUNS = {
    "adam-cosine": dict(optimizer="adam", learning_rate=0.003, schedule="cosine"),
    "sgd-l2-step": dict(optimizer="sgd", learning_rate=0.05, l2=0.01, schedule="step"),
    "momentum-0.5": dict(optimizer="momentum", learning_rate=0.05, momentum=0.5),
}


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("name", RUNS)
def test_workers_train_the_same_model_as_network_train_epoch_by_epoch(name, world):
    X, y = data(600)
    # 600 = 4 batches of 128 + one of 88: unequal last batch; float64 for a tight comparison
    config = TrainConfig(epochs=3, batch_size=128, seed=5, **RUNS[name])
    dims = (784, 32, 10)
    batches, snapshots = train_snapshots(X, y, config, dims, "float64")
    nets, _, log, worker_snapshots = simulate(X, y, config, world=world, dims=dims, dtype="float64")
    assert len(worker_snapshots) == len(snapshots) == 3
    for ours, theirs in zip(worker_snapshots, snapshots):
        for k, p in theirs.items():
            np.testing.assert_allclose(ours[k], p, rtol=1e-7, atol=1e-9, err_msg=k)
    for net in nets[1:]:
        for k, p in nets[0].parameters.items():
            np.testing.assert_array_equal(net.parameters[k], p)  # workers stay identical
    # the same steps with the same learning rates, and each epoch's end where train ends it
    assert [(e["epoch"], e["batch"], e["batches"], e["step"], e["lr"]) for e in log] == \
        [(e["epoch"], e["batch"], e["batches"], e["step"], e["lr"]) for e in batches]
    assert [e["epoch_end"] for e in log] == [e["batch"] == 5 for e in log]


def test_shards_split_each_batch_of_the_shuffled_order():
    X, y = data(600)
    config = TrainConfig(epochs=1, batch_size=128, seed=5)
    runs = [ShardedRun(Network([784, 8, 10], seed=5), X, y, config, rank=k, world=3) for k in range(3)]
    order = np.random.default_rng(5).permutation(600)  # train's shuffle of epoch 1
    for b in range(5):
        sizes = runs[0].batch_sizes()
        assert sizes == [len(a) for a in np.array_split(np.arange(min(128, 600 - 128 * b)), 3)]
        shards = [r._shard_indices() for r in runs]
        assert [len(s) for s in shards] == sizes
        np.testing.assert_array_equal(np.concatenate(shards), order[128 * b : 128 * (b + 1)])
        for r in runs:
            r.apply(np.zeros(sum(p.size for p in r.net.parameters.values())), 2.3)
    assert sizes == [30, 29, 29]  # the last batch: 88 samples
    assert all(r.finished for r in runs)
    with pytest.raises(ValueError, match="the run has ended"):
        runs[0].shard_gradients()


def test_two_workers_float32_same_accuracy():
    X, y = data(2000, seed=2)
    Xt, yt = data(1000, seed=3)
    config = TrainConfig(epochs=2, batch_size=128, optimizer="adam", learning_rate=0.003, seed=0)
    single = Network([784, 64, 10], seed=0, dtype="float32")
    history = single.fit(X, y, config)
    nets, correct, *_ = simulate(X, y, config, world=2, dims=(784, 64, 10))
    for k, p in single.parameters.items():
        np.testing.assert_allclose(nets[0].parameters[k], p, rtol=1e-3, atol=1e-4)
    acc1 = single.evaluate(Xt, yt)["accuracy"]
    acc2 = nets[0].evaluate(Xt, yt)["accuracy"]
    assert abs(acc1 - acc2) <= 0.005
    # the train accuracy summed over shards and both epochs equals single-worker's
    assert abs(correct / 4000 - np.mean([h["train_acc"] for h in history])) <= 0.005


def test_full_batch_runs():
    X, y = data(300)
    config = TrainConfig(epochs=2, batch_size=0, optimizer="gd", learning_rate=0.01, seed=2)
    _, snapshots = train_snapshots(X, y, config, (784, 16, 10), "float64")
    nets, _, log, worker_snapshots = simulate(X, y, config, world=2, dims=(784, 16, 10), dtype="float64")
    assert [e["epoch_end"] for e in log] == [True, True]
    for ours, theirs in zip(worker_snapshots, snapshots):
        for k, p in theirs.items():
            np.testing.assert_allclose(ours[k], p, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("bad_loss", [float("nan"), float("inf"), 500.0])
def test_divergence_restores_exactly_the_last_good_epoch_on_every_worker(bad_loss):
    """A batch loss that is not finite, or ten times the first and above 20, in epoch 2: every
    worker goes back to the parameters it had at the end of epoch 1, bit for bit."""
    X, y = data(600)
    config = TrainConfig(epochs=3, batch_size=128, optimizer="adam", learning_rate=0.003, seed=5)
    losses = [None] * 7 + [bad_loss]  # epoch 2, batch 3
    nets, _, log, worker_snapshots = simulate(X, y, config, world=2, dims=(784, 16, 10), dtype="float64",
                                              losses=losses)
    done = log[-1]
    assert done["type"] == "done" and done["reason"] == "diverged" and done["epochs_run"] == 1
    assert "at epoch 2, batch 3" in done["message"] and "too high" in done["message"]
    assert len(log) == 8 and len(worker_snapshots) == 1
    for net in nets:
        for k, p in worker_snapshots[0].items():
            np.testing.assert_array_equal(net.parameters[k], p)
    # and that is Network.train's model after epoch 1
    _, snapshots = train_snapshots(X, y, config, (784, 16, 10), "float64")
    for k, p in snapshots[0].items():
        np.testing.assert_allclose(nets[0].parameters[k], p, rtol=1e-7, atol=1e-9)


def test_divergence_in_the_first_epoch_restores_the_initial_parameters():
    X, y = data(300)
    net = Network([784, 16, 10], seed=2)
    initial = {k: v.copy() for k, v in net.parameters.items()}
    run = ShardedRun(net, X, y, TrainConfig(epochs=1, batch_size=100), rank=1, world=2)
    g = run.net.flatten_gradients(net.gradients(X[:, :2], y[:2])[2])
    assert run.apply(g, 2.3)["type"] == "batch"
    assert not np.array_equal(net.parameters["W1"], initial["W1"])
    event = run.apply(g, float("nan"))
    assert event["type"] == "done" and event["reason"] == "diverged" and event["epochs_run"] == 0 and run.finished
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, initial[k])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_parameters_overflowing_at_an_epoch_end_restore_the_last_good_epoch():
    X, y = data(200)
    net = Network([784, 8, 10], seed=3, dtype="float32")
    run = ShardedRun(net, X, y, TrainConfig(epochs=3, batch_size=100, optimizer="sgd", learning_rate=0.1), world=1)
    for _ in range(2):  # epoch 1, with real gradients
        n, loss_sum, _, flat = run.shard_gradients()
        run.apply(flat / n, loss_sum / n)
    after_epoch_1 = {k: v.copy() for k, v in net.parameters.items()}
    n, loss_sum, _, flat = run.shard_gradients()
    assert run.apply(flat / n, loss_sum / n)["epoch_end"] is False
    n, loss_sum, _, flat = run.shard_gradients()
    event = run.apply(np.full_like(flat, np.inf), loss_sum / n)  # a finite loss, an overflowed gradient
    assert event["type"] == "done" and event["reason"] == "diverged" and event["epochs_run"] == 1
    assert event["message"].startswith("parameters became NaN or inf in epoch 2")
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, after_epoch_1[k])


@pytest.mark.parametrize("rank, world", [(2, 2), (-1, 2), (0, 0)])
def test_bad_rank_is_refused(rank, world):
    X, y = data(50)
    with pytest.raises(ValueError, match="rank must be in"):
        ShardedRun(Network([784, 8, 10]), X, y, TrainConfig(), rank=rank, world=world)


def test_one_worker_with_the_defaults_is_network_train():
    """ShardedRun(net, X, Y, config): rank 0 of 1 by default, one-hot Y as good as labels; a full
    batch is taken in data order, unshuffled."""
    X, y = data(200)
    for batch_size in (64, 0):
        config = TrainConfig(epochs=2, batch_size=batch_size, optimizer="momentum", learning_rate=0.05, seed=3)
        _, snapshots = train_snapshots(X, y, config, (784, 8, 10), "float64")
        net = Network([784, 8, 10], seed=3, dtype="float64")
        run = ShardedRun(net, X, np.eye(10)[:, y], config)
        assert run.finished is False and run.batch_sizes() == [min(batch_size or 200, 200)]
        epoch_ends = []
        while not run.finished:
            if batch_size == 0:  # every epoch
                np.testing.assert_array_equal(run._shard_indices(), np.arange(200))
            n, loss_sum, _, flat = run.shard_gradients()
            event = run.apply(flat / n, loss_sum / n)
            if event["epoch_end"]:
                epoch_ends.append({k: v.copy() for k, v in net.parameters.items()})
        assert len(epoch_ends) == 2 and run.finished is True
        for ours, theirs in zip(epoch_ends, snapshots):
            for k, p in theirs.items():
                np.testing.assert_allclose(ours[k], p, rtol=1e-9, atol=1e-12)
