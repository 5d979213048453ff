"""pynet's speed before and after a change, side by side in one run on this machine.

    .venv/bin/python benchmarks/before_after.py REF [--rounds 3] [--no-browser]

REF (a commit) is checked out into a temporary git worktree and its site built with its own
build script; the working tree's site is built with build/make_site.py. Then, alternating
before and after (before, after, after, before, ...), so that the machine's other work weighs
on both alike:
  1. native: Network.train samples/s of the Fast preset and the CLI default recipe, in a child
     process that imports the side's pynet (OPENBLAS_NUM_THREADS=1: the cores are shared);
  2. Pyodide under Node: the same, with the side's pynet wheel in the same Pyodide and NumPy
     (benchmarks/pyodide_node.mjs and throughput.py, the same measuring code for both sides);
  3. the page in headless Chromium, each side's own site: the Fast preset from click to the
     end of the run, and the samples/s the page shows.
Prints a Markdown table (medians, the after/before ratio, the load average) and writes it to
benchmarks/before_after_results.md.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import run as bench  # noqa: E402  (benchmarks/run.py: the recipes, Node and page helpers)

# The native child: the side's pynet first on the path, then this folder's throughput.py.
NATIVE_CHILD = """
import json, sys
sys.path[:0] = [{tree!r}, {here!r}]
import numpy as np
import pynet, throughput as tp
d = np.load({data!r}, allow_pickle=False)
X, y = np.ascontiguousarray(d["train_images"].T), d["train_labels"]
out = {{"pynet": pynet.__file__}}
for r in json.loads({recipes!r}):
    out[r["name"]] = tp.train_rate(r["dims"], X, y, r["batch"], r["optimizer"], r["lr"], n_batches=r["n"], rounds=3)[0]
print("RESULT " + json.dumps(out))
"""


def log(msg):
    print(f"[before/after {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def checkout(ref, where):
    """REF's tree in a temporary worktree, with the download cache linked in and its site built."""
    subprocess.run(["git", "worktree", "add", "--detach", str(where), ref], cwd=ROOT, check=True,
                   capture_output=True)
    if (ROOT / ".cache").exists():
        subprocess.run(["cp", "-al", str(ROOT / ".cache"), str(where / ".cache")], check=True)
    script = where / "build" / ("make_site.py" if (where / "build" / "make_site.py").exists() else "site.py")
    log(f"building {ref}'s site with its {script.name}")
    subprocess.run([sys.executable, str(script)], cwd=where, check=True, capture_output=True,
                   env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    return where


def native(tree, recs):
    recipes = json.dumps(recs)
    code = NATIVE_CHILD.format(tree=str(tree), here=str(HERE), data=str(ROOT / "dist" / "data" / "mnist-small.npz"),
                               recipes=recipes)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tempfile.gettempdir(),
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}, timeout=600)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            out = json.loads(line[7:])
            assert Path(out.pop("pynet")).resolve().is_relative_to(tree.resolve()), "the child imported another pynet"
            return out
    raise RuntimeError(f"native measurement failed:\n{proc.stderr[-3000:]}")


def node(dist, recs):
    spec = {**bench.node_spec(recs, seed_iterations=0), "bare": False}
    out = bench.run_node(dist, spec)
    return {name: r["samples_per_s"] for name, r in out["recipes"].items()}


def pages(dists, rounds, order):
    """The Fast preset in each side's page, alternating: {side: {'run_s': [...], 'speed': [...]}}."""
    from playwright.sync_api import sync_playwright
    site = bench.site_builder()
    out = {side: {"run_s": [], "speed": [], "test": []} for side in dists}
    servers = {side: site.serve_in_thread(dist=d, port=0, base="/pynet/", quiet=True) for side, d in dists.items()}
    with sync_playwright() as pw:
        browser = bench.launch(pw)
        opened = {}
        for side, server in servers.items():
            context, page, _ = bench.load_page(browser, server.url)
            page.evaluate(bench.INSTRUMENT)
            bench.wait_until(page, "window.pynet.warmedUp", timeout=60)
            opened[side] = (context, page)
        for k in range(rounds):
            for side in order(k):
                r = bench.train_run(opened[side][1], (87.0,), preset="fast")
                log(f"page, {side}: {r['seconds']:.2f} s, {r['speed']} samples/s, test {r['final_test']}%")
                out[side]["run_s"].append(r["seconds"])
                out[side]["speed"].append(r["speed"])
                out[side]["test"].append(r["final_test"])
        for context, _ in opened.values():
            context.close()
        browser.close()
    for server in servers.values():
        server.shutdown()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ref", help="the commit to compare with (before)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of each measurement (default 3)")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "before_after_results.md")
    args = parser.parse_args()
    started = time.time()
    load_start = os.getloadavg()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "pynet", "web"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    ref = subprocess.run(["git", "rev-parse", "--short", args.ref], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    log("building the working tree's site")
    subprocess.run([sys.executable, str(ROOT / "build" / "make_site.py")], cwd=ROOT, check=True, capture_output=True)
    tmp = Path(tempfile.mkdtemp(prefix="pynet-before-"))
    where = tmp / "tree"
    try:
        before = checkout(args.ref, where)
        trees = {"before": before, "after": ROOT}
        dists = {side: t / "dist" for side, t in trees.items()}
        wheels = {side: json.loads((d / "build.json").read_text())["pynet_wheel"] for side, d in dists.items()}
        shipped = {side: (dists[side] / w).read_bytes() for side, w in wheels.items()}
        if shipped["before"] == shipped["after"]:
            sys.exit("before_after.py: both sites ship the same pynet wheel: nothing to compare")
        recs = bench.recipes(ROOT / "dist")

        def order(k):  # before, after, after, before, ...
            return ("before", "after") if k % 2 == 0 else ("after", "before")

        results = {side: {"native": [], "node": []} for side in trees}
        for k in range(args.rounds):
            for side in order(k):
                log(f"round {k + 1}: native, {side}")
                results[side]["native"].append(native(trees[side], recs))
                log(f"round {k + 1}: Pyodide under Node, {side}")
                results[side]["node"].append(node(dists[side], recs))
        web = None if args.no_browser else pages(dists, args.rounds, order)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    def row(label, b, a, unit, higher_better=True):
        mb, ma = bench.med(b), bench.med(a)
        ratio = ma / mb if higher_better else mb / ma
        fmt = (lambda v: f"{v:,.0f}") if unit == "samples/s" else (lambda v: f"{v:.2f}")
        return (f"| {label} | {unit} | {fmt(mb)} ({', '.join(fmt(x) for x in b)}) | "
                f"{fmt(ma)} ({', '.join(fmt(x) for x in a)}) | {ratio:.3f} |")

    lines = [f"# pynet before and after: {ref} against {head}{' (with uncommitted changes)' if dirty else ''}, "
             f"{time.strftime('%Y-%m-%d %H:%M')}", "",
             f"Command: `.venv/bin/python benchmarks/before_after.py {args.ref} --rounds {args.rounds}`; "
             f"run time {time.time() - started:.0f} s. Machine: {bench.machine()['cpu']}, {os.cpu_count()} cores; "
             f"load average at start {load_start[0]:.2f} / {load_start[1]:.2f} / {load_start[2]:.2f}, "
             f"at the end {os.getloadavg()[0]:.2f}. Rounds alternate before, after, after, before, ...", "",
             "Speed ratio: after / before for samples/s, before / after for seconds (above 1: after is faster).", "",
             "| measurement | unit | before: median (rounds) | after: median (rounds) | speed ratio |",
             "|---|---|---:|---:|---:|"]
    for r in recs:
        for place, key in (("native, 1 thread", "native"), ("Pyodide, Node", "node")):
            lines.append(row(f"{r['label']}, {place}", [x[r["name"]] for x in results["before"][key]],
                             [x[r["name"]] for x in results["after"][key]], "samples/s"))
    if web:
        lines.append(row("Fast preset in the page (Chromium), #speed", web["before"]["speed"], web["after"]["speed"],
                         "samples/s"))
        lines.append(row("Fast preset in the page (Chromium), click to the run's end", web["before"]["run_s"],
                         web["after"]["run_s"], "s", higher_better=False))
        lines += ["", f"Final test accuracy of the page's Fast runs: before {web['before']['test']}, "
                      f"after {web['after']['test']}."]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
