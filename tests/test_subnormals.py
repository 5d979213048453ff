"""The flush of float32 subnormals to zero in the optimizers (issue 13, "No slowdown over a run").

Every ``optim.FLUSH_EVERY`` steps, the subnormal values of the float32 parameters and optimizer
state become zeros of their sign; normal values, and float64 arrays, stay as they are to the
last bit. The expected values below come from the rule itself, applied to the bits of a run
without the flush (``FLUSH_EVERY`` moved beyond the run).
"""

import numpy as np
import pytest

from pynet import Network, TrainConfig, optim
from pynet.optim import flush_subnormals, make_optimizer

TINY32 = np.finfo(np.float32).tiny  # the smallest normal float32, 2**-126
NEVER = 2**62  # FLUSH_EVERY for a run without the flush


def subnormal(a):
    """Mask of a's subnormal values (of its own dtype)."""
    return (np.abs(a) < np.finfo(a.dtype).tiny) & (a != 0)


def flushed(a):
    """The rule: each float32 subnormal becomes 0 with its sign bit, every other value stays."""
    return np.where(subnormal(a), np.copysign(np.float32(0), a), a).astype(a.dtype)


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_flush_zeroes_each_subnormal_with_its_sign_and_keeps_every_other_value_bit_for_bit():
    f32 = np.float32
    smallest = np.nextafter(f32(0), f32(1))  # 2**-149
    largest_subnormal = np.nextafter(TINY32, f32(0))
    values = [1e-40, -1e-40, smallest, -smallest, largest_subnormal, -largest_subnormal,
              TINY32, -TINY32, np.nextafter(TINY32, f32(1)), 0.0, -0.0, 1.0, -2.5e-30, 3e38, np.inf, -np.inf, np.nan]
    a = np.array(values, dtype=f32)
    before = a.copy()
    flush_subnormals(a)
    assert same_bits(a, flushed(before))
    assert np.signbit(a[:6]).tolist() == [False, True] * 3 and not np.any(a[:6])
    assert same_bits(a[6:], before[6:])  # normal, zero, infinite and NaN values: not a bit changed
    # in place, on any shape and on a view
    W = np.full((3, 4), 1e-40, f32)
    W[:, 1] = 0.5
    flush_subnormals(W[1:])
    assert W[0, 0] == f32(1e-40) and not np.any(W[1:, [0, 2, 3]]) and np.all(W[:, 1] == 0.5)


def test_float64_is_left_alone():
    a = np.array([5e-324, -1e-310, 1e-40, 0.0, 1.0])  # float64 subnormals, and float32's range
    before = a.copy()
    flush_subnormals(a)
    assert same_bits(a, before)


def blank_pixel_case(dtype, rng):
    """Parameters of a 6-4-3 network whose first input's weights are subnormal (a blank pixel's
    after a long run with L2), the others normal; zero gradients (the blank pixel's are exactly 0)."""
    tiny = np.finfo(dtype).tiny
    params = {"W1": rng.normal(size=(4, 6)).astype(dtype), "b1": rng.normal(size=(4, 1)).astype(dtype),
              "W2": rng.normal(size=(3, 4)).astype(dtype), "b2": rng.normal(size=(3, 1)).astype(dtype)}
    params["W1"][:, 0] = rng.uniform(-1, 1, 4) * tiny / 4
    grads = {"d" + k: np.zeros_like(v) for k, v in params.items()}
    return params, grads


def run_steps(name, params, grads, steps):
    opt = make_optimizer(name, l2=1e-4)
    for _ in range(steps):
        opt.step(params, grads, 0.01)
    return params, opt.state()


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_the_flush_after_every_flush_every_steps_is_the_rule_applied_to_the_run_without_it(name, monkeypatch):
    n = optim.FLUSH_EVERY
    runs = {}
    for every, steps in ((n, n - 1), (NEVER, n - 1), (n, n), (NEVER, n)):
        monkeypatch.setattr(optim, "FLUSH_EVERY", every)
        params, grads = blank_pixel_case(np.float32, np.random.default_rng(3))
        params, state = run_steps(name, params, grads, steps)
        runs[every, steps] = {**params, **state}
    before, plain, ours = runs[n, n - 1], runs[NEVER, n], runs[n, n]
    # no flush before step FLUSH_EVERY: the run is the run without the flush
    assert all(same_bits(before[k], runs[NEVER, n - 1][k]) for k in before)
    assert any(np.any(subnormal(a)) for a in before.values())
    # at step FLUSH_EVERY, the parameters and every state array (W, b, velocity, m, v) are flushed
    assert sorted(ours) == sorted(plain) and len(ours) == {"sgd": 4, "momentum": 8, "adam": 12}[name]
    assert np.any(subnormal(plain["W1"])) and not any(np.any(subnormal(a)) for a in ours.values())
    if name != "sgd":
        assert any(np.any(subnormal(plain[k])) for k in plain if k[:2] in ("v_", "m_"))
    for k in ours:
        assert same_bits(ours[k], flushed(plain[k])), k
        normal = ~subnormal(plain[k])
        assert np.any(normal) and same_bits(ours[k][normal], plain[k][normal]), k


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_a_flushed_blank_pixel_stays_exactly_zero(name):
    """Its gradient is l2 * 0 and its state is 0: nothing can move it again."""
    params, grads = blank_pixel_case(np.float32, np.random.default_rng(3))
    params, state = run_steps(name, params, grads, 3 * optim.FLUSH_EVERY + 1)
    for a in [params["W1"]] + [state[p + "W1"] for p in ("m_", "v_") if p + "W1" in state]:
        assert not np.any(a[:, 0])


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_float64_runs_are_not_flushed(name, monkeypatch):
    n = optim.FLUSH_EVERY
    results = []
    for every in (n, NEVER):
        monkeypatch.setattr(optim, "FLUSH_EVERY", every)
        params, grads = blank_pixel_case(np.float64, np.random.default_rng(3))
        params, state = run_steps(name, params, grads, 2 * n)
        results.append({**params, **state})
    flushing, plain = results
    assert np.any(subnormal(flushing["W1"]))
    assert all(same_bits(flushing[k], plain[k]) for k in plain)


def with_and_without_flush(monkeypatch, every, mnist, m, dims, config, prepare=None):
    """[(losses, parameters)] of Network(dims) trained on the first m MNIST images with a flush
    every `every` steps, then of the same run without the flush; prepare(net, X) goes first."""
    X, labels = mnist[0][:, :m].astype(np.float32), mnist[1][:, :m].argmax(axis=0)
    runs = []
    for flush_every in (every, NEVER):
        monkeypatch.setattr(optim, "FLUSH_EVERY", flush_every)
        net = Network(dims, seed=1, dtype="float32")
        if prepare:
            prepare(net, X)
        losses = [e["loss"] for e in net.train(X, labels, config) if e["type"] in ("batch", "epoch")]
        runs.append((losses, net.parameters))
    return runs


def test_a_real_run_with_subnormal_weights_keeps_its_losses(mnist, monkeypatch):
    """784-32-10 on 1,000 images with L2, the weights of its blank pixels and of 1% of the others
    set subnormal first (as after a long run): the losses with a flush every 5 steps are those
    without, to float32 rounding; the flushed run ends with no subnormal weight."""
    blanks = []

    def subnormal_blank_pixels(net, X):
        rng = np.random.default_rng(0)
        blanks.append(~X.any(axis=1))
        W1 = net.parameters["W1"]
        W1[:, blanks[-1] | (rng.random(784) < 0.01)] = np.float32(3e-39) * rng.choice([-1, 1], (32, 1))

    config = TrainConfig(epochs=3, batch_size=100, optimizer="adam", learning_rate=0.002, l2=1e-4)
    (losses, params), (plain_losses, plain_params) = with_and_without_flush(
        monkeypatch, 5, mnist, 1000, [784, 32, 10], config, subnormal_blank_pixels)
    W1, plain_W1 = params["W1"], plain_params["W1"]
    assert blanks[0].sum() > 50 and np.any(subnormal(plain_W1)) and not np.any(subnormal(W1))
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-6, atol=0)
    normal = ~subnormal(plain_W1)
    np.testing.assert_allclose(W1[normal], plain_W1[normal], rtol=1e-5, atol=1e-30)


def test_a_run_without_subnormals_is_unchanged_to_the_last_bit(mnist, monkeypatch):
    """No subnormal appears in this run: the flush, every step, finds nothing to change."""
    config = TrainConfig(epochs=2, batch_size=50, optimizer="momentum", learning_rate=0.05, l2=1e-4)
    (losses, params), (plain_losses, plain_params) = with_and_without_flush(
        monkeypatch, 1, mnist, 500, [784, 16, 10], config)
    assert not any(np.any(subnormal(a)) for a in plain_params.values())
    assert losses == plain_losses
    assert all(same_bits(params[k], plain_params[k]) for k in params)
