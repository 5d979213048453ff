"""pynet and its peers in one run: TensorFlow.js in the same Chromium, scikit-learn and PyTorch natively.

    .venv/bin/python benchmarks/peers.py                # everything: 8 minutes at load 5, 14 at load 8 (2 cores)
    .venv/bin/python benchmarks/peers.py --quick        # no 97% runs, 2 rounds: about 5 minutes
    .venv/bin/python benchmarks/peers.py --no-browser   # the native side only

The peers' software is fetched by this command only, into .cache/peers/ (never into dist/ or web/):
TensorFlow.js 4.22.0 and its wasm backend by `npm ci` from benchmarks/peers/package-lock.json
(integrity hashes), scikit-learn by `pip install --require-hashes` from
benchmarks/peers/requirements.txt into a venv of its own. PyTorch is measured only where pynet's
venv can import it.

In the browser (one headless Chromium, benchmarks/peers/index.html): pynet's own worker from dist/
(started as the page starts it, warm-up included), TF.js with the wasm backend (SIMD, one thread)
and with the cpu backend, each in a Web Worker of its own, run one after the other in alternating
order, on the site's MNIST arrays: the Fast preset (784-128-10, Adam 0.003, batch 128, 2 epochs
of 5,000: samples/s, as pynet's page shows it), the 50,000 images to 97% test accuracy (wall time,
an evaluation of the validation and test sets after each epoch), and the small convnet of
pynet/spec.py (samples/s over a fixed number of batches). Natively: pynet, scikit-learn's
MLPClassifier and PyTorch (if installed), each round a fresh process per contender, one BLAS
thread for all, full epochs of the 50,000 images. Prints Markdown tables with each peer's ratio to
pynet and writes them to benchmarks/peers_results.md.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = HERE / "peers"
CACHE = ROOT / ".cache" / "peers"
sys.path.insert(0, str(HERE))
import run as bench  # noqa: E402  (benchmarks/run.py: machine, launch, log, med)
from pynet import data  # noqa: E402
from pynet.settings import PRESETS  # noqa: E402

BLAS_1 = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TFJS_FILES = {"tf.min.js": "tfjs/dist/tf.min.js", "tf-backend-wasm.min.js": "tfjs-backend-wasm/dist/tf-backend-wasm.min.js",
              "tfjs-backend-wasm.wasm": "tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
              "tfjs-backend-wasm-simd.wasm": "tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
              "tfjs-backend-wasm-threaded-simd.wasm": "tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm"}
CONV_SPEC = "conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10"
CONV_BATCHES, CONV_WARM = 8, 2  # the convnet's timed batches, after its warm-up batches (TF.js cpu: ~25 s a round)
NATIVE_RECIPES = [  # 784-h-10, Adam, batch 128, constant learning rate; the second: `pynet train`'s layers, lr and L2
    {"name": "784-128-10", "hidden": 128, "lr": 0.003, "l2": 0.0, "batch": 128},
    {"name": "784-512-10, L2 1e-4", "hidden": 512, "lr": 0.0015, "l2": 1e-4, "batch": 128},
]
TARGET = 0.97
RAW = CACHE / "last_run.json"  # the last run's measurements, for --report-only
MAX_EPOCHS_TO_TARGET = 8
log, med = bench.log, bench.med


def load():
    return os.getloadavg()


def fmt_load(x):
    return " / ".join(f"{v:.2f}" for v in x)


# ---- the peers' software, fetched by this command only ---------------------------------------


def fetch_tfjs():
    """npm ci of benchmarks/peers/package-lock.json into .cache/peers/npm (npm checks every
    package's integrity hash); returns the node_modules/@tensorflow folder."""
    where = CACHE / "npm"
    lock = (PEERS / "package-lock.json").read_bytes()
    done = where / "node_modules" / ".package-lock.json"
    if not done.exists() or (where / "package-lock.json").read_bytes() != lock:
        log("fetching TensorFlow.js (npm ci into .cache/peers/npm)")
        where.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(PEERS / name, where / name)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=where, check=True)
    tf = where / "node_modules" / "@tensorflow"
    for pkg in ("tfjs", "tfjs-backend-wasm"):
        version = json.loads((tf / pkg / "package.json").read_text())["version"]
        if version != "4.22.0":
            raise RuntimeError(f"@tensorflow/{pkg} is {version} in .cache/peers/npm, not 4.22.0")
    return tf


def fetch_sklearn():
    """A venv in .cache/peers/venv with benchmarks/peers/requirements.txt (pinned, hashes
    required); returns its Python."""
    venv = CACHE / "venv"
    python = venv / "bin" / "python"
    wanted = (PEERS / "requirements.txt").read_text()
    stamp = venv / "peers-requirements.txt"
    if not python.exists() or not stamp.exists() or stamp.read_text() != wanted:
        log("fetching scikit-learn (pip install --require-hashes into .cache/peers/venv)")
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes", "-r",
                        str(PEERS / "requirements.txt")], check=True)
        stamp.write_text(wanted)
    return python


def torch_python():
    """pynet's venv Python if it can import torch, else None (PyTorch is not fetched)."""
    ok = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0
    return sys.executable if ok else None


# ---- native -----------------------------------------------------------------------------------


def run_native(dist, rounds, epochs, sklearn_python):
    """Each round, each recipe: every contender in a fresh process, in an order rotated by round."""
    tmp = Path(tempfile.mkdtemp(prefix="pynet-peers-native-"))
    try:
        images, labels = data.load_npz(dist / "data" / "mnist-full.npz")["train"]
        np.save(tmp / "train-x.npy", images)
        np.save(tmp / "train-y.npy", labels)
        pythons = {"pynet": sys.executable, "sklearn": str(sklearn_python), "torch": torch_python()}
        present = [c for c in ("pynet", "sklearn", "torch") if pythons[c]]
        out = {"load_start": load(), "runs": [], "missing": [c for c in pythons if not pythons[c]], "versions": {}}
        env = {**os.environ, **BLAS_1}
        for r in range(rounds):
            for recipe in NATIVE_RECIPES:
                order = present[r % len(present):] + present[:r % len(present)]
                for c in order:
                    rec = {**recipe, "epochs": epochs}
                    proc = subprocess.run([pythons[c], str(PEERS / "native_child.py"), c, json.dumps(rec), str(tmp)],
                                          capture_output=True, text=True, env=env, timeout=600)
                    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
                    if not line:
                        raise RuntimeError(f"native {c} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
                    res = json.loads(line[0][7:])
                    out["versions"][c] = res["versions"]
                    rate = res["samples"] * len(res["seconds"]) / sum(res["seconds"])
                    out["runs"].append({"round": r, "recipe": recipe["name"], "contender": c, "samples_per_s": rate,
                                        "epoch_s": res["seconds"]})
                    log(f"native round {r + 1}/{rounds} {recipe['name']} {c}: {rate:,.0f} samples/s "
                        f"(load {load()[0]:.2f})")
        out["load_end"] = load()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- the browser ------------------------------------------------------------------------------


def write_arrays(dist, folder):
    """The site's data sets as raw uint8 files for TF.js: {name}-{split}-x.u8 (n, 784), -y.u8 (n,)."""
    folder.mkdir()
    for name in ("small", "full"):
        for split, (images, labels) in data.load_npz(dist / "data" / f"mnist-{name}.npz").items():
            (folder / f"{name}-{split}-x.u8").write_bytes(np.ascontiguousarray(images, np.uint8).tobytes())
            (folder / f"{name}-{split}-y.u8").write_bytes(np.ascontiguousarray(labels, np.uint8).tobytes())


def bench_site(dist, tf, tmp):
    """dist/ (pynet's worker, client, Pyodide, wheels, data) plus the peers' page, workers, TF.js
    from the npm cache and the arrays, in one folder served like the site."""
    own = ("index.html", "peers.mjs", "tfjs_worker.js", "pynet_conv_worker.mjs")
    for entry in dist.iterdir():
        if entry.name not in own:  # a link to dist's index.html would be overwritten through it
            (tmp / entry.name).symlink_to(entry)
    for name in own:
        shutil.copy(PEERS / name, tmp / name)
    shutil.copy(HERE / "throughput.py", tmp / "throughput.py")
    (tmp / "tfjs").mkdir()
    for name, rel in TFJS_FILES.items():
        (tmp / "tfjs" / name).symlink_to(tf / rel)
    write_arrays(dist, tmp / "peers-data")


def browser_recipes(quick):
    fast = PRESETS["fast"]
    dense = {"kind": "dense", "hidden": int(fast["network"]), "learningRate": fast["learning_rate"],
             "batchSize": fast["batch_size"]}
    full = {**fast, "dataset": "full", "train_size": 50000, "epochs": MAX_EPOCHS_TO_TARGET}
    jobs = [
        {"name": "fast", "label": "Fast preset: 784-128-10, Adam 0.003, batch 128, 2 epochs of 5,000", "unit": "samples/s",
         "job": "fit", "contenders": ["pynet", "tfjs-wasm", "tfjs-cpu"],
         "pynet": {"config": dict(fast)},
         "tfjs": {**dense, "epochs": fast["epochs"], "trainSize": fast["train_size"], "dataset": "small"}},
        {"name": "conv", "label": f"convnet `{CONV_SPEC}`, Adam 0.003, batch 128, {CONV_BATCHES} batches after {CONV_WARM}", "unit": "samples/s",
         "job": "batches", "contenders": ["pynet-conv", "tfjs-wasm", "tfjs-cpu"],
         "pynet-conv": {"spec": CONV_SPEC, "batchSize": 128, "learningRate": 0.003, "batches": CONV_BATCHES, "warm": CONV_WARM},
         "tfjs": {"kind": "conv", "learningRate": 0.003, "batchSize": 128, "batches": CONV_BATCHES, "warm": CONV_WARM,
                  "dataset": "small"}},
    ]
    if not quick:
        jobs.append(
            {"name": "to97", "label": "50,000 images, 784-128-10, Adam 0.003, batch 128: to 97% test accuracy",
             "unit": "s", "job": "to_target", "contenders": ["pynet", "tfjs-wasm"],
             "pynet": {"config": full, "target": TARGET},
             "tfjs": {**dense, "epochs": MAX_EPOCHS_TO_TARGET, "dataset": "full", "target": TARGET}})
    return jobs


def run_browser(dist, tf, rounds, quick):
    from playwright.sync_api import Error as PlaywrightError, sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="pynet-peers-page-"))
    out = {"load_start": load(), "runs": [], "init": {}}
    try:
        bench_site(dist, tf, tmp)
        server = bench.site_builder().serve_in_thread(dist=tmp, port=0, base="/peers/", quiet=True)
        try:
            with sync_playwright() as pw:
                browser = bench.launch(pw)
                out["chromium"] = browser.version
                page = browser.new_page()
                page.on("console", lambda m: m.type in ("error", "warning") and log(f"console {m.type}: {m.text}"))
                page.goto(server.url + "index.html")
                bench.wait_until(page, "window.peers !== undefined", timeout=30)
                jobs = browser_recipes(quick)
                names = sorted({c for j in jobs for c in j["contenders"]}, key=lambda c: (c != "pynet", c))
                for name in names:
                    log(f"browser: starting {name}")
                    out["init"][name] = page.evaluate("(n) => window.peers.init(n)", name)
                for name in names:
                    if name != "pynet-conv":
                        page.evaluate("(n) => window.peers.load(n, 'small')", name)
                    if not quick and name in ("pynet", "tfjs-wasm"):
                        page.evaluate("(n) => window.peers.load(n, 'full')", name)
                for name in ("tfjs-wasm", "tfjs-cpu"):  # as pynet's worker warms up after its start
                    page.evaluate("([n, r]) => window.peers.run(n, 'fit', r)",
                                  [name, {**jobs[0]["tfjs"], "trainSize": 1280, "epochs": 1}])
                unable = {}  # (job, contender) -> why it cannot run that recipe (a TF.js backend without a kernel)
                for name in jobs[1]["contenders"]:
                    r = jobs[1]["pynet-conv"] if name == "pynet-conv" else jobs[1]["tfjs"]
                    try:
                        page.evaluate("([n, r]) => window.peers.run(n, 'batches', r)", [name, {**r, "batches": 2}])
                    except PlaywrightError as e:
                        why = str(e).split("\n")[0].removeprefix("Page.evaluate: ")
                        while why.startswith("Error: "):
                            why = why.removeprefix("Error: ")
                        unable[("conv", name)] = why
                        log(f"browser: {name} cannot train the convnet: {unable[('conv', name)]}")
                for job in jobs:
                    cs = job["contenders"]
                    for r in range(rounds):
                        for c in cs[r % len(cs):] + cs[:r % len(cs)]:
                            if (job["name"], c) in unable:
                                continue
                            recipe = job.get(c) or job["tfjs"]
                            if c == "pynet" and job["name"] == "to97":
                                recipe = {**recipe, "config": {**recipe["config"], "seed": r}}
                            res = page.evaluate("([n, j, r]) => window.peers.run(n, j, r)", [c, job["job"], recipe])
                            out["runs"].append({"job": job["name"], "round": r, "contender": c, **res})
                            shown = (f"{res['seconds_to_target']:.1f} s to 97% ({res['epochs']} epochs)"
                                     if job["name"] == "to97" and res.get("seconds_to_target") is not None
                                     else f"{res['samples_per_s']:,.0f} samples/s")
                            log(f"browser {job['name']} round {r + 1}/{rounds} {c}: {shown} (load {load()[0]:.2f})")
                out["jobs"] = [{k: j[k] for k in ("name", "label", "unit", "contenders")} for j in jobs]
                out["unable"] = [{"job": j, "contender": c, "why": why} for (j, c), why in unable.items()]
                browser.close()
        finally:
            server.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["load_end"] = load()
    return out


# ---- report -----------------------------------------------------------------------------------

NAMES = {"pynet": "pynet (the page's worker)", "pynet-conv": "pynet (Pyodide in a Web Worker)",
         "tfjs-wasm": "TF.js 4.22 wasm (SIMD, 1 thread)", "tfjs-cpu": "TF.js 4.22 cpu",
         "sklearn": "scikit-learn MLPClassifier", "torch": "PyTorch CPU (1 thread)"}


def value(job, run):
    if job == "to97":
        return run.get("seconds_to_target") if run.get("reached") else None
    return run["samples_per_s"]


def table(p, rows, job, unit, ours, runs_of, extra=lambda c, xs: "", unable=None, names=NAMES):
    """Rows of one recipe: median and best of the rounds, the peer/pynet ratio of medians."""
    lower_better = unit == "s"
    base = med([value(job, x) for x in runs_of(ours)])
    for k, c in enumerate(rows):
        label = rows[c] if k == 0 else ""  # the recipe once, on its first row
        xs = runs_of(c)
        vals = [value(job, x) for x in xs]
        ok = [v for v in vals if v is not None]
        if unable and c in unable:
            p(f"| {label} | {names[c]} | cannot train it | | | {unable[c]} |")
            continue
        if not ok:
            p(f"| {label} | {names[c]} | not reached | | | {extra(c, xs)} |")
            continue
        m = med(ok)
        best = min(ok) if lower_better else max(ok)
        ratio = "1" if c == ours else (f"{m / base:.2f}" if base else "–")
        f = (lambda v: f"{v:.1f} s") if lower_better else (lambda v: f"{v:,.0f}")
        p(f"| {label} | {names[c]} | {f(m)} | {f(best)} | {ratio} | {', '.join(f(v) if v else '–' for v in vals)}"
          f"{extra(c, xs)} |")


SUMMARY_COLUMNS = ["tfjs-wasm", "tfjs-cpu", "sklearn", "torch"]


def summary(p, nat, web):
    """One table: each recipe's median for pynet and for each peer, with the peer/pynet ratio."""
    rows = []  # (recipe, unit, pynet's runs, {peer: runs or a reason})
    if web:
        for job in web["jobs"]:
            runs = [x for x in web["runs"] if x["job"] == job["name"]]
            ours, peers = job["contenders"][0], job["contenders"][1:]
            unable = {u["contender"]: u["why"] for u in web["unable"] if u["job"] == job["name"]}
            name = {"fast": "browser: Fast preset (784-128-10, 2 epochs of 5,000), samples/s",
                    "to97": "browser: 50,000 images to 97% test accuracy, seconds",
                    "conv": "browser: the small convnet, samples/s"}[job["name"]]
            cells = {c: f"cannot train it: {unable[c]}" if c in unable
                     else [value(job["name"], x) for x in runs if x["contender"] == c] for c in peers}
            rows.append((name, job["unit"], [value(job["name"], x) for x in runs if x["contender"] == ours], cells))
    if nat:
        for recipe in NATIVE_RECIPES:
            runs = [x for x in nat["runs"] if x["recipe"] == recipe["name"]]
            cells = {c: "not installed" if c in nat["missing"] else [x["samples_per_s"] for x in runs if x["contender"] == c]
                     for c in ("sklearn", "torch")}
            rows.append((f"native, 1 thread: {recipe['name']} on 50,000, samples/s", "samples/s",
                         [x["samples_per_s"] for x in runs if x["contender"] == "pynet"], cells))
    p("| recipe | pynet | " + " | ".join(NAMES[c] for c in SUMMARY_COLUMNS) + " |")
    p("|---|---:|" + "---:|" * len(SUMMARY_COLUMNS))
    for name, unit, ours, cells in rows:
        f = (lambda v: f"{v:.1f} s") if unit == "s" else (lambda v: f"{v:,.0f}")
        base = med(ours)
        out = []
        for c in SUMMARY_COLUMNS:
            cell = cells.get(c)
            if cell is None:
                out.append("")
            elif isinstance(cell, str):
                out.append(cell)
            elif med(cell) is None:
                out.append("not reached")
            else:
                out.append(f"{f(med(cell))} ({med(cell) / base:.2f}×)")
        p(f"| {name} | {f(base) if base else '–'} | " + " | ".join(out) + " |")
    p("\nMedians; in brackets the peer's median over pynet's.\n")


def report(run):
    """The Markdown report of a run's measurements (the dict main saves as RAW)."""
    m, nat, web = run["machine"], run["native"], run["browser"]
    L = []
    p = L.append
    p(f"# pynet and its peers, {run['date']} UTC\n")
    p(f"Command: `.venv/bin/python benchmarks/peers.py{run['options']}`; run time {run['seconds']:.0f} s.\n")
    p(f"Machine: {m['cpu']}, {m['cores']} cores; load average (1/5/15 min) {fmt_load(m['load'])} at the start, "
      f"{fmt_load(run['load_end'])} at the end. Python {m['python']}, NumPy {m['numpy']}; Node {m['node']}.\n")
    p("Wall-clock numbers on a 2-core machine: median and best of the rounds, each contender in turn, the order "
      "rotated every round. peer/pynet: the ratio of the medians (for samples/s above 1 means faster than pynet; "
      "for seconds above 1 means slower).\n")
    summary(p, nat, web)
    if web:
        init = web["init"]
        tw = init.get("tfjs-wasm", {})
        p(f"## In the browser: headless Chromium {web['chromium']}, each contender in its own Web Worker\n")
        p(f"Load average {fmt_load(web['load_start'])} at the start of this part, {fmt_load(web['load_end'])} at its "
          f"end. TF.js {tw.get('tfjs')}: wasm backend with SIMD {tw.get('simd')}, threads "
          f"{tw.get('threads')} (multithread support {tw.get('multithread')}; the page is not cross-origin "
          f"isolated); pynet: the site's worker.js from dist/, Pyodide 0.27.7 (JSPI off, as in the site).\n")
        p("| recipe | contender | median | best | peer/pynet | rounds |")
        p("|---|---|---:|---:|---:|---|")
        for job in web["jobs"]:
            runs = [x for x in web["runs"] if x["job"] == job["name"]]
            rows = {c: f"{job['label']} ({job['unit']})" for c in job["contenders"]}

            def epochs(c, xs):
                return "; epochs " + ", ".join(str(x.get("epochs")) for x in xs) if job["name"] == "to97" else ""

            unable = {u["contender"]: u["why"] for u in web["unable"] if u["job"] == job["name"]}
            table(p, rows, job["name"], job["unit"], job["contenders"][0],
                  lambda c: [x for x in runs if x["contender"] == c], epochs, unable)
        p("")
        p("How each is timed. Fast preset: pynet's number is the page's Samples/s stat at the end of the run (the "
          "trainer's samples / its training time, evaluations excluded, first batches included), from the "
          "worker's last progress message; TF.js: `model.fit` on the same 5,000 images (2 epochs, batch 128, "
          "shuffled) timed around the call, samples / seconds. To 97%: from the request to the end of the first "
          "evaluation at or above 97% on the 10,000 test images (the page's clock: for pynet from the train request to "
          "the progress message carrying that epoch, for TF.js from the request to its answer), both evaluating "
          "the 10,000 validation and 10,000 test images after every epoch of 50,000, both with the data set "
          "already loaded; pynet's seed is the round number, TF.js's initialisation random. The TF.js cpu backend "
          f"is left out of the 97% run (several minutes a round). Convnet: samples/s over {CONV_BATCHES} batches of 128 "
          f"after {CONV_WARM} warm-up batches of a fresh network, on the 5,000 images: pynet by benchmarks/throughput.py in "
          "Pyodide in a Web Worker (the page's form takes layer sizes only), TF.js with `model.fit` timed by "
          "`onBatchEnd`. Before the rounds, TF.js trains one epoch of 1,280 images on each backend and every "
          "convnet contender 2 batches, as pynet's page warms its worker up after start-up.\n")
        if any("Conv2DBackpropFilter" in u["why"] for u in web["unable"]):
            p("TF.js's wasm backend has no kernel for the gradient of a convolution's filters (Conv2DBackpropFilter; "
              "open issue tensorflow/tfjs#8474): it runs a trained convnet but cannot train one.\n")
    if nat:
        p("## Natively: one BLAS thread for all, a fresh process per contender and round\n")
        miss = ", ".join(NAMES[c] for c in nat["missing"])
        vers = "; ".join(f"{c}: " + ", ".join(f"{k} {v}" for k, v in d.items()) for c, d in nat["versions"].items())
        p(f"Load average {fmt_load(nat['load_start'])} at the start of this part, {fmt_load(nat['load_end'])} at its "
          f"end. Versions: {vers}. {(miss + ': not installed (not measured).') if miss else ''}\n")
        p("| recipe | contender | median | best | peer/pynet | rounds |")
        p("|---|---|---:|---:|---:|---|")
        for recipe in NATIVE_RECIPES:
            runs = [x for x in nat["runs"] if x["recipe"] == recipe["name"]]
            label = f"{recipe['name']}, Adam {recipe['lr']}, batch 128, 50,000 images (samples/s)"
            rows = {c: label for c in ("pynet", "sklearn", "torch") if c not in nat["missing"]}
            table(p, rows, "native", "samples/s", "pynet", lambda c: [x for x in runs if x["contender"] == c],
                  names={**NAMES, "pynet": "pynet (`Network.train`)"})
            for c in nat["missing"]:
                p(f"| | {NAMES[c]} | not installed | | | |")
        p("")
        p(f"Each process trains full epochs ({run['epochs']}) of the 50,000 images (shuffled, batch 128) and reports "
          "samples / the epochs' seconds; OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1 for every process "
          "(and torch.set_num_threads(1)). pynet: `Network.train` as `pynet train` runs it (uint8 images, "
          "converted batch by batch; its flush of float32 subnormals on). scikit-learn: `MLPClassifier(solver="
          "'adam', batch_size=128, learning_rate_init=lr, alpha=l2·128)`, one `partial_fit` (one shuffled pass) "
          "per epoch, on float32 pixels scaled once before the clock starts; its alpha is divided by the batch "
          "size in the gradient, so alpha = l2·128 is pynet's L2. Both use the same NumPy and OpenBLAS. "
          "The learning rate is constant for all (`pynet train` decays it by a cosine; no speed difference).\n")
    return "\n".join(L)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="no 97%% runs, 2 rounds")
    parser.add_argument("--rounds", type=int, help="browser rounds (default 3, --quick 2); native: 2 more")
    parser.add_argument("--epochs", type=int, default=3, help="native epochs per process (default 3)")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--no-build", action="store_true", help="use dist as it is")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-native", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "peers_results.md")
    parser.add_argument("--report-only", action="store_true", help=f"write the report of the last run again ({RAW})")
    args = parser.parse_args()
    if args.report_only:
        text = report(json.loads(RAW.read_text()))
        print(text)
        args.out.write_text(text + "\n")
        return
    started = time.monotonic()
    m = bench.machine()
    log(f"load average at start: {fmt_load(m['load'])}")
    rounds = args.rounds or (2 if args.quick else 3)
    tf = None if args.no_browser else fetch_tfjs()
    sk = None if args.no_native else fetch_sklearn()
    if not args.no_build:
        bench.site_builder().build(args.dist)
    nat = None if args.no_native else run_native(args.dist, rounds + 2, args.epochs, sk)
    web = None if args.no_browser else run_browser(args.dist, tf, rounds, args.quick)
    options = "".join(f" --{k.replace('_', '-')}" for k in ("quick", "no_browser", "no_native") if getattr(args, k))
    options += f" --rounds {args.rounds}" if args.rounds else ""
    options += f" --epochs {args.epochs}" if args.epochs != 3 else ""
    run = {"date": time.strftime("%Y-%m-%d %H:%M"), "options": options, "seconds": time.monotonic() - started,
           "load_end": load(), "machine": m, "native": nat, "browser": web, "epochs": args.epochs}
    RAW.parent.mkdir(parents=True, exist_ok=True)
    RAW.write_text(json.dumps(run, indent=1))
    text = report(run)
    print(text)
    args.out.write_text(text + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
