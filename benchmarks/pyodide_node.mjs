// pynet's training throughput in Pyodide under Node, with exactly what the site ships:
// Pyodide and NumPy from DIST/pyodide, pynet from the wheel named by DIST/build.json, MNIST from
// DIST/data/mnist-small.npz. The measuring code is benchmarks/throughput.py (also run natively).
//
//   node benchmarks/pyodide_node.mjs [--dist DIR] [--spec JSON] [--barrier DIR:N]
//
// --spec: {"recipes": [{"name", "dims", "batch", "optimizer", "lr", "n_batches", "rounds"}],
//          "bare": true, "seed_iterations": 0}
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
py.FS.writeFile('/bench/mnist-small.npz', new Uint8Array(fs.readFileSync(path.join(dist, 'data', 'mnist-small.npz'))));
const loadS = (performance.now() - t0) / 1000;
note(`Pyodide ${py.version} ready in ${loadS.toFixed(1)} s`);

// --barrier DIR:N  wait until N processes have loaded (each writes DIR/<pid>), so that
// concurrent processes train at the same time, not while the others are still loading.
const barrier = opt('--barrier', null);
if (barrier) {
  const [dir, n] = [barrier.slice(0, barrier.lastIndexOf(':')), Number(barrier.slice(barrier.lastIndexOf(':') + 1))];
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, String(process.pid)), '');
  while (fs.readdirSync(dir).length < n) await new Promise((r) => setTimeout(r, 20));
}

py.globals.set('SPEC_JSON', JSON.stringify(spec));
const out = await py.runPythonAsync(String.raw`
import json, sys, time
sys.path.insert(0, "/bench")
import numpy as np
import pynet
from pynet import data
import throughput as tp

spec = json.loads(SPEC_JSON)
d = data.load_npz("/bench/mnist-small.npz")
images, labels = d["train"]
X, y = np.ascontiguousarray(images.T), labels
res = {"pynet_file": pynet.__file__, "info": tp.platform_info(), "recipes": {}, "bare": {}}
for r in spec["recipes"]:
    t = time.perf_counter()
    rate, rounds = tp.train_rate(r["dims"], X, y, r["batch"], r.get("optimizer", "adam"), r.get("lr", 0.003),
                                 r.get("n_batches", 20), r.get("warm", 3), r.get("rounds", 3))
    res["recipes"][r["name"]] = {"samples_per_s": rate, "rounds": rounds, "wall_s": time.perf_counter() - t,
                                 "started": time.time() - (time.perf_counter() - t), "ended": time.time()}
    if spec.get("bare"):
        res["bare"][r["name"]] = tp.bare_rates(r["dims"][1], r["batch"])
if spec.get("seed_iterations"):
    s, times = tp.full_batch_iteration_s([784, 45, 10], X, y, iterations=spec["seed_iterations"])
    res["seed_iteration_s"] = s
json.dumps(res)
`);
const result = JSON.parse(out);
result.load_s = loadS;
result.node = process.version;
result.pyodide = py.version;
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
