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


def simulate(X, y, config, world, dims=(784, 32, 10), dtype="float32"):
    """world ShardedRuns in one process, their shard gradients summed like the page's coordinator."""
    nets = [Network(list(dims), seed=config.seed, dtype=dtype) for _ in range(world)]
    runs = [ShardedRun(net, X, y, config, rank=k, world=world) for k, net in enumerate(nets)]
    correct_total = 0
    while not runs[0].finished:
        parts = [r.shard_gradients() for r in runs]
        n = sum(p[0] for p in parts)
        total = np.sum([p[3].astype(np.float64) for p in parts], axis=0)
        loss = sum(p[1] for p in parts) / n
        correct_total += sum(p[2] for p in parts)
        mean = (total / n).astype(nets[0].dtype)
        events = [r.apply(mean, loss) for r in runs]
        assert all(e["type"] == "batch" for e in events)
    return nets, correct_total


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


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "momentum"])
def test_two_simulated_workers_train_the_same_model_as_one(optimizer):
    X, y = data(600)
    # 600 = 4 batches of 128 + one of 88: unequal last batch; float64 for a tight comparison
    config = TrainConfig(epochs=3, batch_size=128, optimizer=optimizer, learning_rate=0.003 if optimizer == "adam" else 0.05,
                         seed=5, schedule="cosine")
    single = Network([784, 32, 10], seed=5, dtype="float64")
    single.fit(X, y, config)
    nets, _ = simulate(X, y, config, world=2, dtype="float64")
    for k, p in single.parameters.items():
        np.testing.assert_allclose(nets[0].parameters[k], p, rtol=1e-7, atol=1e-9)
        np.testing.assert_array_equal(nets[0].parameters[k], nets[1].parameters[k])  # workers stay identical


def test_two_workers_float32_same_accuracy():
    X, y = data(2000, seed=2)
    Xt, yt = data(1000, seed=3)
    config = TrainConfig(epochs=2, batch_size=128, optimizer="adam", learning_rate=0.003, seed=0)
    single = Network([784, 64, 10], seed=0, dtype="float32")
    history = single.fit(X, y, config)
    nets, correct = simulate(X, y, config, world=2, dims=(784, 64, 10))
    for k, p in single.parameters.items():
        np.testing.assert_allclose(nets[0].parameters[k], p, rtol=1e-3, atol=1e-4)
    acc1 = single.evaluate(Xt, yt)["accuracy"]
    acc2 = nets[0].evaluate(Xt, yt)["accuracy"]
    assert abs(acc1 - acc2) <= 0.005
    # the train accuracy summed over shards and both epochs equals single-worker's
    assert abs(correct / 4000 - np.mean([h["train_acc"] for h in history])) <= 0.005


def test_full_batch_and_diverging_runs():
    X, y = data(300)
    config = TrainConfig(epochs=2, batch_size=0, optimizer="gd", learning_rate=0.01, seed=2)
    single = Network([784, 16, 10], seed=2, dtype="float64")
    single.fit(X, y, config)
    nets, _ = simulate(X, y, config, world=2, dims=(784, 16, 10), dtype="float64")
    for k, p in single.parameters.items():
        np.testing.assert_allclose(nets[0].parameters[k], p, rtol=1e-9, atol=1e-12)
    net = Network([784, 16, 10], seed=2)
    run = ShardedRun(net, X, y, TrainConfig(epochs=1, batch_size=100), rank=1, world=2)
    run.apply(run.net.flatten_gradients(net.gradients(X[:, :2], y[:2])[2]), 2.3)
    event = run.apply(run.net.flatten_gradients(net.gradients(X[:, :2], y[:2])[2]), float("nan"))
    assert event["type"] == "done" and event["reason"] == "diverged" and run.finished


def test_bad_rank_is_refused():
    X, y = data(50)
    with pytest.raises(ValueError, match="rank"):
        ShardedRun(Network([784, 8, 10]), X, y, TrainConfig(), rank=2, world=2)
