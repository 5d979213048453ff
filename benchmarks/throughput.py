"""Throughput measurements shared by benchmarks/run.py (native NumPy) and
benchmarks/pyodide_node.mjs (Pyodide's NumPy under Node): the same code runs in both places.

All times are wall clock (time.perf_counter); every number is a median over rounds.
"""

import sys
import time

import numpy as np

from pynet.model import Network, TrainConfig


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def flops_per_sample(dims):
    """6 flops per weight (forward, dW, dH_prev) minus the first layer's dH0 product."""
    weights = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    return 6 * weights - 2 * dims[0] * dims[1]


def train_rate(dims, X, y, batch, optimizer="adam", lr=0.003, n_batches=20, warm=3, rounds=3):
    """Samples/s of pynet's Network.train (float32) over n_batches batches after warm batches.

    X: (784, m) uint8, y: (m,) labels. A fresh network each round. Returns (median, all rounds).
    """
    rates = []
    epochs = max(2, (warm + n_batches) * batch // X.shape[1] + 2)
    cfg = TrainConfig(epochs=epochs, batch_size=batch, optimizer=optimizer, learning_rate=lr).validated()
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


def bare_rates(n_hidden, batch, reps=7, min_time=0.05):
    """GFLOPS of W1 (n_hidden, 784) x X (784, batch), float32, C-contiguous: {'dot', 'einsum'}.

    The forward product of the first layer, which dominates the step; einsum is the kernel pynet
    uses where NumPy has no BLAS (Pyodide), np.dot the one it uses natively.
    """
    rng = np.random.default_rng(0)
    W = rng.standard_normal((n_hidden, 784)).astype(np.float32)
    X = rng.random((784, batch)).astype(np.float32)
    kernels = {"dot": lambda: np.dot(W, X), "einsum": lambda: np.einsum("ij,jk->ik", W, X)}
    flops = 2.0 * n_hidden * 784 * batch
    out = {}
    for name, f in kernels.items():
        f()
        t = time.perf_counter(); n = 0
        while time.perf_counter() - t < 0.05:  # warm up (V8 tiers up hot wasm code)
            f(); n += 1
        inner = max(1, int(min_time / ((time.perf_counter() - t) / n)))
        samples = []
        for _ in range(reps):
            t = time.perf_counter()
            for _ in range(inner):
                f()
            samples.append((time.perf_counter() - t) / inner)
        out[name] = flops / median(samples) / 1e9
    return out


def platform_info():
    return {"numpy": np.__version__, "python": sys.version.split()[0], "platform": sys.platform}
