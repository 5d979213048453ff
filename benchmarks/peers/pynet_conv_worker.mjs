// pynet in Pyodide in a Web Worker, for benchmarks/peers.py: a network of any spec (such as the
// small convnet, which the page's form does not offer) trained on the site's 5,000 images,
// timed by benchmarks/throughput.py's train_rate, the code that times pynet under Node too.
// Same Pyodide, NumPy and pynet wheel as the site, loaded as web/worker.js loads them.
//
// Messages in:  {id, type: 'init' | 'batches', payload}; replies {id, type: 'result' | 'error', payload}

import { loadPyodide } from './pyodide/pyodide.mjs';

for (const name of ['Suspending', 'Suspender', 'promising']) delete WebAssembly[name]; // as web/worker.js
const site = new URL('./', import.meta.url);
let py = null;

async function bytes(path) {
  return new Uint8Array(await (await fetch(new URL(path, site))).arrayBuffer());
}

async function init() {
  py = await loadPyodide({ indexURL: new URL('pyodide/', site).href });
  await py.loadPackage('numpy', { messageCallback: () => {} });
  const info = await (await fetch(new URL('build.json', site))).json();
  await py.loadPackage(new URL(info.pynet_wheel, site).href, { messageCallback: () => {} });
  py.FS.mkdirTree('/bench');
  py.FS.writeFile('/bench/throughput.py', await bytes('throughput.py'));
  py.FS.writeFile('/bench/mnist-small.npz', await bytes('data/mnist-small.npz'));
  return JSON.parse(py.runPython(`
import json, sys
sys.path.insert(0, "/bench")
import numpy as np
from pynet import data
import throughput as tp
d = data.load_npz("/bench/mnist-small.npz")
X, y = np.ascontiguousarray(d["train"][0].T), d["train"][1]
json.dumps(tp.platform_info())
`));
}

// Samples/s over p.batches batches after p.warm batches of a fresh network of p.spec.
function batches(p) {
  py.globals.set('SPEC_JSON', JSON.stringify(p));
  return JSON.parse(py.runPython(`
p = json.loads(SPEC_JSON)
rate, _ = tp.train_rate(p["spec"], X, y, p["batchSize"], "adam", p["learningRate"], n_batches=p["batches"],
                        warm=p["warm"], rounds=1)
json.dumps({"samples_per_s": rate})
`));
}

const jobs = { init, batches };

onmessage = async ({ data: { id, type, payload } }) => {
  try {
    postMessage({ id, type: 'result', payload: await jobs[type](payload || {}) });
  } catch (e) {
    postMessage({ id, type: 'error', payload: { message: String(e && e.stack || e) } });
  }
};
