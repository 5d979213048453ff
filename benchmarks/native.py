"""Native training benchmarks for pynet; prints a Markdown table.

    python benchmarks/native.py            # all rows (about 3 minutes on 2 cores)
    python benchmarks/native.py --quick    # skip the seed's 2000-iteration recipe

Rows:
  * the default CLI recipe on the full 50,000 images: wall time of training to reach 87%,
    97% and 98% test accuracy (test evaluated after every epoch, not counted as training time);
  * a fast recipe on the seed's 5,000-image subset: time to 87% test accuracy;
  * the seed's own recipe (full-batch gradient descent, float64) for contrast;
  * the bare float32 matmul rate, to see what share of it the training loop achieves.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pynet import core, data  # noqa: E402
from pynet.settings import CLI_DEFAULT as DEFAULTS  # noqa: E402
from pynet.model import L_layer_model, Network, TrainConfig  # noqa: E402
from throughput import flops_per_sample  # noqa: E402  (benchmarks/throughput.py)

FAST_5K = {"dims": [784, 128, 10], "config": TrainConfig(epochs=3, batch_size=64, optimizer="adam", learning_rate=0.003)}


def matmul_gflops(n=784, m=128, k=512, repeat=200):
    a = np.random.rand(k, n).astype(np.float32)
    b = np.random.rand(n, m).astype(np.float32)
    a @ b
    start = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return 2 * n * m * k * repeat / (time.perf_counter() - start) / 1e9


def run(dims, config, train, test, targets):
    """Train; return ({target: training seconds to reach it}, final test accuracy, samples/s).

    Times are training time alone (the epoch events' train_s), without the evaluation passes.
    """
    net = Network(dims, seed=config.seed)
    reached, final, rate = {}, None, None
    for event in net.train(train[0].T, train[1], config, test=(test[0].T, test[1])):
        if event["type"] == "epoch":
            final, rate = event["test_acc"], event["samples_per_s"]
            for t in targets:
                if final >= t and t not in reached:
                    reached[t] = event["train_s"]
    return reached, final, rate


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    (xtr, ytr), _, (xte, yte) = data.load_data()
    rows = []
    gflops = matmul_gflops()

    dims = list(DEFAULTS["dims"])
    cfg = TrainConfig(epochs=DEFAULTS["epochs"], batch_size=DEFAULTS["batch_size"], optimizer=DEFAULTS["optimizer"],
                      learning_rate=DEFAULTS["learning_rate"], schedule=DEFAULTS["schedule"], l2=DEFAULTS["l2"]).validated()
    reached, final, rate = run(dims, cfg, (xtr, ytr), (xte, yte), (0.87, 0.97, 0.98))
    rows.append(("default `pynet train` recipe, 50k", dims, reached, final, rate))

    reached, final, rate = run(FAST_5K["dims"], FAST_5K["config"].validated(), (xtr[:5000], ytr[:5000]), (xte, yte), (0.87,))
    rows.append(("fast recipe, seed's 5k subset", FAST_5K["dims"], reached, final, rate))

    def fmt(x):
        return f"{x:.2f} s" if x is not None else "not reached"

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"NumPy {np.__version__}; bare float32 matmul {gflops:.0f} GFLOPS\n")
    print("| recipe | layers | to 87% test | to 97% | to 98% | final test acc | samples/s | share of matmul rate |")
    print("|---|---|---|---|---|---|---|---|")
    for name, dims_, reached, final, rate in rows:
        share = rate * flops_per_sample(dims_) / (gflops * 1e9)
        print(f"| {name} | {dims_} | {fmt(reached.get(0.87))} | {fmt(reached.get(0.97))} | {fmt(reached.get(0.98))} "
              f"| {final:.4f} | {rate:,.0f} | {share:.0%} |")

    if not args.quick:
        train_x, train_y, test_x, test_y = data.data_wrapper()
        X, Y = train_x[:, :5000], train_y[:, :5000]
        start = time.perf_counter()
        parameters = L_layer_model(X, Y, [784, 45, 10], 0.0075, 2000)
        elapsed = time.perf_counter() - start
        train_acc = core.accuracy(core.predict(X, Y, parameters), Y)
        test_acc = core.accuracy(core.predict(test_x, test_y, parameters), test_y)
        print(f"\nThe seed's recipe ([784, 45, 10], full-batch GD, lr 0.0075, 2000 iterations on 5,000 images, "
              f"float64): {elapsed:.1f} s, train accuracy {train_acc:.4f}, test (seed's validation split) {test_acc:.4f}")


if __name__ == "__main__":
    main()
