"""The Network trainer: optimizers, determinism, early stopping, divergence, seed equivalence."""

import math

import numpy as np
import pytest

import pynet
from pynet import Network, TrainConfig
from pynet.optim import Schedule, make_optimizer


def run(net, X, y, validation=None, **settings):
    """Consume net.train; return (events, snapshots of the parameters after every epoch event)."""
    events, snapshots = [], []
    for event in net.train(X, y, TrainConfig(**settings), validation=validation):
        events.append(event)
        if event["type"] == "epoch":
            snapshots.append({k: v.copy() for k, v in net.parameters.items()})
    return events, snapshots


SETTINGS = {
    "gd": dict(batch_size=0, learning_rate=0.5),
    "sgd": dict(batch_size=32, learning_rate=0.05),
    "momentum": dict(batch_size=32, learning_rate=0.01),
    "adam": dict(batch_size=32, learning_rate=0.003),
}


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum", "adam"])
def test_every_optimizer_lowers_the_loss(blobs, optimizer):
    X, y, Xv, yv = blobs
    net = Network([20, 16, 3], seed=1)
    before = net.evaluate(X, y)
    history = net.fit(X, y, TrainConfig(epochs=5, optimizer=optimizer, **SETTINGS[optimizer]), validation=(Xv, yv))
    after = net.evaluate(X, y)
    assert len(history) == 5 and net.last_done["reason"] == "completed"
    assert after["loss"] < 0.5 * before["loss"], (before, after)
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["val_acc"] > 0.9 and after["accuracy"] > 0.9


def test_every_optimizer_lowers_the_loss_on_mnist(mnist):
    X, Y = mnist[0][:, :1000], mnist[1][:, :1000]
    for optimizer, settings in SETTINGS.items():
        net = Network([784, 16, 10], seed=2)
        before = net.evaluate(X, Y)["loss"]
        epochs = 30 if optimizer == "gd" else 3  # gd: one full-batch step per epoch
        net.fit(X, Y, TrainConfig(epochs=epochs, optimizer=optimizer, **settings))
        after = net.evaluate(X, Y)["loss"]
        assert after < 0.9 * before, (optimizer, before, after)


def test_same_seed_same_results(blobs):
    X, y, Xv, yv = blobs
    config = dict(epochs=3, batch_size=50, optimizer="adam", learning_rate=0.01, seed=5)
    nets, histories = [], []
    for _ in range(2):
        net = Network([20, 8, 3], seed=4)
        events, _ = run(net, X, y, validation=(Xv, yv), **config)
        nets.append(net)
        histories.append([(e.get("loss"), e.get("val_loss")) for e in events if e["type"] in ("batch", "epoch")])
    assert histories[0] == histories[1]
    for k in nets[0].parameters:
        np.testing.assert_array_equal(nets[0].parameters[k], nets[1].parameters[k])
    # a different shuffling seed gives a different run (so the equality above is not vacuous)
    other = Network([20, 8, 3], seed=4)
    run(other, X, y, **dict(config, seed=6))
    assert not np.array_equal(other.parameters["W1"], nets[0].parameters["W1"])


def test_gd_full_batch_reproduces_the_seed_model(mnist):
    """Network with 'gd', full batch, float64 and seed 2 is the seed's L_layer_model."""
    X, Y = mnist[0][:, :300], mnist[1][:, :300]
    expected = pynet.L_layer_model(X, Y, [784, 10, 10], 0.0075, 4)
    net = Network([784, 10, 10], seed=2, dtype="float64")
    events, _ = run(net, X, Y, epochs=4, batch_size=0, optimizer="gd", learning_rate=0.0075)
    assert [e["type"] for e in events].count("batch") == 4
    for k in expected:
        np.testing.assert_allclose(net.parameters[k], expected[k], rtol=1e-12, atol=1e-15)


def test_uint8_input_trains_exactly_like_float(mnist):
    X = mnist[0][:, :256]
    y = mnist[1][:, :256].argmax(axis=0)
    X8 = pynet.data.to_uint8(X.T).T
    a, b = Network([784, 8, 10], seed=3), Network([784, 8, 10], seed=3)
    config = dict(epochs=2, batch_size=64, optimizer="sgd", learning_rate=0.1)
    run(a, X, y, **config)
    run(b, X8, y, **config)
    for k in a.parameters:
        np.testing.assert_array_equal(a.parameters[k], b.parameters[k])
    np.testing.assert_array_equal(a.forward(X[:, :20]), b.forward(X8[:, :20]))


def test_event_stream(blobs):
    X, y, Xv, yv = blobs
    net = Network([20, 8, 3])
    events, _ = run(net, X, y, validation=(Xv, yv), epochs=4, batch_size=100, eval_every=2)
    types = [e["type"] for e in events]
    assert types[0] == "start" and types[-1] == "done" and types.count("epoch") == 4
    assert types.count("batch") == 4 * 6  # 600 samples in batches of 100
    assert events[0]["samples"] == 600 and events[0]["batches"] == 6
    epochs = [e for e in events if e["type"] == "epoch"]
    assert [e["val_loss"] is None for e in epochs] == [True, False, True, False]
    assert all(0 <= e["train_acc"] <= 1 for e in epochs)
    steps = [e["step"] for e in events if e["type"] == "batch"]
    assert steps == list(range(1, 25))
    assert events[-1] == {"type": "done", "reason": "completed", "epochs_run": 4, "message": "training completed"}
    # an epoch's loss is the sample-weighted mean of its batch losses
    first = [e["loss"] for e in events if e["type"] == "batch" and e["epoch"] == 1]
    assert epochs[0]["loss"] == pytest.approx(np.mean(first), rel=1e-9)


def test_last_partial_batch_is_used(blobs):
    X, y, _, _ = blobs
    events, _ = run(Network([20, 4, 3]), X[:, :250], y[:250], epochs=1, batch_size=100)
    assert [e["batch"] for e in events if e["type"] == "batch"] == [1, 2, 3]
    assert events[0]["batches"] == 3


def test_early_stopping_restores_the_best_model(blobs):
    X, y, Xv, yv = blobs
    # Validation labels that disagree with the training labels: the more the model learns, the
    # worse its validation loss, so the best epoch is an early one.
    wrong = (yv + 1) % 3
    net = Network([20, 16, 3], seed=1, dtype="float64")
    events, snapshots = run(net, X, y, validation=(Xv, wrong), epochs=20, batch_size=32,
                            optimizer="sgd", learning_rate=0.01, patience=2)
    done = events[-1]
    assert done["type"] == "done" and done["reason"] == "early_stop"
    epochs = [e for e in events if e["type"] == "epoch"]
    assert done["epochs_run"] == len(epochs) < 20
    best = int(np.argmin([e["val_loss"] for e in epochs]))
    assert best < len(epochs) - 1
    for k in net.parameters:
        np.testing.assert_array_equal(net.parameters[k], snapshots[best][k])
    assert not np.array_equal(net.parameters["W1"], snapshots[-1]["W1"])
    assert net.evaluate(Xv, wrong)["loss"] == pytest.approx(epochs[best]["val_loss"], rel=1e-12)
    assert f"{epochs[best]['val_loss']:.4f}" in done["message"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_diverging_learning_rate_keeps_the_last_good_epoch(blobs, dtype):
    X, y, _, _ = blobs
    net = Network([20, 16, 3], seed=1, dtype=dtype)
    initial = {k: v.copy() for k, v in net.parameters.items()}
    events, snapshots = run(net, X, y, epochs=8, batch_size=32, optimizer="sgd", learning_rate=1e6)
    done = events[-1]
    assert done["type"] == "done" and done["reason"] == "diverged"
    assert "too high" in done["message"]
    assert done["epochs_run"] == len(snapshots) < 8
    last_good = snapshots[-1] if snapshots else initial
    for k, v in net.parameters.items():
        assert np.all(np.isfinite(v))
        assert v.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(v, last_good[k])
    assert np.all(np.isfinite(net.forward(X)))


def test_l2_shrinks_the_weights(blobs):
    X, y, _, _ = blobs
    plain, decayed = Network([20, 8, 3], seed=1), Network([20, 8, 3], seed=1)
    config = dict(epochs=3, batch_size=32, optimizer="sgd", learning_rate=0.05)
    run(plain, X, y, **config)
    run(decayed, X, y, **config, l2=0.5)
    assert np.linalg.norm(decayed.parameters["W1"]) < np.linalg.norm(plain.parameters["W1"])


def test_optimizer_steps_by_hand():
    g = {"dW1": np.array([[1.0, -2.0]]), "db1": np.array([[0.5]])}

    p = {"W1": np.array([[0.0, 0.0]]), "b1": np.array([[0.0]])}
    make_optimizer("sgd").step(p, g, 0.1)
    np.testing.assert_allclose(p["W1"], [[-0.1, 0.2]], rtol=0, atol=1e-15)

    p = {"W1": np.array([[0.0, 0.0]]), "b1": np.array([[0.0]])}
    momentum = make_optimizer("momentum", beta=0.9)
    momentum.step(p, g, 0.1)
    momentum.step(p, g, 0.1)  # v = g, then v = 0.9 g + g = 1.9 g: total step 2.9 lr g
    np.testing.assert_allclose(p["W1"], [[-0.29, 0.58]], rtol=0, atol=1e-15)

    p = {"W1": np.array([[0.0, 0.0]]), "b1": np.array([[0.0]])}
    adam = make_optimizer("adam")
    adam.step(p, g, 0.1)  # first Adam step is lr * sign(g), up to eps
    # m = 0.1 g, v = 0.001 g^2; bias corrections folded into the step size (Kingma & Ba, sec. 2)
    expected = -0.1 * np.sqrt(0.001) / 0.1 * (0.1 * g["dW1"]) / (np.sqrt(0.001 * g["dW1"] ** 2) + 1e-8)
    np.testing.assert_allclose(p["W1"], expected, rtol=1e-14, atol=0)
    np.testing.assert_allclose(p["W1"], [[-0.1, 0.1]], rtol=1e-6)
    np.testing.assert_allclose(p["b1"], [[-0.1]], rtol=1e-6)

    p = {"W1": np.array([[1.0, 1.0]]), "b1": np.array([[1.0]])}
    make_optimizer("sgd", l2=0.5).step(p, g, 0.1)  # weight decay on W only, not on b
    np.testing.assert_allclose(p["W1"], [[1 - 0.1 * 1.5, 1 - 0.1 * (-1.5)]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(p["b1"], [[1 - 0.05]], rtol=0, atol=1e-15)


def test_schedules_by_hand():
    assert Schedule(0.1)(12345) == 0.1
    cosine = Schedule(0.1, "cosine", total_steps=100)
    assert cosine(0) == pytest.approx(0.1) and cosine(50) == pytest.approx(0.05) and cosine(100) == pytest.approx(0)
    step = Schedule(0.1, "step", step_every=10)
    assert [step(0), step(9), step(10), step(25)] == [0.1, 0.1, 0.05, 0.025]


def test_training_uses_the_schedule(blobs):
    X, y, _, _ = blobs
    events, _ = run(Network([20, 4, 3]), X, y, epochs=2, batch_size=300, schedule="cosine", learning_rate=0.1)
    lrs = [e["lr"] for e in events if e["type"] == "batch"]
    assert lrs == pytest.approx([0.1, 0.1 * 0.5 * (1 + math.cos(math.pi / 4)), 0.05, 0.1 * 0.5 * (1 + math.cos(3 * math.pi / 4))])


def test_stopping_the_generator_keeps_a_usable_model(blobs):
    X, y, _, _ = blobs
    net = Network([20, 8, 3])
    gen = net.train(X, y, TrainConfig(epochs=100, batch_size=32, learning_rate=0.01))
    for event in gen:
        if event["type"] == "batch" and event["step"] == 5:
            break
    gen.close()
    assert np.all(np.isfinite(net.forward(X)))


def test_network_inference_api(blobs):
    X, y, _, _ = blobs
    net = Network([20, 8, 3], seed=2, dtype="float64")
    HL = net.forward(X)
    assert HL.shape == (3, 600) and HL.dtype == np.float64
    np.testing.assert_allclose(HL.sum(axis=0), 1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.forward(X, chunk=7), HL, rtol=1e-13, atol=0)  # chunked == whole
    np.testing.assert_array_equal(net.predict(X), HL.argmax(axis=0))
    r = net.evaluate(X, y)
    assert r["loss"] == pytest.approx(pynet.compute_loss(HL, pynet.one_hot(y, 3)), rel=1e-12)
    assert r["accuracy"] == pytest.approx(np.mean(HL.argmax(axis=0) == y))
    assert net.evaluate(X, pynet.one_hot(y, 3)) == r
    acts = net.activations(X[:, 0])
    assert [a.shape for a in acts] == [(8,), (3,)]
    np.testing.assert_allclose(acts[-1], HL[:, 0], rtol=1e-12)
    # the seed's own functions on the same parameters give the same output
    np.testing.assert_array_equal(pynet.L_layer_forward(X, net.parameters)[0], HL)


def test_from_parameters_wraps_a_seed_model(mnist):
    X, Y = mnist[0][:, :100], mnist[1][:, :100]
    params = pynet.L_layer_model(X, Y, [784, 5, 10], 0.0075, 2)
    net = Network.from_parameters(params)
    assert net.dimensions == [784, 5, 10] and net.dtype == np.float64
    np.testing.assert_array_equal(net.predict(X), pynet.predict(X, Y, params))


def test_sigmoid_hidden_network_trains(blobs):
    X, y, _, _ = blobs
    net = Network([20, 8, 3], hidden_activation="sigmoid", seed=1)
    before = net.evaluate(X, y)["loss"]
    net.fit(X, y, TrainConfig(epochs=5, batch_size=32, optimizer="adam", learning_rate=0.01))
    assert net.evaluate(X, y)["loss"] < 0.5 * before


# ---- the smaller pieces of the model object ----------------------------------------------------


def test_activations_are_every_layer_output_of_one_sample():
    rng = np.random.default_rng(3)
    net = Network([5, 4, 3, 2], hidden_activation="sigmoid", seed=3, dtype="float64")
    x = rng.normal(size=5)
    W1, b1, W2, b2, W3, b3 = (net.parameters[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    h1 = 1 / (1 + np.exp(-(W1 @ x + b1[:, 0])))
    h2 = 1 / (1 + np.exp(-(W2 @ h1 + b2[:, 0])))
    z3 = W3 @ h2 + b3[:, 0]
    out = np.exp(z3) / np.exp(z3).sum()
    acts = net.activations(x)
    assert len(acts) == 3
    for got, want in zip(acts, [h1, h2, out]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(net.forward(x.reshape(5, 1))[:, 0], out, rtol=1e-12, atol=1e-15)


def test_evaluate_an_empty_set_is_nan_without_warnings():
    import warnings

    net = Network([4, 3, 2], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = net.evaluate(np.zeros((4, 0)), np.zeros(0, dtype=int))
    assert math.isnan(r["loss"]) and math.isnan(r["accuracy"])


def test_evaluate_float32_with_a_probability_that_underflows():
    """A float32 probability of exactly 0 costs -log(float32 tiny), finite, not inf."""
    params = {"W1": np.array([[100.0, 0.0], [-100.0, 0.0]], dtype=np.float32), "b1": np.zeros((2, 1), np.float32)}
    net = Network.from_parameters(params)
    X = np.array([[1.0, 1.0], [0.0, 0.0]], dtype=np.float32)
    assert net.forward(X)[1, 0] == 0.0
    r = net.evaluate(X, np.array([1, 0]))
    assert r["loss"] == pytest.approx(-np.log(np.finfo(np.float32).tiny) / 2, rel=1e-6)
    assert r["accuracy"] == 0.5


def test_forward_refuses_nan_and_non_numeric_inputs():
    net = Network([3, 2, 2])
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        net.forward(np.array([[1.0], [np.nan], [0.0]]))
    with pytest.raises(ValueError, match="X must be numeric"):
        net.forward(np.array([["a"], ["b"], ["c"]]))


def test_gradients_of_a_shard_in_the_model_dtype():
    rng = np.random.default_rng(4)
    net = Network([5, 4, 3], seed=2, dtype="float32")
    X, y = rng.normal(size=(5, 7)), rng.integers(0, 3, 7)
    loss_sum, correct, g = net.gradients(X, y)
    assert sorted(g) == ["dW1", "dW2", "db1", "db2"]
    assert all(v.dtype == np.float32 and v.shape == net.parameters[k[1:]].shape for k, v in g.items())
    HL = net.forward(X)
    assert correct == int(np.sum(HL.argmax(axis=0) == y))
    assert loss_sum == pytest.approx(-np.sum(np.log(HL[y, np.arange(7)])), rel=1e-5)
    loss_sum, correct, g = net.gradients(np.zeros((5, 0)), np.zeros(0, dtype=int))
    assert (loss_sum, correct) == (0.0, 0) and sorted(g) == ["dW1", "dW2", "db1", "db2"]
    assert all(v.dtype == np.float32 and v.shape == net.parameters[k[1:]].shape and not v.any() for k, v in g.items())


def test_flatten_and_unflatten_gradients():
    net = Network([3, 2, 2], seed=0, dtype="float32")
    g = {"dW1": np.arange(6.0).reshape(2, 3), "db1": np.array([[6.0], [7.0]]),
         "dW2": np.arange(8.0, 12.0).reshape(2, 2), "db2": np.array([[12.0], [13.0]])}
    flat = net.flatten_gradients(g)
    assert flat.dtype == np.float32
    np.testing.assert_array_equal(flat, np.arange(14.0))
    np.testing.assert_array_equal(net.flatten_gradients(g, scale=3.0), 3 * np.arange(14.0))
    back = net.unflatten_gradients(np.arange(14.0))  # float64 in, the model's float32 out
    assert sorted(back) == sorted(g)
    for k in g:
        assert back[k].dtype == np.float32
        np.testing.assert_array_equal(back[k], g[k])
    with pytest.raises(ValueError, match="expected 14 gradient values, got \\(13,\\)"):
        net.unflatten_gradients(np.zeros(13))


def test_network_defaults_to_the_seed_weights_in_float32():
    net = Network([4, 3, 2])
    rng = np.random.RandomState(2)  # the seed's np.random.seed(2) stream
    np.testing.assert_array_equal(net.parameters["W1"], (rng.randn(3, 4) * 0.1).astype(np.float32))
    np.testing.assert_array_equal(net.parameters["W2"], (rng.randn(2, 3) * 0.1).astype(np.float32))
    assert net.hidden_activation == "relu" and net.dtype == np.float32


def test_network_details_the_rest_relies_on():
    """No dropout is the number 0.0; a wrapped parameters dict has empty metadata (written into
    model files); flatten_gradients scales; evaluate wants samples as columns."""
    net = Network([4, 3, 2], seed=0, dtype="float64")
    assert net.dropout == 0.0 and isinstance(net.dropout, float)
    assert Network.from_parameters(net.parameters).metadata == {}
    g = {"dW1": np.ones((3, 4)), "db1": np.ones((3, 1)), "dW2": np.ones((2, 3)), "db2": np.ones((2, 1))}
    np.testing.assert_array_equal(net.flatten_gradients(g, scale=2.0), np.full(23, 2.0))
    np.testing.assert_array_equal(net.flatten_gradients(g), np.ones(23))
    with pytest.raises(ValueError, match="samples as columns"):
        net.evaluate(np.zeros(4), np.zeros(1, int))
