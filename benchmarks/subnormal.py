"""Per-epoch training time with and without pynet's flush of float32 subnormals (pynet/optim.py).

    .venv/bin/python benchmarks/subnormal.py [--native-epochs 8] [--node-epochs 24] [--node-hidden 128]
                                             [--rounds 1] [--no-native] [--no-node]

Native, one BLAS thread (OPENBLAS_NUM_THREADS=1, set here before NumPy loads): the CLI default
recipe (pynet/settings.py CLI_DEFAULT: 784-512-10, adam, cosine over 15 epochs, l2) on all 50,000
training images, its first epochs. In Pyodide under Node (benchmarks/pyodide_node.mjs, with the
site's dist/, built first): 784-128-10 (--node-hidden), adam, batch 128, the CLI's learning rate
held constant and its l2, on the first 10,000 training images: the blank pixels' weights turn
subnormal after about as many steps as in the CLI default (~1,400), at a quarter of the CLI
network's cost per step.
Runs alternate: without the flush, then with it (a second round: with, then without). Also
measured in both places: one flush's cost against a training step of the Fast preset (where
there is nothing to flush) and of the CLI default.
Prints a Markdown section and appends it to benchmarks/subnormal_results.md.
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before NumPy loads OpenBLAS

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "build"))
import make_site  # noqa: E402  (build/make_site.py)
import throughput as tp  # noqa: E402  (benchmarks/throughput.py)
from pynet import data, optim  # noqa: E402
from pynet.settings import CLI_DEFAULT, PRESETS  # noqa: E402
from pynet.trainer import TrainConfig  # noqa: E402

RESULTS = HERE / "subnormal_results.md"
CLI_CONFIG = {k: CLI_DEFAULT[k] for k in ("optimizer", "learning_rate", "epochs", "batch_size", "schedule", "l2")}
NODE_CONFIG = {**CLI_CONFIG, "schedule": "constant"}  # epochs: --node-epochs
NODE_TRAIN_SIZE = 10_000
FAST = PRESETS["fast"]
FAST_DIMS = [784, int(FAST["network"]), 10]
# a training step of each, timed to set a flush's cost against
STEP_RECIPES = [{"name": "fast", "dims": FAST_DIMS, "batch": FAST["batch_size"], "optimizer": FAST["optimizer"],
                 "lr": FAST["learning_rate"], "n_batches": 30, "rounds": 5},
                {"name": "cli", "dims": CLI_DEFAULT["dims"], "batch": CLI_DEFAULT["batch_size"],
                 "optimizer": CLI_DEFAULT["optimizer"], "lr": CLI_DEFAULT["learning_rate"], "n_batches": 12, "rounds": 3}]
# one flush of each (blank: the share of inputs whose weights and moments are already subnormal or 0)
FLUSH_CASES = [{"name": "fast", "recipe": "fast", "dims": FAST_DIMS, "blank": 0.0},
               {"name": "cli", "recipe": "cli", "dims": CLI_DEFAULT["dims"], "blank": 0.0},
               {"name": "cli, 12% blank pixels", "recipe": "cli", "dims": CLI_DEFAULT["dims"], "blank": 0.12}]


def log(msg):
    print(f"[subnormal {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load():
    return "{:.2f} / {:.2f} / {:.2f}".format(*os.getloadavg())


def order(rounds):
    """Flush off/on, alternating: off, on (round 1), on, off (round 2), ..."""
    return [flush for r in range(rounds) for flush in ((False, True) if r % 2 == 0 else (True, False))]


def run_native(epochs, rounds):
    (images, labels), _, _ = data.load_data()
    X = images.T
    config = TrainConfig(**CLI_CONFIG).validated()
    runs = []
    for flush in order(rounds):
        log(f"native: CLI default, {epochs} epochs, flush {'on' if flush else 'off'}; load {load()}")
        seconds, subnormals, losses = tp.epoch_seconds(CLI_DEFAULT["dims"], X, labels, config, epochs, flush)
        runs.append({"flush": flush, "seconds": seconds, "subnormals": subnormals, "losses": losses, "load": load()})
    rates = {r["name"]: tp.train_rate(r["dims"], X[:, :5000], labels[:5000], r["batch"], r["optimizer"], r["lr"],
                                      r["n_batches"], rounds=r["rounds"])[0] for r in STEP_RECIPES}
    costs = {c["name"]: tp.flush_seconds(c["dims"], c["blank"]) for c in FLUSH_CASES}
    return {"runs": runs, "samples_per_s": rates, "flush_cost": costs}


def run_node(epochs, rounds, dims):
    dist = make_site.DIST
    make_site.build(dist)
    spec = {"recipes": STEP_RECIPES, "bare": False, "data": "full", "train_size": NODE_TRAIN_SIZE,
            "epoch_runs": [{"name": f"flush {'on' if f else 'off'}", "dims": dims,
                            "config": {**NODE_CONFIG, "epochs": epochs},
                            "epochs": epochs, "flush": f} for f in order(rounds)],
            "flush_cost": [{"name": c["name"], "dims": c["dims"], "blank": c["blank"]} for c in FLUSH_CASES]}
    log(f"Pyodide under Node: {len(spec['epoch_runs'])} runs of {epochs} epochs; load {load()}")
    proc = subprocess.run(["node", str(HERE / "pyodide_node.mjs"), "--dist", str(dist), "--spec", json.dumps(spec)],
                          capture_output=True, text=True, timeout=3600)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            out = json.loads(line[7:])
            return {"runs": out["epoch_runs"],
                    "samples_per_s": {k: r["samples_per_s"] for k, r in out["recipes"].items()},
                    "flush_cost": out["flush_cost"], "pyodide": out["pyodide"], "node": out["node"]}
    raise RuntimeError(f"pyodide_node.mjs failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def epochs_table(runs):
    head = "| epoch | " + " | ".join(f"flush {'on' if r['flush'] else 'off'}: s | subnormal weights"
                                     for r in runs) + " |"
    rows = [head, "|---:|" + "---:|---:|" * len(runs)]
    for e in range(len(runs[0]["seconds"])):
        rows.append(f"| {e + 1} | " + " | ".join(f"{r['seconds'][e]:.2f} | {r['subnormals'][e]:,}" for r in runs) + " |")
    return rows


def summary(runs):
    lines = []
    for r in runs:
        s = r["seconds"]
        first3, last3 = tp.median(s[:3]), tp.median(s[-3:])
        lines.append(f"- flush {'on' if r['flush'] else 'off'}: first epoch {s[0]:.2f} s, last {s[-1]:.2f} s "
                     f"(last / first {s[-1] / s[0]:.2f}; median of the last 3 / of the first 3 {last3 / first3:.2f}); "
                     f"slowest {max(s):.2f} s, fastest {min(s):.2f} s; whole run {sum(s):.1f} s")
    off = [r["losses"] for r in runs if not r["flush"]]
    on = [r["losses"] for r in runs if r["flush"]]
    same = all(a == b for a in off for b in on)
    worst = max(abs(x - y) / abs(y) for a in off for b in on for x, y in zip(a, b))
    lines.append("- training loss of every epoch, flush on vs off: "
                 + ("identical to the last bit" if same else f"largest relative difference {worst:.1e}"))
    return lines


def cost_table(place, res):
    rows = [f"| {place}: what is flushed | one flush | per step (flush every {optim.FLUSH_EVERY} steps) | a training step | share |",
            "|---|---:|---:|---:|---:|"]
    for case in FLUSH_CASES:
        seconds = res["flush_cost"][case["name"]]
        recipe = next(r for r in STEP_RECIPES if r["name"] == case["recipe"])
        step = recipe["batch"] / res["samples_per_s"][recipe["name"]]
        rows.append(f"| {'-'.join(map(str, case['dims']))} {case['name']} (W, b, m, v) | {seconds * 1e3:.2f} ms | "
                    f"{seconds / optim.FLUSH_EVERY * 1e6:.1f} µs | {step * 1e3:.2f} ms | "
                    f"{seconds / optim.FLUSH_EVERY / step:.3%} |")
    return rows


def report(args, start_load, native, node, seconds):
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    out = [f"## {time.strftime('%Y-%m-%d %H:%M')}", "",
           f"Command: `.venv/bin/python benchmarks/subnormal.py {' '.join(sys.argv[1:])}`; run time {seconds:.0f} s.", "",
           f"Machine: {cpu}, {os.cpu_count()} cores, shared; load average at start {start_load} (1/5/15 min), "
           f"at the end {load()}. NumPy {np.__version__} (native, OPENBLAS_NUM_THREADS=1)"
           + (f"; Node {node['node']}, Pyodide {node['pyodide']}" if node else "") + ".", ""]
    if native:
        out += [f"### Native: CLI default ({'-'.join(map(str, CLI_DEFAULT['dims']))}, {CLI_CONFIG}) on 50,000 images, "
                f"first {args.native_epochs} epochs", "", *epochs_table(native["runs"]), "", *summary(native["runs"]),
                "- load average after each run: " + "; ".join(r["load"] for r in native["runs"]), "",
                *cost_table("native", native), ""]
    if node:
        dims, config = "-".join(map(str, node["runs"][0]["dims"])), dict(NODE_CONFIG, epochs=args.node_epochs)
        out += [f"### Pyodide under Node: {dims}, {config} on the first {NODE_TRAIN_SIZE:,} images, "
                f"{args.node_epochs} epochs", "", *epochs_table(node["runs"]), "",
                *summary(node["runs"]), "",
                *cost_table("Pyodide", node), ""]
    out += ["Subnormal weights: float32 parameters below 1.18e-38 in magnitude (not 0) after each epoch. "
            "One flush: optim.flush_subnormals over every W, b and Adam's m and v, median of 15 (12% blank "
            "pixels: 12% of the first layer's columns of W, m and v, at random, already subnormal or 0, as after "
            "the first flushes of a run with L2; a pessimistic layout, as blank pixels come in runs along the "
            "image's border). A training step: batch / the recipe's samples/s "
            "(throughput.train_rate, Adam, without L2, a few dozen batches of the first 5,000 images "
            "natively, of the 10,000 in Pyodide).", ""]
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--native-epochs", type=int, default=8)
    p.add_argument("--node-epochs", type=int, default=24)
    p.add_argument("--node-hidden", type=int, default=128, help="hidden units of the network trained in Pyodide")
    p.add_argument("--rounds", type=int, default=1, help="pairs of runs (off/on, then on/off, ...)")
    p.add_argument("--no-native", action="store_true")
    p.add_argument("--no-node", action="store_true")
    args = p.parse_args()
    start, start_load = time.perf_counter(), load()
    native = None if args.no_native else run_native(args.native_epochs, args.rounds)
    node = None if args.no_node else run_node(args.node_epochs, args.rounds, [784, args.node_hidden, 10])
    text = report(args, start_load, native, node, time.perf_counter() - start)
    print(text)
    with RESULTS.open("a") as f:
        f.write(("" if RESULTS.exists() and RESULTS.stat().st_size else
                 "# Flush of float32 subnormals: per-epoch training time with and without\n\n"
                 "Written by `benchmarks/subnormal.py` (issue 13, \"No slowdown over a run\").\n\n") + text + "\n")


if __name__ == "__main__":
    main()
