// pynet's training throughput in Pyodide under Node, with exactly what the site ships:
// Pyodide and NumPy from DIST/pyodide, pynet from the wheel named by DIST/build.json, MNIST from
// DIST/data/mnist-small.npz. The measuring code is benchmarks/throughput.py (also run natively).
//
//   node benchmarks/pyodide_node.mjs [--dist DIR] [--spec JSON] [--barrier DIR:N [--plan JSON --rank R]]
//
// --spec: {"recipes": [{"name", "dims", "batch", "optimizer", "lr", "n_batches", "rounds"}],
//          "bare": true, "seed_iterations": 0,
//          "data": "small" (DIST/data/mnist-small.npz) or "full" (mnist-full.npz), "train_size": null,
//          "epoch_runs": [{"name", "dims", "config" (TrainConfig fields), "epochs", "flush"}],
//          "flush_cost": [{"name", "dims", "blank"}]}  (the last two: benchmarks/subnormal.py)
// Prints one line "RESULT {json}" (plus progress lines on stderr).

import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const dist = path.resolve(opt('--dist', path.join(root, 'dist')));
const spec = JSON.parse(opt('--spec', JSON.stringify({
  recipes: [{ name: 'fast', dims: [784, 128, 10], batch: 128, optimizer: 'adam', lr: 0.003, n_batches: 30, rounds: 3 }],
  bare: true, seed_iterations: 0,
})));
const note = (m) => process.stderr.write(`[pyodide_node ${process.pid}] ${m}\n`);

const t0 = performance.now();
const { loadPyodide } = await import(pathToFileURL(path.join(dist, 'pyodide', 'pyodide.mjs')).href);
const py = await loadPyodide({ indexURL: path.join(dist, 'pyodide') + path.sep, stdout: (s) => note(s), stderr: (s) => note(s) });
await py.loadPackage('numpy', { messageCallback: () => {} });
const build = JSON.parse(fs.readFileSync(path.join(dist, 'build.json'), 'utf8'));
const sitePackages = py.runPython('import site; site.getsitepackages()[0]');
py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(dist, build.pynet_wheel))), 'wheel', { extractDir: sitePackages });
py.FS.mkdirTree('/bench');
py.FS.writeFile('/bench/throughput.py', fs.readFileSync(path.join(here, 'throughput.py')));
const dataFile = `mnist-${spec.data || 'small'}.npz`;
py.FS.writeFile('/bench/mnist.npz', new Uint8Array(fs.readFileSync(path.join(dist, 'data', dataFile))));
const loadS = (performance.now() - t0) / 1000;
note(`Pyodide ${py.version} ready in ${loadS.toFixed(1)} s`);

// --barrier DIR:N  wait until N processes have reached DIR (each writes DIR/<pid>), so that
// concurrent processes train at the same time, not while the others are still loading.
// Waiting is a timer poll: it takes no CPU from the processes that are measuring.
async function wait(dir, n) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, String(process.pid)), '');
  while (fs.readdirSync(dir).length < n) await new Promise((r) => setTimeout(r, 10));
}
const barrier = opt('--barrier', null);
const [barrierDir, barrierN] = barrier
  ? [barrier.slice(0, barrier.lastIndexOf(':')), Number(barrier.slice(barrier.lastIndexOf(':') + 1))] : [null, 0];
if (barrier) await wait(path.join(barrierDir, 'loaded'), barrierN);

// Process CPU seconds (Pyodide runs on Node's main thread): how much of a core this process got.
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
globalThis.benchCpuSeconds = cpu;

// --plan '[[0], [0, 1], [1], ...]' --rank R (needs --barrier): phases; in each, the listed ranks
// train every recipe once (1 round) while the others idle; all meet at a barrier between phases.
const plan = opt('--plan', null);
if (plan) {
  const rank = Number(opt('--rank', 0));
  const phases = JSON.parse(plan);
  py.globals.set('SPEC_JSON', JSON.stringify(spec));
  await py.runPythonAsync(String.raw`
import json, sys
sys.path.insert(0, "/bench")
import numpy as np
from pynet import data
import throughput as tp
spec = json.loads(SPEC_JSON)
d = data.load_npz("/bench/mnist.npz")
X, y = np.ascontiguousarray(d["train"][0].T), d["train"][1]
def phase(name):
    r = [r for r in spec["recipes"] if r["name"] == name][0]
    rate, _ = tp.train_rate(r["dims"], X, y, r["batch"], r.get("optimizer", "adam"), r.get("lr", 0.003),
                            r.get("n_batches", 20), r.get("warm", 3), 1)
    return rate
`);
  const phase = py.globals.get('phase');
  const results = [];
  for (let k = 0; k < phases.length; k++) {
    await wait(path.join(barrierDir, `phase-${k}`), barrierN);
    if (!phases[k].includes(rank)) continue;
    for (const r of spec.recipes) {
      const [c0, w0] = [cpu(), performance.now()];
      const rate = phase(r.name);
      const [cpuS, wallS] = [cpu() - c0, (performance.now() - w0) / 1000];
      results.push({ phase: k, together: phases[k].length, recipe: r.name, samples_per_s: rate, cpu_share: cpuS / wallS });
    }
  }
  await wait(path.join(barrierDir, 'done'), barrierN);
  process.stdout.write(`RESULT ${JSON.stringify({ rank, results, load_s: loadS })}\n`);
  process.exit(0);
}

py.globals.set('SPEC_JSON', JSON.stringify(spec));
const out = await py.runPythonAsync(String.raw`
import json, sys, time
sys.path.insert(0, "/bench")
import numpy as np
import pynet
from pynet import data
import throughput as tp
from pynet.model import TrainConfig

spec = json.loads(SPEC_JSON)
d = data.load_npz("/bench/mnist.npz")
images, labels = d["train"][0][: spec.get("train_size")], d["train"][1][: spec.get("train_size")]
X, y = np.ascontiguousarray(images.T), labels
res = {"pynet_file": pynet.__file__, "info": tp.platform_info(), "recipes": {}, "bare": {}}
from js import benchCpuSeconds
for r in spec["recipes"]:
    t = time.perf_counter(); c = benchCpuSeconds()
    rate, rounds, bares, shares = tp.train_rate(r["dims"], X, y, r["batch"], r.get("optimizer", "adam"),
                                                r.get("lr", 0.003), r.get("n_batches", 20), r.get("warm", 3),
                                                r.get("rounds", 3), bare=True)
    res["recipes"][r["name"]] = {"samples_per_s": rate, "rounds": rounds, "bare_step": bares, "shares": shares,
                                 "wall_s": time.perf_counter() - t,
                                 "started": time.time() - (time.perf_counter() - t), "ended": time.time(),
                                 "cpu_share": (benchCpuSeconds() - c) / (time.perf_counter() - t)}
    if spec.get("bare"):
        res["bare"][r["name"]] = tp.bare_rates(r["dims"], r["batch"])
if spec.get("seed_iterations"):
    s, times = tp.full_batch_iteration_s([784, 45, 10], X, y, iterations=spec["seed_iterations"])
    res["seed_iteration_s"] = s
for r in spec.get("epoch_runs", []):
    seconds, subnormals, losses = tp.epoch_seconds(r["dims"], X, y, TrainConfig(**r["config"]).validated(),
                                                   r.get("epochs"), r["flush"])
    res.setdefault("epoch_runs", []).append({**r, "seconds": seconds, "subnormals": subnormals, "losses": losses,
                                             "ended": time.time()})
for r in spec.get("flush_cost", []):
    res.setdefault("flush_cost", {})[r["name"]] = tp.flush_seconds(r["dims"], r.get("blank", 0.0))
json.dumps(res)
`);
const result = JSON.parse(out);
result.load_s = loadS;
result.node = process.version;
result.pyodide = py.version;
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
