"""Throughput measurements shared by benchmarks/run.py (native NumPy) and
benchmarks/pyodide_node.mjs (Pyodide's NumPy under Node): the same code runs in both places.

All times are wall clock (time.perf_counter); every number is a median over rounds.
"""

import sys
import time

import numpy as np

from pynet import optim, spec
from pynet.model import Network, TrainConfig


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def products(dims):
    """The matrix products of a network's layers with parameters, in order: (kind, F, K, per_sample)
    for each, the product (F, K) @ (K, per_sample * m) that its forward pass computes on m samples.

    A dense layer is W (n, n_prev) @ H_prev (n_prev, m): ('dense', n, n_prev, 1); a conv layer is
    its kernels (F, C kh kw) @ the im2col windows (C kh kw, OH OW m): ('conv', F, C kh kw, OH OW).
    dims: layer sizes [784, 128, 10] or a spec's text ('conv 8@5x5, pool 2, dense 10').
    """
    plan = spec.plan(dims if isinstance(dims, str) else ",".join(map(str, dims)))
    shapes = [shapes["W"] for shapes in plan.shapes if shapes]
    return [("conv" if len(W) == 4 else "dense", W[0], int(np.prod(W[1:])), out // W[0])
            for W, out in zip(shapes, plan.dimensions[1:])]


def flops_per_sample(dims):
    """Training flops per sample: each product forward, for dW and for dH_prev (2 flops per
    multiply-add each), minus the first layer's dH_prev product, which training never computes.
    For a dense network, 6 flops per weight minus 2 n_0 n_1; a conv layer's product is
    2 F C kh kw OH OW per sample."""
    forward = [2 * F * K * n for _, F, K, n in products(dims)]
    return 3 * sum(forward) - forward[0]


def train_rate(dims, X, y, batch, optimizer="adam", lr=0.003, n_batches=20, warm=3, rounds=3, bare=False):
    """Samples/s of pynet's Network.train (float32) over n_batches batches after warm batches.

    dims: layer sizes or a spec's text; X: (784, m) uint8, y: (m,) labels. A fresh network each round. Returns (median, all rounds),
    or with bare=True (median, all rounds, bare step-matmul GFLOPS measured right after each
    round, the training's share of it in each round): interleaving makes the share robust to the
    other jobs of a shared machine.
    """
    rates, bares, shares = [], [], []
    epochs = max(2, (warm + n_batches) * batch // X.shape[1] + 2)
    cfg = TrainConfig(epochs=epochs, batch_size=batch, optimizer=optimizer, learning_rate=lr).validated()
    step, flops = step_matmuls(dims, batch) if bare else (None, None)
    for r in range(rounds):
        net = Network(dims, seed=r, dtype="float32")
        seen = 0
        t0 = None
        for event in net.train(X, y, cfg):
            if event["type"] != "batch":
                continue
            if event["step"] == warm:
                t0 = time.perf_counter()
            elif event["step"] > warm:
                seen += batch
                if event["step"] == warm + n_batches:
                    break
        rates.append(seen / (time.perf_counter() - t0))
        if bare:
            bares.append(_rate(step, flops, reps=3, min_time=0.05))
            shares.append(rates[-1] * flops_per_sample(dims) / 1e9 / bares[-1])
    if bare:
        return median(rates), rates, bares, shares
    return median(rates), rates


def full_batch_iteration_s(dims, X, y, lr=0.0075, iterations=6, warm=1):
    """Seconds per iteration of full-batch gradient descent (the seed's recipe) with Network.train."""
    cfg = TrainConfig(epochs=warm + iterations + 1, batch_size=0, optimizer="gd", learning_rate=lr, seed=2).validated()
    net = Network(dims, seed=2, dtype="float32")
    times, last = [], None
    for event in net.train(X, y, cfg):
        if event["type"] != "batch":
            continue
        now = time.perf_counter()
        if event["step"] > warm:
            times.append(now - last)
        last = now
        if len(times) >= iterations:
            break
    return median(times), times


def count_subnormals(arrays):
    """How many values of the float32 arrays are subnormal (not 0, below 1.18e-38 in magnitude)."""
    tiny = np.finfo(np.float32).tiny
    return sum(int(np.count_nonzero((np.abs(a) < tiny) & (a != 0))) for a in arrays if a.dtype == np.float32)


def epoch_seconds(dims, X, y, config, epochs=None, flush=True):
    """Seconds of each epoch of Network.train (float32, seed 0) with config, timed by the caller's clock.

    X: (784, m) uint8, y: (m,) labels; epochs: stop after this many (None: config.epochs; the
    schedule still spans config.epochs). flush=False moves optim.FLUSH_EVERY beyond the run, to
    show what the flush of subnormals saves. Returns (seconds, subnormal parameters after each
    epoch, training loss of each epoch).
    """
    saved = optim.FLUSH_EVERY
    if not flush:
        optim.FLUSH_EVERY = 2**62
    seconds, subnormals, losses = [], [], []
    try:
        net = Network(dims, seed=0, dtype="float32")
        last = time.perf_counter()
        for event in net.train(X, y, config):
            if event["type"] != "epoch":
                continue
            seconds.append(time.perf_counter() - last)
            subnormals.append(count_subnormals(net.parameters.values()))  # not timed
            losses.append(event["loss"])
            if len(seconds) == epochs:
                break
            last = time.perf_counter()
    finally:
        optim.FLUSH_EVERY = saved
    return seconds, subnormals, losses


def flush_seconds(dims, blank=0.0, reps=15):
    """Median seconds of one flush (optim.flush_subnormals) of everything an Adam step flushes in
    a float32 network of dims: W, b, m and v of every layer. blank: the share of the inputs whose
    first-layer weights (columns of W1, m and v) are subnormal, half of them already 0, as the
    blank pixels' are in a run with L2 (0: nothing to flush, the usual case)."""
    rng = np.random.default_rng(0)
    arrays = []
    for layer, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:])):
        for shape in ((n_out, n_in), (n_out, 1)):
            a = (rng.standard_normal(shape) * 0.05).astype(np.float32)
            if layer == 0 and shape[1] > 1:
                columns = rng.random(n_in) < blank
                a[:, columns] = np.where(rng.random((n_out, int(columns.sum()))) < 0.5, 0, 1e-40)
            arrays += [a, a.copy(), np.abs(a)]  # the parameter, m, v
    work = [a.copy() for a in arrays]
    times = []
    for _ in range(reps):
        for w, a in zip(work, arrays):
            np.copyto(w, a)
        t = time.perf_counter()
        for w in work:
            optim.flush_subnormals(w)
        times.append(time.perf_counter() - t)
    return median(times)


def _rate(f, flops, reps, min_time):
    """GFLOPS of f: median over reps of batches of calls lasting min_time, after a warm-up."""
    f()
    t = time.perf_counter(); n = 0
    while time.perf_counter() - t < 0.05 or n < 3:  # warm up (V8 tiers up hot wasm code)
        f(); n += 1
    inner = max(1, int(min_time / ((time.perf_counter() - t) / n)))
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(inner):
            f()
        samples.append((time.perf_counter() - t) / inner)
    return flops / median(samples) / 1e9


def step_matmuls(dims, batch):
    """(fn, flops): the products of one training step through pynet's kernel, on arrays of
    their shapes: for each layer (products(dims)) its forward product, its dW product and (not
    for the first layer) its dH_prev product, each with the same operands (transposed views
    included) as pynet.core.linear_backward and pynet.conv.conv_backward. flops:
    flops_per_sample(dims) * batch."""
    from pynet import core

    rng = np.random.default_rng(0)
    mm = core._matmul
    calls = []
    for k, (kind, F, K, per_sample) in enumerate(products(dims)):
        N = per_sample * batch
        W = rng.standard_normal((F, K)).astype(np.float32)
        H = rng.random((K, N)).astype(np.float32)  # the layer's input columns (im2col windows for conv)
        dZ = rng.standard_normal((F, N)).astype(np.float32)
        calls.append((W, H))
        # dW: dZ H^T for a dense layer, (H dZ^T)^T for a conv layer, as each computes it
        calls.append((H, dZ.T) if kind == "conv" else (dZ, H.T))
        if k:
            calls.append((W.T, dZ))

    def step():
        for a, b in calls:
            mm(a, b)

    return step, flops_per_sample(dims) * batch


def bare_rates(dims, batch, reps=5, min_time=0.05):
    """Bare matmul rates, GFLOPS, float32, of a recipe's shapes:

    'step': the products of one training step (step_matmuls: forward, dW and dH_prev of each layer,
            with transposed views as in pynet) through pynet's own kernel core._matmul (np.dot
            natively, np.einsum in Pyodide), timed alone: flops / time, the same flops as
            flops_per_sample(dims) * batch. The training loop's share of this is what the rest of
            the step (activations, im2col and pooling, softmax, Adam, conversions, Python) costs.
    'dot', 'einsum': the first layer's forward product alone with each kernel.
    """
    step, flops = step_matmuls(dims, batch)
    _, F, K, per_sample = products(dims)[0]
    rng = np.random.default_rng(1)
    W1 = rng.standard_normal((F, K)).astype(np.float32)
    X = rng.random((K, per_sample * batch)).astype(np.float32)

    first = 2.0 * F * K * per_sample * batch
    return {"step": _rate(step, flops, reps, min_time),
            "dot": _rate(lambda: np.dot(W1, X), first, reps, min_time),
            "einsum": _rate(lambda: np.einsum("ij,jk->ik", W1, X), first, reps, min_time)}


def platform_info():
    return {"numpy": np.__version__, "python": sys.version.split()[0], "platform": sys.platform}
