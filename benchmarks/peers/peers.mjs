// The page of benchmarks/peers.py: each contender in its own Web Worker, driven from here one at
// a time (peers.py alternates them). Times are this page's performance.now(), from the request
// to its answer, except where a worker times itself (noted in peers.py's report).
//
//   pynet       the site's own worker (worker.js, served from dist/), through the site's client
//   tfjs-wasm   tfjs_worker.js?backend=wasm     tfjs-cpu   tfjs_worker.js?backend=cpu
//   pynet-conv  pynet_conv_worker.mjs (Pyodide, for a spec the page's form does not take)

import { createClient } from './client.js';

const clients = {};
const NO_TIMEOUT = { timeoutMs: 0 };

function start(name) {
  const made = {
    pynet: () => new Worker('./worker.js', { type: 'module' }),
    'pynet-conv': () => new Worker('./pynet_conv_worker.mjs', { type: 'module' }),
    'tfjs-wasm': () => new Worker('./tfjs_worker.js?backend=wasm'),
    'tfjs-cpu': () => new Worker('./tfjs_worker.js?backend=cpu'),
  }[name];
  const client = createClient(made, { onFatal: (e) => console.error(`${name}: ${e.kind} ${e.message}`) });
  clients[name] = client;
  return client;
}

// Start a contender's worker; pynet's as the page starts it (ready, then the page's warm-up).
async function init(name) {
  const c = start(name);
  const t0 = performance.now();
  if (name === 'pynet') {
    const ready = await c.request('ready', {}, [], NO_TIMEOUT);
    await c.request('warmup', { ms: 1200 });
    return { seconds: (performance.now() - t0) / 1000, version: ready.version, jspi: ready.jspi };
  }
  const info = await c.request('init', {}, [], NO_TIMEOUT);
  return { ...info, seconds: (performance.now() - t0) / 1000 };
}

async function load(name, dataset) {
  if (name === 'pynet') return clients.pynet.request('loadDataset', { name: dataset }, [], NO_TIMEOUT);
  return clients[name].request('load', { name: dataset, splits: dataset === 'full' ? ['train', 'validation', 'test'] : ['train', 'test'] }, [], NO_TIMEOUT);
}

// A run of pynet's page worker with the page's settings (config as the form sends it); with
// target, stopped once an epoch's test accuracy reaches it. samples_per_s is the number the
// page's Samples/s stat shows at the end (the trainer's samples / training time, evaluation
// excluded); seconds_to_target runs from the train request to the progress message with it.
function pynetRun(config, target) {
  const c = clients.pynet;
  const t0 = performance.now();
  let last = null;
  let reached = null;
  let test = null;
  return new Promise((resolve, reject) => {
    pynetRun.onProgress = (r) => {
      last = r;
      for (const e of r.epochs) {
        if (e.test_acc == null) continue;
        test = e.test_acc;
        if (target && reached === null && e.test_acc >= target) {
          reached = { seconds: (performance.now() - t0) / 1000, epochs: e.epoch };
          c.request('stop').catch(reject);
        }
      }
    };
    pynetRun.onTrained = (t) => resolve({
      samples_per_s: last.samples_per_s, seconds: (performance.now() - t0) / 1000, test_acc: test, reason: t.reason,
      ...(target ? { reached: reached !== null, seconds_to_target: reached?.seconds, epochs: reached?.epochs ?? last.epoch } : {}),
    });
    c.request('train', { config }).catch(reject);
  });
}

async function run(name, job, recipe) {
  if (name === 'pynet') return pynetRun(recipe.config, job === 'to_target' ? recipe.target : null);
  const t0 = performance.now();
  const out = await clients[name].request(job, recipe, [], NO_TIMEOUT);
  const seconds = (performance.now() - t0) / 1000;
  return { ...out, request_seconds: seconds, ...(job === 'to_target' ? { seconds_to_target: out.reached ? seconds : null } : {}) };
}

function listen() {
  clients.pynet.on('progress', (r) => pynetRun.onProgress?.(r));
  clients.pynet.on('trained', (t) => pynetRun.onTrained?.(t));
}

window.peers = {
  async init(name) {
    const out = await init(name);
    if (name === 'pynet') listen();
    return out;
  },
  load,
  run,
};
