"""pynet speed, side by side in one run: native NumPy, Pyodide under Node, the page in Chromium.

    .venv/bin/python benchmarks/run.py            # everything (about 3-4 minutes on 2 busy cores)
    .venv/bin/python benchmarks/run.py --quick    # skip the long rows (97% run, 2-process scaling): ~2.5 min

Builds dist/ (incrementally, with build/make_site.py), then measures, in this order:
  1. native pynet (float32, this venv's NumPy + BLAS): Network.train samples/s of the recipes,
     the bare matmul rate (benchmarks/native.py's matmul_gflops, plus np.dot of the recipe's
     first-layer shape), the seed's full-batch iteration;
  2. pynet in Pyodide under Node (benchmarks/pyodide_node.mjs: the site's Pyodide, NumPy and
     pynet wheel): the same measurements, with the same code (benchmarks/throughput.py);
  3. the Node measurements again in a blank Chromium page (Chromium's V8), then
     the page in headless Chromium (Playwright), served under /pynet/ like GitHub Pages: time to
     Ready, first prediction latency of a mouse-drawn stroke, the samples/s the page shows, wall
     time from clicking Train to 87% and 97% test accuracy, the seed recipe's iteration time;
  4. (not with --quick) two Pyodide-under-Node processes training at once vs one.
Prints a Markdown report and writes it to benchmarks/results.md.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import native  # noqa: E402  (benchmarks/native.py)
import throughput as tp  # noqa: E402
from e2e_helpers import CHROMIUM_ARGS, SYSTEM_CHROMIUM, site_builder, wait_until  # noqa: E402  (tests/e2e/e2e_helpers.py)
from pynet import data  # noqa: E402
from pynet.settings import PRESETS  # noqa: E402

NODE_RECIPE_DEFAULTS = {"n_batches": 30, "warm": 3, "rounds": 5}
LENET = "conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10"  # the LeNet-like spec (pynet/spec.py)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---- recipes ------------------------------------------------------------------------------


def fast_preset(dist):
    """The page's Fast preset (pynet/settings.py), its values as the form shows them."""
    return {k: str(v) for k, v in PRESETS["fast"].items()}


def recipes(dist):
    p = fast_preset(dist)
    fast = {"name": "fast", "label": f"Fast preset: 784-{p['network'].replace(',', '-').replace(' ', '')}-10 "
                                     f"{p['optimizer']}, batch {p['batch_size']}",
            "dims": [784] + [int(h) for h in p["network"].split(",")] + [10], "batch": int(p["batch_size"]),
            "optimizer": p["optimizer"], "lr": float(p["learning_rate"]), "n": 60, "n_node": 30}
    cli = {"name": "cli", "label": "CLI default: 784-512-10 adam, batch 128", "dims": [784, 512, 10], "batch": 128,
           "optimizer": "adam", "lr": 0.0015, "n": 30, "n_node": 12}
    conv = {"name": "conv", "label": f"conv: {LENET}, adam, batch 128", "dims": LENET, "batch": 128,
            "optimizer": "adam", "lr": 0.001, "n": 30, "n_node": 12}
    return [fast, cli, conv]


# ---- machine ------------------------------------------------------------------------------


def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "node": node, "python": platform.python_version(),
            "numpy": np.__version__, "load": os.getloadavg()}


# ---- 1. native ----------------------------------------------------------------------------


def run_native(recs, dist, quick):
    d = data.load_npz(dist / "data" / "mnist-small.npz")
    images, labels = d["train"]
    X, y = np.ascontiguousarray(images.T), labels
    out = {"matmul_gflops": med([native.matmul_gflops() for _ in range(3)]), "recipes": {}, "bare": {}}
    for r in recs:
        rate, rounds, bares, shares = tp.train_rate(r["dims"], X, y, r["batch"], r["optimizer"], r["lr"], n_batches=r["n"],
                                                    rounds=5, bare=True)
        out["recipes"][r["name"]] = {"samples_per_s": rate, "rounds": rounds, "bare_step": bares, "shares": shares}
        out["bare"][r["name"]] = tp.bare_rates(r["dims"], r["batch"])
    out["seed_iteration_s"], _ = tp.full_batch_iteration_s([784, 45, 10], X, y, iterations=5)
    return out


def native_subprocess(dist, env):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--native-json", "--dist", str(dist)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env}, timeout=300)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            out = json.loads(line[7:])
            out["env"] = env
            return out
    raise RuntimeError(f"native measurements failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


# ---- 2. Pyodide under Node ----------------------------------------------------------------


def node_spec(recs, seed_iterations=4):
    return {"recipes": [{**NODE_RECIPE_DEFAULTS, **{k: r[k] for k in ("name", "dims", "batch", "optimizer", "lr")},
                         "n_batches": r["n_node"]} for r in recs],
            "bare": True, "seed_iterations": seed_iterations}


def start_node(dist, spec, barrier=None):
    cmd = ["node", str(HERE / "pyodide_node.mjs"), "--dist", str(dist), "--spec", json.dumps(spec)]
    if barrier:
        cmd += ["--barrier", barrier]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_node(proc, timeout=400):
    out, err = proc.communicate(timeout=timeout)
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"pyodide_node.mjs failed ({proc.returncode}):\n{err[-3000:]}")


def run_node(dist, spec):
    return finish_node(start_node(dist, spec))


SCALING_PLAN = [[0], [0, 1], [1], [0, 1], [0], [0, 1], [1]]


def run_scaling(dist, recs):
    """Two Pyodide-under-Node processes, each loaded once, alternating phases (barriers between
    them): one process training alone, then both at once, and so on (SCALING_PLAN), so that
    the other jobs on the machine weigh on both cases alike."""
    spec = {**node_spec(recs, seed_iterations=0), "bare": False}
    barrier = Path(tempfile.mkdtemp(prefix="pynet-bench-barrier-"))
    try:
        procs = []
        for rank in range(2):
            cmd = ["node", str(HERE / "pyodide_node.mjs"), "--dist", str(dist), "--spec", json.dumps(spec),
                   "--barrier", f"{barrier}:2", "--plan", json.dumps(SCALING_PLAN), "--rank", str(rank)]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        results = [finish_node(p) for p in procs]
    finally:
        shutil.rmtree(barrier, ignore_errors=True)
    return [x for r in results for x in r["results"]]


# ---- 3. the page in Chromium ----------------------------------------------------------------

INSTRUMENT = """(() => {
  if (window.__bench) return true;
  const b = window.__bench = { ups: [], pred: [], test: [], clicks: [] };
  const $ = (id) => document.getElementById(id);
  $('draw').addEventListener('pointerup', () => b.ups.push(performance.now()), true);
  $('train').addEventListener('click', () => b.clicks.push(performance.now()), true);
  new MutationObserver(() => b.pred.push([performance.now(), $('prediction').textContent.trim()]))
    .observe($('prediction'), { childList: true, characterData: true, subtree: true });
  new MutationObserver(() => b.test.push([performance.now(), $('test-acc').textContent.trim()]))
    .observe($('test-acc'), { childList: true, characterData: true, subtree: true });
  return true;
})()"""

FORM_IDS = {"network": "#network", "learning_rate": "#lr", "epochs": "#epochs", "batch_size": "#batch",
            "train_size": "#train-size", "seed": "#seed"}


def number(text):
    try:
        return float(text.replace(",", "").replace("%", "").strip())
    except (AttributeError, ValueError):
        return None


def stroke_one(page):
    """A '1' drawn with the mouse (as tests/e2e/test_page.py does)."""
    box = page.locator("#draw").bounding_box()
    sx, sy = box["width"] / 280, box["height"] / 280
    pts = [(150, 40), (145, 140), (138, 240)]
    xy = [(box["x"] + x * sx, box["y"] + y * sy) for x, y in pts]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for p in xy[1:]:
        page.mouse.move(*p, steps=4)
    page.mouse.up()


def prediction_latency(page):
    """ms from the stroke's pointerup to #prediction showing the digit of the finished drawing
    (the last update of #prediction after the pointerup, once it is quiet for 0.6 s)."""
    page.click("#clear")
    n_up = page.evaluate("window.__bench.ups.length")
    stroke_one(page)
    wait_until(page, f"window.__bench.ups.length > {n_up}", timeout=5)
    up = page.evaluate("window.__bench.ups[window.__bench.ups.length - 1]")
    deadline = time.monotonic() + 20
    last, seen_at = None, 0.0
    while time.monotonic() < deadline:
        upd = page.evaluate(f"window.__bench.pred.filter(([t, s]) => t >= {up} && /^[0-9]$/.test(s))")
        if upd and last is not None and upd[-1][0] == last[0] and time.monotonic() - seen_at > 0.6:
            return upd[-1][0] - up, upd[-1][1]
        if upd and (last is None or upd[-1][0] != last[0]):
            last, seen_at = upd[-1], time.monotonic()
        time.sleep(0.05)
    return None, None


def set_form(page, preset="fast", workers=1, **values):
    """The form set to a preset changed by values, with `workers` workers (one unless told: the
    benchmarks' page rows are one worker's, whatever the page's default)."""
    page.select_option("#workers", str(workers))
    page.select_option("#preset", preset)
    for key, value in values.items():
        if key in ("activation", "optimizer", "dataset"):
            page.select_option(f"#{key}", value)
        else:
            page.fill(FORM_IDS[key], str(value))


def train_run(page, targets=(87.0,), stop_at=None, timeout=120, preset="fast", **values):
    """Click Train with the form set; return {target%: s from click}, samples/s shown, etc."""
    set_form(page, preset, **values)
    runs = page.evaluate("window.pynet.runs || 0")
    n_click = page.evaluate("window.__bench.clicks.length")
    page.click("#train")
    wait_until(page, f"window.__bench.clicks.length > {n_click}", timeout=5)
    click = page.evaluate("window.__bench.clicks[window.__bench.clicks.length - 1]")
    deadline = time.monotonic() + timeout
    stopped = False
    speeds = []
    while True:
        done = page.evaluate(f"(window.pynet.runs || 0) > {runs} && window.pynet.state === 'idle'")
        shown = number(page.text_content("#speed"))
        if shown:
            speeds.append(shown)
        if done:
            break
        if stop_at is not None and not stopped:
            best = page.evaluate(f"Math.max(0, ...window.__bench.test.filter(([t]) => t > {click})"
                                 ".map(([, s]) => parseFloat(s) || 0))")
            if best >= stop_at:
                page.click("#stop")
                stopped = True
        if time.monotonic() > deadline:
            page.click("#stop")
            wait_until(page, "window.pynet.state === 'idle'", timeout=10)
            break
        time.sleep(0.1)
    updates = page.evaluate(f"window.__bench.test.filter(([t]) => t > {click})")
    reached = {}
    for t, s in updates:
        v = number(s)
        for target in targets:
            if v is not None and v >= target and target not in reached:
                reached[target] = (t - click) / 1000
    accs = [number(s) for _, s in updates if number(s) is not None]
    return {"reached": reached, "final_test": accs[-1] if accs else None,
            "speed": speeds[-1] if speeds else None,
            "seconds": page.evaluate("window.pynet.lastRun ? window.pynet.lastRun.seconds : null"),
            "reason": page.evaluate("window.pynet.lastRun ? window.pynet.lastRun.reason : null")}


def seed_iterations(page, n):
    """The seed preset (full batch, 2000 iterations): s per iteration over n iterations after 2.

    Polls the page's progress (step, elapsed_s from the worker) and takes the median time of the
    chunks between successive progress reports, per iteration, after the first 2 iterations.
    """
    set_form(page, "seed")
    runs = page.evaluate("window.pynet.runs || 0")
    n_click = page.evaluate("window.__bench.clicks.length")
    page.click("#train")
    wait_until(page, f"window.__bench.clicks.length > {n_click}", timeout=5)
    click = page.evaluate("window.__bench.clicks[window.__bench.clicks.length - 1]")
    points = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        pr = page.evaluate(f"window.pynet.state === 'running' && window.pynet.progress && "
                           f"window.pynet.progress.at > {click} && window.pynet.progress")
        if pr and (not points or pr["step"] != points[-1][0]):
            points.append((pr["step"], pr["elapsed"], pr["total"]))
        if points and points[-1][0] >= 2 + n:
            break
        time.sleep(0.03)
    page.click("#stop")
    wait_until(page, f"(window.pynet.runs || 0) > {runs} && window.pynet.state === 'idle'", timeout=20)
    pts = [p for p in points if p[0] >= 2]
    a, b = pts[0], pts[-1]
    per = [(q[1] - p[1]) / (q[0] - p[0]) for p, q in zip(pts, pts[1:])]
    return {"per_iter": (b[1] - a[1]) / (b[0] - a[0]), "per_iter_median": med(per), "steps": b[0] - a[0],
            "total": points[-1][2], "first_s": points[0][1] / max(points[0][0], 1)}


def launch(pw):
    kwargs = {"args": CHROMIUM_ARGS, "headless": True}
    try:
        own = Path(pw.chromium.executable_path)
    except Exception:
        own = None
    if own is None or not own.exists():
        kwargs["executable_path"] = SYSTEM_CHROMIUM
    return pw.chromium.launch(**kwargs)


def load_page(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    t = time.monotonic()
    page.goto(url)
    wait_until(page, "['ready', 'failed'].includes(document.getElementById('status').dataset.phase)", timeout=180)
    ready = time.monotonic() - t
    if page.evaluate("document.getElementById('status').dataset.phase") != "ready":
        raise RuntimeError(f"the page failed to start: {page.text_content('#status')}")
    context.start_log = page.evaluate("window.pynet.statusLog")  # [[phase, ms since navigation]]
    return context, page, ready


# The start-up's steps, between the marks of the page's status log (web/boot.js starting the
# worker, then web/worker.js's status phases, the last one 'ready'); app.js's 'script' (the
# page's other modules fetched and run) goes on meanwhile, on the page's thread.
START_STEPS = (("boot", "the page's HTML and first module, which starts the worker"),
               ("runtime", "the worker started (its module and Pyodide's loader)"),
               ("pynet", "the Python runtime and NumPy: downloaded, compiled, started"),
               ("data", "pynet installed and imported"),
               ("ready", "the default model loaded: Ready (the 5,000 images load after it)"),
               ("script", "meanwhile on the page's thread: its other modules, until app.js runs"))


def start_breakdown(log):
    """{mark: ms of the step that ends at it} from a page's status log [[phase, ms since navigation]]."""
    at = dict(log)
    marks = [mark for mark, _ in START_STEPS[:-1]]
    steps = {"boot": at.get("boot")}
    steps.update({b: at[b] - at[a] for a, b in zip(marks, marks[1:]) if a in at and b in at})
    if "script" in at and "boot" in at:
        steps["script"] = at["script"] - at["boot"]
    return steps


# The measurement in Chromium, as a module: imported by the blank page (main thread) and by a
# dedicated Web Worker of that page (where the site trains), so both run the same code.
MEASURE_MJS = """export async function measure(spec) {
  for (const name of ['Suspending', 'Suspender', 'promising']) delete WebAssembly[name]; // as web/worker.js
  const base = new URL('./', self.location.href);
  const { loadPyodide } = await import(new URL('pyodide/pyodide.mjs', base).href);
  const py = await loadPyodide({ indexURL: new URL('pyodide/', base).href });
  await py.loadPackage('numpy', { messageCallback: () => {} });
  await py.loadPackage(new URL(spec.wheel, base).href, { messageCallback: () => {} });
  const get = async (p) => new Uint8Array(await (await fetch(new URL(p, base))).arrayBuffer());
  py.FS.mkdirTree('/bench');
  py.FS.writeFile('/bench/throughput.py', await get('throughput.py'));
  py.FS.writeFile('/bench/mnist-small.npz', await get('data/mnist-small.npz'));
  py.globals.set('SPEC_JSON', JSON.stringify(spec));
  return py.runPython(`
import json, sys
sys.path.insert(0, "/bench")
import numpy as np
from pynet import data
import throughput as tp
spec = json.loads(SPEC_JSON)
d = data.load_npz("/bench/mnist-small.npz")
X, y = np.ascontiguousarray(d["train"][0].T), d["train"][1]
res = {"recipes": {}, "bare": {}}
for r in spec["recipes"]:
    rate, rounds, bares, shares = tp.train_rate(r["dims"], X, y, r["batch"], r["optimizer"], r["lr"], r["n_batches"],
                                                r["warm"], r["rounds"], bare=True)
    res["recipes"][r["name"]] = {"samples_per_s": rate, "rounds": rounds, "bare_step": bares, "shares": shares}
    res["bare"][r["name"]] = tp.bare_rates(r["dims"], r["batch"])
json.dumps(res)
`);
}
"""
WORKER_MJS = """import { measure } from './measure.mjs';
onmessage = async (e) => postMessage(await measure(e.data).catch((err) => JSON.stringify({ error: String(err) })));
"""
IN_PAGE = "async (spec) => (await import('./measure.mjs')).measure(spec)"
IN_WORKER = """(spec) => new Promise((resolve) => {
  const w = new Worker('./measure_worker.mjs', { type: 'module' });
  w.onmessage = (e) => { resolve(e.data); w.terminate(); };
  w.postMessage(spec);
})"""


def run_pyodide_in_chromium(browser, dist, recs, in_worker=False):
    """The Node measurements again, in a blank Chromium page (Chromium's V8): on its main thread,
    or (in_worker) in a dedicated Web Worker of it, like the site's training. The wasm bare rate
    there is what the page's samples/s is set against, since V8 versions differ from Node's."""
    tmp = Path(tempfile.mkdtemp(prefix="pynet-bench-page-"))
    try:
        for name in ("pyodide", "wheels", "data"):
            (tmp / name).symlink_to(dist / name)
        shutil.copy(HERE / "throughput.py", tmp / "throughput.py")
        (tmp / "measure.mjs").write_text(MEASURE_MJS)
        (tmp / "measure_worker.mjs").write_text(WORKER_MJS)
        (tmp / "index.html").write_text("<!doctype html><title>pynet bench</title>")
        site = site_builder()
        server = site.serve_in_thread(dist=tmp, port=0, base="/bench/", quiet=True)
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(server.url + "index.html")
            s = node_spec(recs, seed_iterations=0)
            s["wheel"] = json.loads((dist / "build.json").read_text())["pynet_wheel"]
            return json.loads(page.evaluate(IN_WORKER if in_worker else IN_PAGE, s))
        finally:
            context.close()
            server.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_browser(dist, recs, quick):
    from playwright.sync_api import sync_playwright
    site = site_builder()
    server = site.serve_in_thread(dist=dist, port=0, base="/pynet/", quiet=True)
    out = {}
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            out["chromium"] = browser.version
            log("browser: pyodide_node's measurements in a blank Chromium page")
            out["blank"] = run_pyodide_in_chromium(browser, dist, recs)
            log("browser: the same in a dedicated Web Worker of a blank page")
            out["blank_worker"] = run_pyodide_in_chromium(browser, dist, recs, in_worker=True)
            readies, logs = [], []
            for _ in range(0 if quick else 2):  # extra cold loads (fresh context: empty cache), closed at once
                ctx, _, r = load_page(browser, server.url)
                readies.append(r)
                logs.append(ctx.start_log)
                ctx.close()
            context, page, r = load_page(browser, server.url)
            readies.append(r)
            logs.append(context.start_log)
            out["ready"], out["start_logs"] = readies, logs
            # the worker's reply to 'ready' comes just after its status says so
            out["worker_ready"] = wait_until(page, "window.pynet.readySeconds", timeout=10)
            page.evaluate(INSTRUMENT)
            # idle while the page finishes its start-up work (samples, analysis, service worker)
            time.sleep(1.0)
            log("browser: prediction latency")
            first, digit = prediction_latency(page)
            warm = [prediction_latency(page)[0] for _ in range(2 if quick else 5)]
            out["pred_first_ms"], out["pred_digit"], out["pred_warm_ms"] = first, digit, warm
            fast_p = fast_preset(dist)
            log(f"browser: Fast preset runs ({fast_p})")
            out["fast_runs"] = [train_run(page, (87.0,), preset="fast") for _ in range(1 if quick else 3)]
            cli = recs[1]
            log("browser: 784-512-10 batch 128 (1 epoch of the 5,000 images)")
            out["cli_runs"] = [train_run(page, (87.0,), preset="fast", network="512", batch_size=cli["batch"],
                                         learning_rate=cli["lr"], optimizer=cli["optimizer"], epochs=1)
                               for _ in range(1 if quick else 2)]
            log("browser: seed recipe")
            out["seed"] = seed_iterations(page, 8 if quick else 16)
            if not quick:
                log("browser: to 97% (50,000 images, 784-128-10 adam lr 0.002 batch 128; stopped at 97%)")
                out["run97"] = train_run(page, (87.0, 97.0), stop_at=97.0, timeout=300, preset="fast", dataset="full",
                                         train_size=50000, network="128", optimizer="adam", learning_rate="0.002",
                                         batch_size=128, epochs=6, seed=0)
            out["errors"] = page.evaluate("document.getElementById('train-message').textContent")
            context.close()
            browser.close()
    finally:
        server.shutdown()
    return out


# ---- report --------------------------------------------------------------------------------


def fmt_s(x, digits=1):
    return "–" if x is None else f"{x:.{digits}f} s"


def report(m, recs, nat, nat1, nod, web, scale, quick, started, load_end):
    L = []
    p = L.append
    p(f"# pynet speed: native vs Pyodide (Node) vs the page (Chromium), {time.strftime('%Y-%m-%d %H:%M')}\n")
    p(f"Command: `.venv/bin/python benchmarks/run.py{' --quick' if quick else ''}`; "
      f"run time {time.monotonic() - started:.0f} s.\n")
    p(f"Machine: {m['cpu']}, {m['cores']} cores; load average at start {m['load'][0]:.2f} / {m['load'][1]:.2f} / "
      f"{m['load'][2]:.2f} (1/5/15 min), at the end {load_end[0]:.2f}. Python {m['python']}, NumPy {m['numpy']} "
      f"(native); Node {nod['node']}, Pyodide {nod['pyodide']}, NumPy {nod['info']['numpy']} (wasm); "
      f"Chromium {web.get('chromium', '–') if web else '–'}.\n")
    p("Wall-clock numbers on a shared 2-core machine: medians of the rounds shown; compare within this run.\n")

    p("## 1-2. Training throughput (float32, pynet's `Network.train`) and share of the bare matmul rate\n")
    p("| recipe | place | samples/s (median) | rounds | training GFLOPS | bare rate of the step's matmuls, GFLOPS "
      "| share of it | other bare rates, GFLOPS |")
    p("|---|---|---:|---|---:|---:|---:|---|")
    for r in recs:
        fps = tp.flops_per_sample(r["dims"])
        name = r["name"]
        rows = []
        for nt, place in ((nat, "native, OpenBLAS default threads"), (nat1, "native, OPENBLAS_NUM_THREADS=1")):
            nr, nb, b = nt["recipes"][name], nt["matmul_gflops"], nt["bare"][name]
            gf = nr["samples_per_s"] * fps / 1e9
            rows.append((place, nr["samples_per_s"], nr["rounds"], med(nr["bare_step"]), med(nr["shares"]), "np.dot",
                         f"native.py matmul_gflops {nb:.1f} (share {gf / nb:.0%}); W1·X np.dot {b['dot']:.1f}"))
        wr, wb = nod["recipes"][name], nod["bare"][name]
        wbare = med(wr["bare_step"])
        other = f"W1·X einsum {wb['einsum']:.2f}, np.dot {wb['dot']:.2f}"
        rows.append(("Pyodide, Node", wr["samples_per_s"], wr["rounds"], wbare, med(wr["shares"]), "einsum", other))
        if web:
            bl = web["blank"]["recipes"][name]
            bb = web["blank"]["bare"][name]
            cbare = med(bl["bare_step"])
            cother = f"W1·X einsum {bb['einsum']:.2f}, np.dot {bb['dot']:.2f}"
            rows.append(("Pyodide, blank Chromium page (main thread)", bl["samples_per_s"], bl["rounds"], cbare,
                         med(bl["shares"]), "einsum", cother))
            if "blank_worker" in web:
                bw, bwb = web["blank_worker"]["recipes"][name], web["blank_worker"]["bare"][name]
                rows.append(("Pyodide, a Web Worker of a blank Chromium page", bw["samples_per_s"], bw["rounds"],
                             med(bw["bare_step"]), med(bw["shares"]), "einsum",
                             f"W1·X einsum {bwb['einsum']:.2f}, np.dot {bwb['dot']:.2f}"))
            runs = {"fast": web["fast_runs"], "cli": web["cli_runs"]}.get(name)  # the page trains no conv spec here
            if runs:
                speeds = [x["speed"] for x in runs]
                rate = med(speeds)
                rows.append(("the page's worker, Chromium (#speed)", rate, speeds, cbare,
                             rate * fps / 1e9 / cbare if rate else None, "einsum, blank Chromium page", cother))
        for place, rate, rounds, bare, share, kernel, other_text in rows:
            rtxt = ", ".join(f"{x:,.0f}" for x in rounds if x)
            if not rate:
                p(f"| {r['label']} | {place} | – | | | {bare:.2f} ({kernel}) | – | {other_text} |")
                continue
            gf = rate * fps / 1e9
            p(f"| {r['label']} | {place} | {rate:,.0f} | {rtxt} | {gf:.2f} | {bare:.2f} ({kernel}) | {share:.0%} "
              f"| {other_text} |")
    p("\nPyodide under Node, CPU seconds / wall seconds while training (1.0 = it had a whole core): "
      + ", ".join(f"{r['name']} {nod['recipes'][r['name']].get('cpu_share', float('nan')):.2f}" for r in recs) + ".")
    p("Flops per sample (benchmarks/throughput.py flops_per_sample): 3 × the forward products' flops (forward, dW, "
      "dH_prev) minus the first layer's dH_prev product; a dense layer's forward is 2·n_in·n_out, a conv layer's "
      "2·F·C·kh·kw·OH·OW (its im2col product); for a dense network 6·Σ n_in·n_out − 2·784·n_hidden: "
      + ", ".join(f"{r['dims']}: {tp.flops_per_sample(r['dims']):,}" for r in recs) + ".")
    p("Native and Node: 12-60 batches timed after 3 warm-up batches, on the 5,000-image set, fresh network each "
      "round; after each round the bare rate of the step's five matmuls (same shapes, pynet's kernel, alone) is "
      "measured, and the share is the median of the per-round ratios. Page: the Samples/s stat (#speed) at the end of each run "
      "(the run's samples / training time, first batches and all; evaluation excluded). The page's share uses the "
      "wasm bare rate measured in a blank Chromium page in the same browser (Chromium's V8 is newer than Node "
      "20's; same Pyodide, NumPy and pynet wheel), where the Node measurements are also repeated, on its main thread and in a dedicated Web Worker (module worker) of it, as the site trains. "
      "Native runs in child processes, once with OpenBLAS's default threads and once with 1 thread.\n")

    if web:
        p("## 3. The page in headless Chromium\n")
        p("| measurement | value |")
        p("|---|---:|")
        p("| navigation to Ready (fresh context each, cold cache) | "
          + ", ".join(f"{x:.1f} s" for x in web["ready"]) + f" (worker's own start-up {web['worker_ready']:.1f} s) |")
        for phase, what in START_STEPS:
            ms = [start_breakdown(log).get(phase) for log in web.get("start_logs", [])]
            p(f"| start-up step: {what} | " + ", ".join(f"{x / 1000:.2f} s" for x in ms if x is not None) + " |")
        warm = [x for x in web["pred_warm_ms"] if x is not None]
        p(f"| first prediction: stroke's pointerup → #prediction shows the digit ('{web['pred_digit']}') | "
          f"{web['pred_first_ms']:.0f} ms |" if web["pred_first_ms"] is not None else "| first prediction | – |")
        if warm:
            p(f"| later strokes, same measure (median of {len(warm)}) | {med(warm):.0f} ms "
              f"({', '.join(f'{x:.0f}' for x in warm)}) |")
        fr = web["fast_runs"]
        t87 = [x["reached"].get(87.0) for x in fr]
        finals = ", ".join("%.1f%%" % x["final_test"] for x in fr if x["final_test"] is not None)
        wholes = ", ".join(fmt_s(x["seconds"]) for x in fr)
        p(f"| Fast preset: click Train → test accuracy ≥ 87% shown (median of {len(fr)}) | "
          f"{fmt_s(med(t87))} ({', '.join(fmt_s(x) for x in t87)}); final test {finals}; whole run {wholes} |")
        if web.get("run97"):
            r = web["run97"]
            p(f"| 50,000 images, 784-128-10 adam lr 0.002 batch 128: click → ≥ 87% | {fmt_s(r['reached'].get(87.0))} |")
            p(f"| same run: click → ≥ 97% | {fmt_s(r['reached'].get(97.0)) if r['reached'].get(97.0) else 'not reached'}"
              f" (best shown {r['final_test']}%, page samples/s {r['speed']:,.0f}) |")
        s = web["seed"]
        p(f"| seed recipe (784-45-10, full-batch GD on 5,000, float32): per iteration | "
          f"{s['per_iter'] * 1000:.0f} ms (mean over {s['steps']} iterations after the 2nd; median of the progress "
          f"reports {s['per_iter_median'] * 1000:.0f} ms; first iterations {s['first_s'] * 1000:.0f} ms each) |")
        p(f"| seed recipe: projected {s['total']} iterations (training only, evaluations not counted) | "
          f"**projected** {s['per_iter'] * s['total']:.0f} s ({s['per_iter'] * s['total'] / 60:.1f} min) |")
        p(f"| seed recipe per iteration elsewhere (same pynet code, median of 5 / 4): native (OpenBLAS default "
          f"threads) / native (1 thread) / Pyodide in Node | {nat['seed_iteration_s'] * 1000:.0f} ms / "
          f"{nat1['seed_iteration_s'] * 1000:.0f} ms / {nod['seed_iteration_s'] * 1000:.0f} ms (projected 2000: "
          f"{nat['seed_iteration_s'] * 2000:.0f} s / {nat1['seed_iteration_s'] * 2000:.0f} s / "
          f"{nod['seed_iteration_s'] * 2000:.0f} s) |")
        p("\nTimes are from the page's own clock (performance.now: pointerup/click listeners and MutationObservers "
          "on #prediction and #test-acc), so Playwright's polling adds nothing. The 97% run uses a fixed, "
          "constant learning rate, so its time to 97% does not depend on the epochs set (6; the run is stopped once "
          "97% shows); it includes loading the 11 MB data set.\n")

    if scale:
        p("## 4. Two Pyodide-under-Node processes training at once vs one (data-parallel estimate)\n")
        p(f"Two processes, each loaded once, alternate phases {SCALING_PLAN} (ranks training in each phase; "
          "barriers between phases): medians per process and phase kind. CPU share = the process's CPU seconds / "
          "wall seconds while it trained (1.0 = a whole core).\n")
        p("| recipe | alone: samples/s | alone: CPU share | together: samples/s each | together: CPU share | "
          "together: sum | sum / alone |")
        p("|---|---:|---:|---:|---:|---:|---:|")
        for r in recs:
            alone = [x for x in scale if x["recipe"] == r["name"] and x["together"] == 1]
            both = [x for x in scale if x["recipe"] == r["name"] and x["together"] == 2]
            a = med([x["samples_per_s"] for x in alone])
            b = med([x["samples_per_s"] for x in both])
            at = ", ".join("%s" % f"{x['samples_per_s']:,.0f}" for x in alone)
            bt = ", ".join("%s" % f"{x['samples_per_s']:,.0f}" for x in both)
            ca, cb = med([x["cpu_share"] for x in alone]), med([x["cpu_share"] for x in both])
            p(f"| {r['label']} | {a:,.0f} ({at}) | {ca:.2f} | {b:,.0f} ({bt}) | {cb:.2f} | {2 * b:,.0f} | {2 * b / a:.2f}x |")
        p("\nGradient exchange between workers is not included: this is an upper bound for data-parallel training "
          "across 2 workers on this machine.\n")
    return "\n".join(L)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the long rows (97%% run, 2-process scaling)")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--no-build", action="store_true", help="use dist as it is")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    parser.add_argument("--native-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.native_json:  # the native measurements, in a child process with its own BLAS settings
        print("RESULT " + json.dumps(run_native(recipes(args.dist), args.dist, args.quick)))
        return
    started = time.monotonic()
    m = machine()
    log(f"load average at start: {m['load']}")
    if not args.no_build:
        site_builder().build(args.dist)
    recs = recipes(args.dist)
    log("native (OpenBLAS threads: its default, then 1)")
    nat = native_subprocess(args.dist, {})
    nat1 = native_subprocess(args.dist, {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    log("Pyodide under Node")
    nod = run_node(args.dist, node_spec(recs))
    web = None
    if not args.no_browser:
        log("Chromium")
        web = run_browser(args.dist, recs, args.quick)
    scale = None
    if not args.quick:
        log("2 Pyodide processes at once")
        scale = run_scaling(args.dist, recs)
    text = report(m, recs, nat, nat1, nod, web, scale, args.quick, started, os.getloadavg())
    print(text)
    args.out.write_text(text + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
