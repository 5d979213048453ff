"""The trainer over many steps against references written here from the published rules.

Nothing below calls pynet's own optimizers, schedules or math to get an expected value: the
reference network (forward, softmax cross-entropy, backward), SGD with L2, heavy-ball momentum,
Adam with bias correction and the learning-rate schedules are plain NumPy in this file, and
Network.train, the optimizers and a sharded Trainer must agree with them step after step.
"""

import math
import time
import warnings

import numpy as np
import pytest

from pynet import Network, TrainConfig
from pynet.trainer import TrainingDiverged, _loss_diverged
from pynet.optim import SGD, Adam, Momentum, Schedule, check_learning_rate, make_optimizer

# ---- the references ---------------------------------------------------------------------------


def ref_forward(params, X, hidden="relu"):
    """Layer outputs [X, H1, ..., HL] and pre-activations [Z1, ..., ZL]; softmax output."""
    L = len(params) // 2
    Hs, Zs = [X], []
    for l in range(1, L + 1):
        Z = params[f"W{l}"] @ Hs[-1] + params[f"b{l}"]
        Zs.append(Z)
        if l < L:
            H = np.maximum(Z, 0) if hidden == "relu" else 1 / (1 + np.exp(-Z))
        else:
            E = np.exp(Z - Z.max(axis=0))
            H = E / E.sum(axis=0)
        Hs.append(H)
    return Hs, Zs


def ref_loss_and_gradients(params, X, labels, hidden="relu"):
    """Mean cross-entropy, argmax predictions and the gradients {'W1': ..., 'b1': ...}."""
    L = len(params) // 2
    m = X.shape[1]
    Hs, Zs = ref_forward(params, X, hidden)
    Y = np.zeros_like(Hs[-1])
    Y[labels, np.arange(m)] = 1
    loss = -np.sum(Y * np.log(Hs[-1])) / m
    grads = {}
    dZ = Hs[-1] - Y  # softmax + cross-entropy
    for l in range(L, 0, -1):
        grads[f"W{l}"] = dZ @ Hs[l - 1].T / m
        grads[f"b{l}"] = dZ.sum(axis=1, keepdims=True) / m
        if l > 1:
            dH = params[f"W{l}"].T @ dZ
            if hidden == "relu":
                dZ = dH * (Zs[l - 2] > 0)
            else:
                dZ = dH * Hs[l - 1] * (1 - Hs[l - 1])
    return loss, Hs[-1].argmax(axis=0), grads


class RefOptimizer:
    """SGD, heavy-ball momentum (v = beta v + g; p -= lr v) and Adam (Kingma and Ba, 2015):
    m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, p -= lr_t m / (sqrt(v) + eps) with
    lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), the paper's own form of the bias correction (sec. 2).
    L2 adds l2 * W to the gradient of every weight matrix, never to the biases."""

    def __init__(self, kind, l2=0.0, beta=0.9, beta1=0.9, beta2=0.999, eps=1e-8):
        self.kind, self.l2, self.beta = kind, l2, beta
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params, grads, lr):
        self.t += 1
        for name in params:
            g = grads[name] + (self.l2 * params[name] if name.startswith("W") else 0)
            if self.kind in ("gd", "sgd"):
                params[name] = params[name] - lr * g
            elif self.kind == "momentum":
                self.v[name] = self.beta * self.v.get(name, 0) + g
                params[name] = params[name] - lr * self.v[name]
            else:
                self.m[name] = self.beta1 * self.m.get(name, 0) + (1 - self.beta1) * g
                self.v[name] = self.beta2 * self.v.get(name, 0) + (1 - self.beta2) * g**2
                lr_t = lr * math.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
                params[name] = params[name] - lr_t * self.m[name] / (np.sqrt(self.v[name]) + self.eps)


def ref_lr(kind, base, step, epochs, batches):
    """The documented schedules: cosine from base to 0 over all steps; step halves every
    epochs // 3 epochs' worth of steps (at least one epoch)."""
    if kind == "cosine":
        total = epochs * batches
        return base * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    if kind == "step":
        return base * 0.5 ** (step // (batches * max(1, epochs // 3)))
    return base


def ref_train(params, X, labels, epochs, batch_size=128, optimizer="adam", learning_rate=0.001,
              schedule="constant", l2=0.0, momentum=0.9, seed=0, hidden="relu"):
    """The training loop, written out: shuffle with default_rng(seed) every epoch (none when one
    batch holds everything), then forward, gradient, step for each batch in order.

    Returns (parameters after each epoch, [(loss, lr) of every batch], [(loss, train_acc) of every epoch]).
    """
    params = {k: v.astype(np.float64) for k, v in params.items()}
    X = X.astype(np.float64)
    m = X.shape[1]
    size = m if batch_size == 0 or batch_size >= m else batch_size
    batches = math.ceil(m / size)
    rng = np.random.default_rng(seed)
    opt = RefOptimizer(optimizer, l2=l2, beta=momentum)
    snapshots, batch_log, epoch_log, step = [], [], [], 0
    for _ in range(epochs):
        order = rng.permutation(m) if size < m else np.arange(m)
        loss_sum, correct = 0.0, 0
        for b in range(batches):
            idx = order[b * size : (b + 1) * size]
            loss, predicted, grads = ref_loss_and_gradients(params, X[:, idx], labels[idx], hidden)
            lr = ref_lr(schedule, learning_rate, step, epochs, batches)
            opt.step(params, grads, lr)
            step += 1
            batch_log.append((loss, lr))
            loss_sum += loss * len(idx)
            correct += int(np.sum(predicted == labels[idx]))
        snapshots.append({k: v.copy() for k, v in params.items()})
        epoch_log.append((loss_sum / m, correct / m))
    return snapshots, batch_log, epoch_log


def problem(m=30, n0=6, classes=3, seed=0):
    """A small separable-ish problem: X (n0, m) float64 and labels (m,)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=1.0, size=(classes, n0))
    labels = rng.integers(0, classes, m)
    return (centres[labels] + rng.normal(scale=0.8, size=(m, n0))).T, labels


def train(net, X, y, validation=None, test=None, **settings):
    """Consume net.train: (events, parameters after every epoch event)."""
    events, snapshots = [], []
    for event in net.train(X, y, TrainConfig(**settings), validation=validation, test=test):
        events.append(event)
        if event["type"] == "epoch":
            snapshots.append({k: v.copy() for k, v in net.parameters.items()})
    return events, snapshots


def assert_params_close(actual, expected, rtol, atol):
    assert sorted(actual) == sorted(expected)
    for k in expected:
        np.testing.assert_allclose(actual[k], expected[k], rtol=rtol, atol=atol, err_msg=k)


# ---- the optimizers step by step -----------------------------------------------------------


def gradient_stream(steps, seed=3):
    """A different random gradient for each step (so that a frozen step count or a lost
    velocity shows) for a 2-layer parameter set."""
    rng = np.random.default_rng(seed)
    shapes = {"W1": (4, 3), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1)}
    params = {k: rng.normal(size=s) for k, s in shapes.items()}
    grads = [{"d" + k: rng.normal(scale=0.5, size=s) + 0.3 * t for k, s in shapes.items()} for t in range(steps)]
    return params, grads


def run_both(pynet_opt, ref_opt, steps=8, lrs=None):
    params, grads = gradient_stream(steps)
    ours = {k: v.copy() for k, v in params.items()}
    ref = {k: v.copy() for k, v in params.items()}
    for t, g in enumerate(grads):
        lr = 0.05 if lrs is None else lrs[t]
        pynet_opt.step(ours, g, lr)
        ref_opt.step(ref, {k[1:]: v for k, v in g.items()}, lr)
        assert_params_close(ours, ref, rtol=1e-12, atol=1e-14)
    return ours, ref


def test_sgd_with_l2_over_many_steps():
    ours, ref = run_both(make_optimizer("sgd", l2=0.3), RefOptimizer("sgd", l2=0.3), lrs=np.linspace(0.2, 0.01, 8))
    assert make_optimizer("sgd", l2=0.3).state() == {}
    # "gd" is the same plain gradient descent
    run_both(make_optimizer("gd", l2=0.3), RefOptimizer("sgd", l2=0.3))


@pytest.mark.parametrize("beta", [0.5, 0.0, 0.95])
def test_momentum_with_its_beta_over_many_steps(beta):
    opt = make_optimizer("momentum", l2=0.1, beta=beta)
    ref = RefOptimizer("momentum", l2=0.1, beta=beta)
    run_both(opt, ref)
    state = opt.state()
    assert sorted(state) == ["v_W1", "v_W2", "v_b1", "v_b2"]
    for k, v in state.items():
        np.testing.assert_allclose(v, ref.v[k[2:]], rtol=1e-12, atol=1e-14)


def test_adam_bias_correction_over_many_steps():
    opt = make_optimizer("adam", l2=0.05)
    ref = RefOptimizer("adam", l2=0.05)
    run_both(opt, ref, steps=10)
    assert opt.t == ref.t == 10
    state = opt.state()
    assert sorted(state) == ["m_W1", "m_W2", "m_b1", "m_b2", "v_W1", "v_W2", "v_b1", "v_b2"]
    for k, a in state.items():
        np.testing.assert_allclose(a, (ref.m if k[0] == "m" else ref.v)[k[2:]], rtol=1e-12, atol=1e-15)


def test_adam_with_its_own_betas_and_eps():
    opt = Adam(beta1=0.5, beta2=0.8, eps=1e-3, l2=0.2)
    run_both(opt, RefOptimizer("adam", l2=0.2, beta1=0.5, beta2=0.8, eps=1e-3), steps=6)


def test_adam_steps_shrink_as_the_bias_correction_fades():
    """With a constant gradient g, m/sqrt(v) after bias correction is sign(g) at every step:
    each step moves lr (up to eps), neither more (t frozen at 1 overshoots later) nor less."""
    adam = Adam()
    p = {"W1": np.zeros((1, 2)), "b1": np.zeros((1, 1))}
    g = {"dW1": np.array([[2.0, -0.5]]), "db1": np.array([[0.1]])}
    for t in range(1, 8):
        adam.step(p, g, 0.01)
        np.testing.assert_allclose(p["W1"], [[-0.01 * t, 0.01 * t]], rtol=1e-6)
        np.testing.assert_allclose(p["b1"], [[-0.01 * t]], rtol=1e-4)


def test_optimizer_classes_defaults_and_names():
    assert isinstance(make_optimizer("sgd"), SGD) and type(make_optimizer("gd")) is SGD
    assert type(make_optimizer("momentum")) is Momentum and make_optimizer("momentum").beta == 0.9
    assert make_optimizer("momentum", beta=0.25).beta == 0.25
    adam = make_optimizer("adam", l2=0.5)
    assert type(adam) is Adam and adam.l2 == 0.5
    assert (adam.beta1, adam.beta2, adam.eps, adam.t) == (0.9, 0.999, 1e-8, 0)
    assert make_optimizer("momentum", l2=0.5).l2 == 0.5 and make_optimizer("sgd").l2 == 0.0
    assert (Momentum().beta, Momentum().l2, SGD().l2, Adam().l2) == (0.9, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("rmsprop")


@pytest.mark.parametrize("bad", [0, -0.1, float("nan"), float("inf"), "fast", None, True, np.bool_(True)])
def test_check_learning_rate_refuses(bad):
    with pytest.raises(ValueError, match="learning rate must be"):
        check_learning_rate(bad)


def test_check_learning_rate_accepts_numbers():
    assert check_learning_rate("0.5") == 0.5 and check_learning_rate(np.float32(0.25)) == 0.25
    assert type(check_learning_rate(1)) is float


# ---- the schedules ---------------------------------------------------------------------------


def test_schedule_defaults():
    """One step for the cosine (0 from step 1 on), halving every 1000 steps."""
    assert Schedule(0.1, "cosine")(1) == pytest.approx(0.0, abs=1e-17)
    assert [Schedule(0.1, "step")(t) for t in (999, 1000)] == [0.1, 0.05]


def test_constant_schedule():
    s = Schedule(0.03, "constant", total_steps=10, step_every=2)
    assert [s(t) for t in (0, 1, 5, 10, 1000)] == [0.03] * 5
    assert Schedule(0.03)(7) == 0.03  # the default kind


def test_cosine_schedule_start_middle_end():
    s = Schedule(0.2, "cosine", total_steps=40)
    assert s(0) == 0.2
    assert s(10) == pytest.approx(0.2 * 0.5 * (1 + math.cos(math.pi / 4)), rel=1e-14)
    assert s(20) == pytest.approx(0.1, rel=1e-14)
    assert s(40) == pytest.approx(0.0, abs=1e-17)
    assert s(55) == s(40)  # past the end it stays at 0
    assert Schedule(0.2, "cosine", total_steps=0)(1) == pytest.approx(0.0, abs=1e-17)  # at least one step


def test_step_schedule_halves_every_interval():
    s = Schedule(0.4, "step", total_steps=100, step_every=6)
    assert [s(t) for t in (0, 5, 6, 11, 12, 17, 18)] == [0.4, 0.4, 0.2, 0.2, 0.1, 0.1, 0.05]
    assert [Schedule(0.4, "step", step_every=0)(t) for t in range(3)] == [0.4, 0.2, 0.1]  # at least 1


def test_schedule_refuses_unknown_kinds_and_bad_rates():
    with pytest.raises(ValueError, match="schedule must be one of"):
        Schedule(0.1, "linear")
    with pytest.raises(ValueError, match="learning rate"):
        Schedule(0, "constant")


@pytest.mark.parametrize("epochs, halving", [(6, 2), (9, 3), (7, 2), (2, 1)])
def test_training_halves_the_step_schedule_every_third_of_the_run(epochs, halving):
    """'step': halved every epochs // 3 epochs (at least one) -- per batch, as the events show."""
    X, y = problem(m=30)
    events, _ = train(Network([6, 4, 3], seed=0), X, y, epochs=epochs, batch_size=10, optimizer="sgd",
                      learning_rate=0.08, schedule="step")
    lrs = [e["lr"] for e in events if e["type"] == "batch"]
    expected = [0.08 * 0.5 ** (step // (3 * halving)) for step in range(3 * epochs)]
    assert lrs == expected


def test_training_follows_the_cosine_schedule_per_batch():
    X, y = problem(m=30)
    events, _ = train(Network([6, 4, 3], seed=0), X, y, epochs=4, batch_size=8, optimizer="sgd",
                      learning_rate=0.1, schedule="cosine")
    lrs = [e["lr"] for e in events if e["type"] == "batch"]
    total = 4 * 4  # 30 samples in batches of 8: 4 batches per epoch
    assert lrs == pytest.approx([0.05 * (1 + math.cos(math.pi * s / total)) for s in range(total)], rel=1e-13)
    assert lrs[0] == 0.1 and lrs[total // 2] == pytest.approx(0.05)


# ---- Network.train against the reference loop -------------------------------------------------

RUNS = {
    "adam-l2": dict(epochs=2, batch_size=10, optimizer="adam", learning_rate=0.02, l2=0.01),
    "momentum-0.5-step": dict(epochs=6, batch_size=7, optimizer="momentum", momentum=0.5,
                              learning_rate=0.05, schedule="step", seed=4),
    "sgd-l2-cosine-full": dict(epochs=5, batch_size=0, optimizer="sgd", learning_rate=0.3, l2=0.1,
                               schedule="cosine"),
    "gd-batch-above-m": dict(epochs=3, batch_size=64, optimizer="gd", learning_rate=0.5),
    "adam-seed-step": dict(epochs=7, batch_size=12, optimizer="adam", learning_rate=0.01, schedule="step", seed=3),
}


@pytest.mark.parametrize("hidden", ["relu", "sigmoid"])
@pytest.mark.parametrize("name", RUNS)
def test_train_equals_the_reference_loop(name, hidden):
    """Every batch's loss and learning rate, every epoch's loss, accuracy and parameters."""
    settings = RUNS[name]
    X, y = problem(m=30)
    net = Network([6, 5, 4, 3], hidden_activation=hidden, seed=1, dtype="float64")
    initial = {k: v.copy() for k, v in net.parameters.items()}
    events, snapshots = train(net, X, y, **settings)
    ref_snapshots, ref_batches, ref_epochs = ref_train(initial, X, y, hidden=hidden, **settings)

    batches = [e for e in events if e["type"] == "batch"]
    epochs = [e for e in events if e["type"] == "epoch"]
    assert len(epochs) == settings["epochs"] and len(snapshots) == settings["epochs"]
    assert len(batches) == len(ref_batches)
    assert [e["step"] for e in batches] == list(range(1, len(batches) + 1))
    assert [e["loss"] for e in batches] == pytest.approx([b[0] for b in ref_batches], rel=1e-10)
    assert [e["lr"] for e in batches] == pytest.approx([b[1] for b in ref_batches], rel=1e-14)
    assert [e["loss"] for e in epochs] == pytest.approx([e[0] for e in ref_epochs], rel=1e-10)
    assert [e["train_acc"] for e in epochs] == [e[1] for e in ref_epochs]
    for ours, ref in zip(snapshots, ref_snapshots):
        assert_params_close(ours, ref, rtol=1e-9, atol=1e-12)
    assert events[-1] == {"type": "done", "reason": "completed", "epochs_run": settings["epochs"],
                          "message": "training completed"}
    # the run moved the parameters: the comparison is not of two untouched copies
    assert not np.allclose(snapshots[-1]["W1"], initial["W1"], rtol=0, atol=1e-4)


def test_short_adam_run_float32_uint8_inputs():
    """float32 model fed uint8 pixels (k meaning k/256) stays within float32 rounding of the reference."""
    rng = np.random.default_rng(5)
    centres = rng.integers(0, 256, size=(3, 12))
    y = rng.integers(0, 3, 36)
    X8 = np.clip(centres[y] + rng.normal(0, 40, size=(36, 12)), 0, 255).astype(np.uint8).T
    net = Network([12, 8, 3], seed=2, dtype="float32")
    initial = {k: v.copy() for k, v in net.parameters.items()}
    settings = dict(epochs=2, batch_size=12, optimizer="adam", learning_rate=0.01, l2=0.001, seed=9)
    _, snapshots = train(net, X8, y, **settings)
    ref_snapshots, _, _ = ref_train(initial, X8 / 256.0, y, **settings)
    for ours, ref in zip(snapshots, ref_snapshots):
        assert all(v.dtype == np.float32 for v in ours.values())
        assert_params_close(ours, ref, rtol=1e-4, atol=2e-6)


def test_each_setting_changes_the_run():
    """A non-default value of each setting gives different parameters than the default run, and
    the same settings twice give the same (so a difference is the setting's doing)."""
    X, y = problem(m=30)
    base = dict(epochs=2, batch_size=10, optimizer="adam", learning_rate=0.01)

    def final(**change):
        net = Network([6, 5, 3], seed=1, dtype="float64")
        train(net, X, y, **dict(base, **change))
        return net.parameters["W1"]

    reference = final()
    np.testing.assert_array_equal(final(), reference)
    for change in [dict(epochs=3), dict(batch_size=7), dict(batch_size=0), dict(optimizer="sgd"),
                   dict(learning_rate=0.02), dict(schedule="cosine"), dict(l2=0.1), dict(seed=1),
                   dict(optimizer="momentum", momentum=0.5)]:
        assert not np.allclose(final(**change), reference, rtol=0, atol=1e-9), change
    # momentum's beta matters through the config, not only its name
    assert not np.allclose(final(optimizer="momentum", momentum=0.5), final(optimizer="momentum"), atol=1e-9)


def test_batch_size_sets_the_batches():
    X, y = problem(m=30)
    for batch_size, sizes in [(0, [30]), (30, [30]), (100, [30]), (8, [8, 8, 8, 6]), (1, [1] * 30)]:
        events, _ = train(Network([6, 3, 3], seed=0), X, y, epochs=1, batch_size=batch_size, optimizer="sgd",
                          learning_rate=0.01)
        assert events[0]["batches"] == len(sizes)
        assert [e["batch"] for e in events if e["type"] == "batch"] == list(range(1, len(sizes) + 1))


def test_full_batch_ignores_the_shuffling_seed():
    """One batch holding every sample: nothing to shuffle, so the seed changes nothing."""
    X, y = problem(m=30)
    results = []
    for seed in (0, 1):
        net = Network([6, 4, 3], seed=0, dtype="float64")
        train(net, X, y, epochs=3, batch_size=0, optimizer="sgd", learning_rate=0.1, seed=seed)
        results.append(net.parameters)
    for k in results[0]:
        np.testing.assert_array_equal(results[0][k], results[1][k])


def test_eval_every_evaluates_on_schedule_and_at_the_end():
    X, y = problem(m=30)
    Xv, yv = problem(m=20, seed=1)
    Xt, yt = problem(m=25, seed=2)
    net = Network([6, 5, 3], seed=1, dtype="float64")
    events, snapshots = train(net, X, y, validation=(Xv, yv), test=(Xt, yt), epochs=5, batch_size=10,
                              optimizer="adam", learning_rate=0.02, eval_every=2)
    epochs = [e for e in events if e["type"] == "epoch"]
    assert [e["val_loss"] is not None for e in epochs] == [False, True, False, True, True]
    assert [e["test_acc"] is not None for e in epochs] == [False, True, False, True, True]
    for e, params in zip(epochs, snapshots):
        if e["val_loss"] is None:
            assert e["val_acc"] is None and e["test_loss"] is None
            continue
        for (Xs, ys), loss_key, acc_key in [((Xv, yv), "val_loss", "val_acc"), ((Xt, yt), "test_loss", "test_acc")]:
            loss, predicted, _ = ref_loss_and_gradients(params, Xs, ys)
            assert e[loss_key] == pytest.approx(loss, rel=1e-10)
            assert e[acc_key] == np.mean(predicted == ys)


def test_patience_stops_after_that_many_epochs_without_improvement_and_restores_the_best():
    """Validation labels that disagree with the training labels: the validation loss rises as the
    model learns, so the best epoch is early and the run stops `patience` epochs later."""
    X, y = problem(m=60)
    Xv, yv = problem(m=40, seed=1)
    wrong = (yv + 1) % 3
    for patience in (1, 3):
        net = Network([6, 8, 3], seed=1, dtype="float64")
        events, snapshots = train(net, X, y, validation=(Xv, wrong), epochs=30, batch_size=10,
                                  optimizer="sgd", learning_rate=0.05, patience=patience)
        epochs = [e for e in events if e["type"] == "epoch"]
        losses = [e["val_loss"] for e in epochs]
        best = int(np.argmin(losses))
        assert all(later >= losses[best] for later in losses[best + 1:])
        assert len(epochs) == best + 1 + patience < 30
        assert events[-1]["reason"] == "early_stop" and events[-1]["epochs_run"] == len(epochs)
        for k in net.parameters:
            np.testing.assert_array_equal(net.parameters[k], snapshots[best][k])


def test_patience_stops_a_run_that_no_longer_improves():
    """A rate too small to move float32 weights: the validation loss stays exactly the same, which
    is not an improvement, so the run stops after `patience` epochs with the first epoch's model."""
    X, y = problem(m=30)
    Xv, yv = problem(m=20, seed=1)
    net = Network([6, 4, 3], seed=1, dtype="float32")
    events, snapshots = train(net, X, y, validation=(Xv, yv), epochs=10, batch_size=10, optimizer="sgd",
                              learning_rate=1e-30, patience=2)
    losses = [e["val_loss"] for e in events if e["type"] == "epoch"]
    assert len(losses) == 3 and losses[0] == losses[1] == losses[2]
    assert events[-1]["reason"] == "early_stop"


def test_no_patience_never_stops_early():
    X, y = problem(m=30)
    Xv, yv = problem(m=20, seed=1)
    events, _ = train(Network([6, 4, 3], seed=1), X, y, validation=(Xv, (yv + 1) % 3), epochs=12,
                      batch_size=10, optimizer="sgd", learning_rate=0.05)
    assert events[-1]["reason"] == "completed" and events[-1]["epochs_run"] == 12


# ---- divergence ------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_after_good_epochs_restores_exactly_the_last_good_epoch():
    """Momentum with beta 0.99 at a high rate trains for a while, then blows up: the model left is
    the one of the last completed epoch, bit for bit (not the initial one, not the broken one)."""
    rng = np.random.default_rng(7)
    centres = rng.normal(scale=1.5, size=(3, 20))
    y = rng.integers(0, 3, 600)
    X = (centres[y] + rng.normal(size=(600, 20))).T
    net = Network([20, 16, 3], seed=1, dtype="float64")
    events, snapshots = train(net, X, y, epochs=8, batch_size=100, optimizer="momentum", momentum=0.99,
                              learning_rate=3.0)
    done = events[-1]
    assert done["reason"] == "diverged" and "too high" in done["message"]
    assert 1 <= done["epochs_run"] == len(snapshots) < 8
    last = [e for e in events if e["type"] == "batch"][-1]
    failing_batch = last["batch"] + 1 if last["epoch"] == len(snapshots) + 1 else 1
    assert f"at epoch {len(snapshots) + 1}, batch {failing_batch}:" in done["message"]
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, snapshots[-1][k])
    # the last batch event shows the step that broke the run was never applied beyond that epoch
    assert [e["epoch"] for e in events if e["type"] == "batch"][-1] == len(snapshots) + 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_parameters_overflowing_at_the_end_of_an_epoch_restore_the_start():
    """float32 weights overflow to inf on the one full-batch step of epoch 1, while that batch's
    loss was fine: the end-of-epoch check catches it and the initial weights come back."""
    X, y = problem(m=30)
    net = Network([6, 4, 3], seed=1, dtype="float32")
    initial = {k: v.copy() for k, v in net.parameters.items()}
    with pytest.raises(TrainingDiverged) as diverged:
        net.fit(X, y, TrainConfig(epochs=3, batch_size=0, optimizer="sgd", learning_rate=1e300))
    assert diverged.value.history == [] and diverged.value.epochs_run == 0
    assert net.last_done["reason"] == "diverged" and net.last_done["epochs_run"] == 0
    assert net.last_done["message"].startswith("parameters became NaN or inf in epoch 1")
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, initial[k])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_fit_on_divergence_raises_with_the_good_epochs_and_keeps_their_model():
    rng = np.random.default_rng(7)
    centres = rng.normal(scale=1.5, size=(3, 20))
    y = rng.integers(0, 3, 600)
    X = (centres[y] + rng.normal(size=(600, 20))).T
    config = TrainConfig(epochs=8, batch_size=100, optimizer="momentum", momentum=0.99, learning_rate=3.0)
    net = Network([20, 16, 3], seed=1, dtype="float64")
    seen = []
    with pytest.raises(TrainingDiverged, match="too high") as diverged:
        net.fit(X, y, config, callback=seen.append)
    history = diverged.value.history
    assert net.last_done["reason"] == "diverged" and seen[-1] is net.last_done
    assert diverged.value.epochs_run == net.last_done["epochs_run"]
    assert history == [e for e in seen if e["type"] == "epoch"] and len(history) == net.last_done["epochs_run"] >= 1
    # the same run step by step: its last good epoch is what fit kept
    twin = Network([20, 16, 3], seed=1, dtype="float64")
    _, snapshots = train(twin, X, y, **config.to_dict())
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, snapshots[len(history) - 1][k])


def test_loss_divergence_threshold():
    """Diverged: a non-finite loss, or one above both 10 times the first loss and 20."""
    assert _loss_diverged(2.3, 2.3) is None
    assert _loss_diverged(22.9, 2.3) is None
    assert _loss_diverged(23.1, 2.3) == "rose from 2.3 to 23.1"
    assert _loss_diverged(19.9, 1.0) is None and _loss_diverged(20.0, 1.0) is None
    assert _loss_diverged(20.1, 1.0) == "rose from 1 to 20.1"
    assert _loss_diverged(float("nan"), 1.0) == "became nan"
    assert _loss_diverged(float("inf"), 1.0) == "became inf"


def test_a_warning_free_run():
    """A healthy run raises no warning (overflow or division): the guards are not hiding one."""
    X, y = problem(m=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(Network([6, 4, 3], seed=1), X, y, epochs=2, batch_size=10, optimizer="adam", learning_rate=0.01)


def test_event_fields_agree_with_each_other():
    """The start event describes the run; the speed reported is the samples seen over the time
    spent training (evaluation excluded), in batch and epoch events alike."""
    X, y = problem(m=30)
    Xv, yv = problem(m=20, seed=1)
    net = Network([6, 4, 3], hidden_activation="sigmoid", seed=1)
    config = TrainConfig(epochs=3, batch_size=8, optimizer="sgd", learning_rate=0.1, eval_every=2)
    t0 = time.perf_counter()
    events = []
    for event in net.train(X, y, config, validation=(Xv, yv)):
        if "elapsed_s" in event:  # time since the run began: within the time this loop has taken
            assert 0 < event["elapsed_s"] <= time.perf_counter() - t0
        events.append(event)
    assert events[0] == {"type": "start", "config": config.validated().to_dict(), "dimensions": [6, 4, 3],
                         "hidden_activation": "sigmoid", "samples": 30, "batches": 4, "shards": 1}
    seen = 0
    for e in events[1:-1]:
        if e["type"] == "batch":
            assert e["batches"] == 4
            seen += 8 if e["batch"] < 4 else 6
            if e["epoch"] == 1:  # no evaluation pass yet: all the time so far was training
                assert e["samples_per_s"] == pytest.approx(seen / e["elapsed_s"], rel=1e-9)
            assert e["samples_per_s"] >= seen / e["elapsed_s"] * (1 - 1e-12)
        else:
            assert e["epochs"] == 3 and seen == 30 * e["epoch"]
            assert 0 < e["train_s"] <= e["elapsed_s"]
            assert e["samples_per_s"] == pytest.approx(seen / e["train_s"], rel=1e-9)


def test_patience_stops_exactly_patience_epochs_after_the_best_and_keeps_it():
    """The validation set's labels are the training labels shifted by one class, so its loss only
    rises as the network learns: the best epoch is the first, and with patience 2 the run stops
    after epoch 3 with epoch 1's parameters."""
    rng = np.random.default_rng(3)
    centres = rng.normal(scale=2.0, size=(3, 10))
    y = rng.integers(0, 3, 300)
    X = (centres[y] + rng.normal(size=(300, 10))).T
    config = TrainConfig(epochs=10, batch_size=50, learning_rate=0.01, patience=2, seed=1)
    net = Network([10, 8, 3], seed=1, dtype="float64")
    events = list(net.train(X, y, config, validation=(X, (y + 1) % 3)))
    epochs = [e for e in events if e["type"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[0]["val_loss"] < epochs[1]["val_loss"] < epochs[2]["val_loss"]
    assert events[-1]["reason"] == "early_stop" and events[-1]["epochs_run"] == 3
    first = Network([10, 8, 3], seed=1, dtype="float64")
    first.fit(X, y, TrainConfig(epochs=1, batch_size=50, learning_rate=0.01, seed=1))
    for name, value in first.parameters.items():
        np.testing.assert_array_equal(net.parameters[name], value)


def test_a_c_ordered_training_set_trains_exactly_as_its_f_ordered_copy():
    """The trainer lays X out sample by sample once; the run is the same to the last bit."""
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, (784, 300), dtype=np.uint8)
    y = rng.integers(0, 10, 300)
    runs = []
    for layout in (np.ascontiguousarray(X), np.asfortranarray(X)):
        net = Network([784, 16, 10], seed=1)
        losses = [e["loss"] for e in net.train(layout, y, TrainConfig(epochs=2, batch_size=64)) if e["type"] == "batch"]
        runs.append((losses, net.parameters))
    assert runs[0][0] == runs[1][0]
    assert all(np.array_equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
