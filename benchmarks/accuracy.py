"""Test accuracy that named recipes reach on MNIST, natively: a table of recipes run by name.

    python benchmarks/accuracy.py dense-augment        # one recipe
    python benchmarks/accuracy.py --list               # the recipes
    python benchmarks/accuracy.py --augment-cost       # ms to distort a batch of 128, natively
    python benchmarks/accuracy.py --augment-cost --pyodide   # and in Pyodide under Node (dist/ built)

Each recipe trains on the 50,000 training images (``pynet.data``'s full loader, the cached and
verified mnist.pkl.gz) and is evaluated on the 10,000 test images after every epoch. Printed per
epoch: test accuracy, seconds of training (evaluation not counted) and the load average, as
Markdown rows to paste into benchmarks/accuracy_results.md. One BLAS thread
(OPENBLAS_NUM_THREADS=1, set before NumPy loads, unless the environment sets it), as the tests do.

In Pyodide, the cost of augmentation is measured inside training: epochs of the same run with
and without it (benchmarks/pyodide_node.mjs's epoch_runs, on the site's small data set), their
difference per batch.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads OpenBLAS

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pynet import augment, data  # noqa: E402
from pynet.model import Network, TrainConfig  # noqa: E402

# name: (network dimensions, training settings). Another kind of network is one more row.
RECIPES = {
    "dense-augment": ([784, 800, 10], TrainConfig(epochs=20, batch_size=128, optimizer="adam", learning_rate=0.001,
                                                  schedule="cosine", seed=0, augment="affine")),
    "dense-elastic": ([784, 800, 10], TrainConfig(epochs=20, batch_size=128, optimizer="adam", learning_rate=0.001,
                                                  schedule="cosine", seed=0, augment="elastic")),
    "dense-plain": ([784, 800, 10], TrainConfig(epochs=20, batch_size=128, optimizer="adam", learning_rate=0.001,
                                                schedule="cosine", seed=0)),
}


def load():
    return "{:.2f} / {:.2f} / {:.2f}".format(*os.getloadavg())


def run(name, epochs=None):
    dims, config = RECIPES[name]
    if epochs:
        config = TrainConfig(**{**config.to_dict(), "epochs": epochs})
    (xtr, ytr), _, (xte, yte) = data.load_data()
    xtr, xte = data.to_uint8(xtr), data.to_uint8(xte)  # the files' pixels, as the page has them
    net = Network(dims, seed=config.seed, dtype="float32")
    print(f"## {name}: {'-'.join(map(str, dims))}, {config}\n")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}; NumPy {np.__version__}\n")
    print("| epoch | test accuracy | training s (epoch) | training s (total) | load average (1/5/15 min) |")
    print("|---:|---:|---:|---:|---|")
    start = time.perf_counter()
    last_train = 0.0
    best = 0.0
    for event in net.train(xtr.T, ytr, config, test=(xte.T, yte)):
        if event["type"] == "epoch":
            best = max(best, event["test_acc"])
            print(f"| {event['epoch']} | {event['test_acc']:.4f} | {event['train_s'] - last_train:.1f} | "
                  f"{event['train_s']:.1f} | {load()} |", flush=True)
            last_train = event["train_s"]
    total = time.perf_counter() - start
    print(f"\nbest test accuracy {best:.4f}; wall time {total:.1f} s with evaluation; load average at the end {load()}\n")


def augment_cost(repeat=50, m=128):
    """Milliseconds to distort a batch of m MNIST images, per kind."""
    (xtr, _), _, _ = data.load_data()
    X = data.to_uint8(xtr[:m]).T
    print("| kind | ms per batch of 128: median of rounds | fastest round | rounds | load average |")
    print("|---|---:|---:|---|---|")
    for kind in augment.AUGMENTATIONS[1:]:
        rounds = []
        for _ in range(7):
            augment.distort(X, kind, 0, 0, np.arange(m))
            t = time.perf_counter()
            for step in range(repeat):
                augment.distort(X, kind, 0, step, np.arange(m))
            rounds.append((time.perf_counter() - t) / repeat * 1000)
        print(f"| {kind} | {np.median(rounds):.2f} | {min(rounds):.2f} | {', '.join(f'{v:.2f}' for v in rounds)} | "
              f"{load()} |")


def augment_cost_pyodide(dims=(784, 128, 10), epochs=4):
    """Seconds per epoch in Pyodide under Node with each kind of augmentation, and the cost per
    batch of 128 that it adds to training (the median epoch's difference to "off")."""
    here = Path(__file__).resolve().parent
    batches = 40  # the small data set's 5,000 images in batches of 128
    runs = [{"name": kind, "dims": list(dims), "epochs": epochs, "flush": True,
             "config": {"epochs": epochs, "batch_size": 128, "learning_rate": 0.003, "augment": kind}}
            for kind in augment.AUGMENTATIONS]
    spec = {"recipes": [], "bare": False, "data": "small", "epoch_runs": runs}
    before = load()
    proc = subprocess.run(["node", str(here / "pyodide_node.mjs"), "--spec", json.dumps(spec)], cwd=here.parent,
                          capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"pyodide_node.mjs failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    medians = {r["name"]: float(np.median(r["seconds"][1:])) for r in result["epoch_runs"]}  # the first warms up
    print(f"Pyodide {result['pyodide']}, Node {result['node']}; {'-'.join(map(str, dims))}, batch 128, "
          f"{batches} batches an epoch; load average {before} before, {load()} after\n")
    print("| augment | s per epoch (median of epochs 2-) | epochs | ms added per batch of 128 |")
    print("|---|---:|---|---:|")
    for r in result["epoch_runs"]:
        added = (medians[r["name"]] - medians["off"]) / batches * 1000
        print(f"| {r['name']} | {medians[r['name']]:.3f} | {', '.join(f'{v:.3f}' for v in r['seconds'])} | "
              f"{'-' if r['name'] == 'off' else f'{added:.1f}'} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", nargs="?", choices=sorted(RECIPES))
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--augment-cost", action="store_true")
    parser.add_argument("--pyodide", action="store_true", help="with --augment-cost: in Pyodide under Node too")
    args = parser.parse_args()
    if args.list:
        for name, (dims, config) in RECIPES.items():
            print(name, "-".join(map(str, dims)), config)
    elif args.augment_cost:
        augment_cost()
        if args.pyodide:
            print()
            augment_cost_pyodide()
    elif args.recipe:
        run(args.recipe, args.epochs)
    else:
        parser.error("name a recipe, or give --list or --augment-cost")


if __name__ == "__main__":
    main()
