"""Recipes for the page's presets: what a recipe reaches on the test set for its budget of samples
(natively), and what a sample costs in WebAssembly (Pyodide under Node), each against the others.

    python benchmarks/recipes.py accuracy [NAME ...] [--seeds 0,1,2]   # final test accuracy per seed
    python benchmarks/recipes.py cost [NAME ...] [--reps 2]             # samples/s in Pyodide (dist/ built)
    python benchmarks/recipes.py --list

A recipe is the page's form (pynet/settings.py PRESETS' fields), checked by the page's own check
(pynet.page.form.check_config) and trained on the page's data file (mnist-full.npz, the uint8
images the site ships), as the page trains it: a fresh network from the recipe's seed, its
schedule spanning the whole run, so the accuracy at the end of a run is what its budget buys
(a shorter run is another recipe, not an earlier epoch of a longer one). The names are the
presets' (their current values) and the candidates below. Results: benchmarks/recipes_results.md.

The cost: each recipe's network and batch size trained in one Pyodide process
(benchmarks/pyodide_node.mjs, throughput.train_rate), the recipes in turn, then again in the
reverse order (--reps), so that a machine loaded by others weighs on each alike; printed are
samples/s and samples per CPU-second of the process (the second holds up better under load),
each as a ratio to the first recipe named. One BLAS thread natively, as the tests do.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads OpenBLAS

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "build"))
sys.path.insert(0, str(HERE))
from pynet.model import Network  # noqa: E402
from pynet.page.datasets import load_dataset, loaded_dataset  # noqa: E402
from pynet.page.form import check_config  # noqa: E402
from pynet.settings import PRESETS  # noqa: E402
from run import run_node  # noqa: E402  (benchmarks/run.py)

# Candidates the search tried (benchmarks/recipes_results.md), each a change of a preset's fields.
# "dense N, dense 10" is the dense network N wide with He-initialised weights (pynet.spec), as are
# conv networks; "N" alone gets the seed's weights (randn * 0.1).
_50K = {"activation": "relu", "optimizer": "adam", "train_size": 50000, "seed": 0, "dataset": "full",
        "schedule": "cosine"}
CANDIDATES = {
    # the presets before this search
    "minute-before": {**_50K, "network": "128", "learning_rate": 0.003, "epochs": 4, "batch_size": 128},
    "five-before": {**_50K, "network": "256, 128", "learning_rate": 0.002, "epochs": 8, "batch_size": 128},
    # dense only: the best found for 97% and for 98%
    "128-b128-100k": {**_50K, "network": "128", "learning_rate": 0.012, "epochs": 2, "batch_size": 128},
    "128-he-b64-80k": {**_50K, "network": "dense 128, dense 10", "learning_rate": 0.01, "epochs": 2,
                       "batch_size": 64, "train_size": 40000},
    "256-he-4ep": {**_50K, "network": "dense 256, dense 10", "learning_rate": 0.008, "epochs": 4, "batch_size": 128},
    # max-pooled to 14 x 14 first
    "pool-256": {**_50K, "network": "pool 2, dense 256, dense 10", "learning_rate": 0.012, "epochs": 2,
                 "batch_size": 128},
    # 4 x 4 patches, each read by 8 kernels (a conv layer whose stride is its kernel's size)
    "patch8-128-1ep": {**_50K, "network": "conv 8@4x4 stride 4, dense 128, dense 10", "learning_rate": 0.02,
                       "epochs": 1, "batch_size": 128},
    "patch8-256-3ep": {**_50K, "network": "conv 8@4x4 stride 4, dense 256, dense 10", "learning_rate": 0.01,
                       "epochs": 3, "batch_size": 128},
}
RECIPES = {**{name: recipe for name, recipe in PRESETS.items() if recipe["dataset"] == "full"}, **CANDIDATES}


def load():
    return "{:.2f} / {:.2f} / {:.2f}".format(*os.getloadavg())


def page_data():
    """The page's data file, mnist-full.npz, as the build makes it (build/make_site.py), loaded as
    the page loads it (the page's form checks that a recipe's data set is loaded)."""
    import make_site
    load_dataset("full", make_site.data_files()[1].read_bytes())
    return loaded_dataset("full")


def network_and_data(recipe, d):
    """The run's fresh network and its training images, as pynet/page/runs.py makes them."""
    plan, activation, _, train_size, tc = check_config(dict(recipe))
    net = Network(plan.dimensions if plan.dense_only else plan.text, hidden_activation=activation, seed=tc.seed,
                  dtype="float32")
    images, labels = d["train"]
    return net, np.ascontiguousarray(images[:train_size].T), labels[:train_size], tc


def accuracy(names, seeds):
    d = page_data()
    X_test, y_test = np.ascontiguousarray(d["test"][0].T), d["test"][1]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; load average {load()}\n")
    print("| recipe | network | batch | learning rate | samples | test accuracy at the end, per seed | mean | "
          "native s | load |")
    print("|---|---|---:|---:|---:|---|---:|---:|---|")
    for name in names:
        recipe, finals = RECIPES[name], []
        t = time.perf_counter()
        for seed in seeds:
            net, X, y, tc = network_and_data({**recipe, "seed": seed}, d)
            last = None
            for event in net.train(X, y, tc, test=(X_test, y_test)):
                if event["type"] == "epoch":
                    last = event["test_acc"]
            finals.append(last)
        print(f"| {name} | `{recipe['network']}` | {recipe['batch_size']} | {recipe['learning_rate']:g} | "
              f"{recipe['epochs'] * recipe['train_size']:,} | {', '.join(f'{a:.2%}' for a in finals)} | "
              f"{np.mean(finals):.2%} | {time.perf_counter() - t:.0f} | {load()} |", flush=True)


def cost(names, reps, samples=6000):
    d = page_data()
    order = []
    for k in range(reps):
        order += names if k % 2 == 0 else names[::-1]
    recipes = []
    for i, name in enumerate(order):
        net, _, _, tc = network_and_data(RECIPES[name], d)
        dims = net.spec if not net.spec.replace(",", "").isdigit() else net.dimensions
        recipes.append({"name": f"{name}#{i}", "dims": dims, "batch": tc.batch_size, "optimizer": tc.optimizer,
                        "lr": tc.learning_rate, "n_batches": max(10, samples // tc.batch_size), "warm": 3, "rounds": 1})
    spec = {"recipes": recipes, "bare": False, "data": "small"}
    before = load()
    result = run_node(HERE.parent / "dist", spec)
    runs = {}
    for key, r in result["recipes"].items():
        runs.setdefault(key.split("#")[0], []).append((r["samples_per_s"], r["samples_per_s"] / r["cpu_share"]))
    wall = {name: statistics.median(w for w, _ in v) for name, v in runs.items()}
    cpu = {name: statistics.median(c for _, c in v) for name, v in runs.items()}
    print(f"Pyodide {result['pyodide']}, Node {result['node']}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{reps} round{'s' if reps > 1 else ''} of {samples:,} samples each, alternated; load average {before} before, {load()} after\n")
    print(f"| recipe | network | batch | samples/s | ratio to {names[0]} | samples per CPU-s | ratio to {names[0]} |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in names:
        print(f"| {name} | `{RECIPES[name]['network']}` | {RECIPES[name]['batch_size']} | {wall[name]:,.0f} | "
              f"{wall[name] / wall[names[0]]:.2f} | {cpu[name]:,.0f} | {cpu[name] / cpu[names[0]]:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", choices=["accuracy", "cost"])
    parser.add_argument("names", nargs="*", metavar="NAME", help="recipes (default: all): " + ", ".join(RECIPES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    names = args.names or list(RECIPES)
    unknown = [name for name in names if name not in RECIPES]
    if unknown:
        parser.error(f"no recipe named {', '.join(unknown)}; the recipes: {', '.join(RECIPES)}")
    if args.list:
        for name, recipe in RECIPES.items():
            print(name, json.dumps(recipe))
    elif args.what == "accuracy":
        accuracy(names, [int(s) for s in args.seeds.split(",")])
    elif args.what == "cost":
        cost(names, args.reps)
    else:
        parser.error("say accuracy or cost, or give --list")


if __name__ == "__main__":
    main()
