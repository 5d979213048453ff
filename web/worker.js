// The Web Worker: runs Pyodide, NumPy and pynet. The page never runs Python.
//
// Messages in:  {id, type, payload}      (see the switch in handle())
// Replies:      {id, type: 'result' | 'error', payload}
// Unprompted:   {type: 'status', payload: {phase, message, fraction}}   during start-up
//               {type: 'progress', payload: <bridge.step() summary>}    during training
//               {type: 'trained', payload: {reason, message, model, offer}}    when a run ends
//               {type: 'fatal', payload: {message}}   Pyodide can no longer run (runtimeBroken): the page restarts the worker
//
// Training runs in chunks of ~60 ms (bridge.step); between chunks the worker yields to its
// event loop, so pause, stop and predict messages are answered without SharedArrayBuffer.

import { loadPyodide } from './pyodide/pyodide.mjs';

const STEP_MS = 60;
const site = new URL('./', import.meta.url);
// 'helper': an extra worker of a data-parallel run (web/parallel.js): it loads only Pyodide,
// NumPy, pynet and the small data set, and answers only the parallel requests.
const role = new URL(self.location.href).searchParams.get('role') || 'main';
let pyodide = null;
let bridge = null;

function status(phase, message, fraction) {
  postMessage({ type: 'status', payload: { phase, message, fraction } });
}

async function fetchBytes(path) {
  let response;
  try {
    response = await fetch(new URL(path, site));
  } catch {
    throw new Refusal({ message: `could not download ${path}: the network is not reachable (offline?)` });
  }
  if (!response.ok) throw new Refusal({ message: `could not download ${path}: the server answered HTTP ${response.status}` });
  return new Uint8Array(await response.arrayBuffer());
}

// Bytes of WebAssembly memory in use by Pyodide: it only ever grows, so it is also the peak.
function memoryBytes() {
  const m = pyodide && pyodide._module;
  if (!m) return null;
  return m.wasmMemory?.buffer?.byteLength ?? m.HEAP8?.length ?? null;
}

// Call a bridge function; convert its Python result to plain JS and free the proxy.
// Call a bridge function through bridge.handle: a refusal (a ValueError in Python) comes back
// as data and is thrown here as a Refusal, with the setting it is about; any other Python
// exception is a bug, thrown as it is.
class Refusal extends Error {
  constructor({ message, field }) {
    super(message);
    this.name = 'Refusal';
    this.field = field ?? null;
  }
}

function call(name, ...args) {
  const proxy = bridge.handle(name, ...args);
  const out = proxy.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false });
  proxy.destroy();
  if (out.error) throw new Refusal(out.error);
  return out.value;
}

// Pyodide 0.27.7 switches on WebAssembly stack switching (JSPI) wherever the browser offers it
// (Chromium from 137 on). pynet never needs it: every call into Python is synchronous. Hiding it
// runs the same runtime as the test suite under Node 20 (which has no JSPI), and stays clear of
// the crashes reported with JSPI on (pyodide/pyodide#5702, #6106).
for (const name of ['Suspending', 'Suspender', 'promising']) delete WebAssembly[name];

async function start() {
  const t0 = performance.now();
  status('runtime', 'Loading the Python runtime…', 0.05);
  const buildInfo = fetch(new URL('build.json', site)).then((r) => r.json());
  pyodide = await loadPyodide({ indexURL: new URL('pyodide/', site).href });
  const jspi = Boolean(pyodide._module.jspiSupported);
  status('numpy', 'Loading NumPy…', 0.45);
  await pyodide.loadPackage('numpy', { messageCallback: () => {}, errorCallback: (m) => console.warn(m) });
  status('pynet', 'Installing pynet…', 0.7);
  const info = await buildInfo;
  await pyodide.loadPackage(new URL(info.pynet_wheel, site).href, { messageCallback: () => {} });
  bridge = pyodide.pyimport('pynet.bridge');
  if (role === 'helper') {
    status('data', 'Loading 5,000 training images…', 0.8);
    const dataset = call('load_dataset', 'small', await fetchBytes('data/mnist-small.npz'));
    status('ready', 'Ready', 1);
    return { dataset, seconds: (performance.now() - t0) / 1000, version: info.version, memory: memoryBytes(), role, jspi };
  }
  status('data', 'Loading the default model and 5,000 training images…', 0.8);
  const [model, small] = await Promise.all([fetchBytes('models/default.npz'), fetchBytes('data/mnist-small.npz')]);
  const modelInfo = call('load_default_model', model);
  const dataset = call('load_dataset', 'small', small);
  const seconds = (performance.now() - t0) / 1000;
  status('ready', 'Ready', 1);
  return { model: modelInfo, dataset, seconds, version: info.version, memory: memoryBytes(), jspi };
}

const ready = start();
ready.catch((e) => status('failed', `Start-up failed: ${e.message}`, 0));

// ---- training loop ----------------------------------------------------------------------

const run = { active: false, paused: false, resume: null };

// Yield to the event loop (a message task, not setTimeout's 4 ms clamp).
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldNow = () => new Promise((resolve) => { waiting.push(resolve); channel.port2.postMessage(0); });

async function trainLoop() {
  while (run.active) {
    if (run.paused) {
      await new Promise((resolve) => { run.resume = resolve; });
      continue;
    }
    let r;
    try {
      r = call('step', STEP_MS);
    } catch (e) {
      run.active = false;
      if (runtimeBroken(e)) reportBroken(e, 'step'); // the page restarts the worker: the run is lost
      else postMessage({ type: 'trained', payload: { reason: 'error', message: errorMessage(e, 'step'), model: call('model_info') } });
      return;
    }
    r.memory = memoryBytes();
    postMessage({ type: 'progress', payload: r });
    if (r.done) {
      run.active = false;
      postMessage({ type: 'trained', payload: r.done });
      return;
    }
    await yieldNow();
  }
}

// What the page shows of an error: a refusal's own sentence; for anything else (a bug in pynet,
// a broken runtime) one line, with the details on the console.
function errorMessage(e, request) {
  if (e instanceof Refusal) return e.message;
  console.error(`pynet worker: error in '${request}':`, String(e && e.message || e), e && e.stack);
  return `an internal error stopped '${request}' (details are in the browser console)`;
}

// ---- requests ---------------------------------------------------------------------------

// Warm-up: about a second of throwaway training after start-up, in 50 ms chunks, so that the
// browser has optimized the hot WebAssembly code before the user's first run (measured: the
// first Fast run took 4.1 s, the next ones 1.5-1.9 s). Any other request ends it.
let warming = false;
async function warmUp(totalMs) {
  warming = true;
  const end = performance.now() + totalMs;
  let chunks = 0;
  try {
    while (warming && !run.active && performance.now() < end) {
      if (!call('warm_up', 50)) break;
      chunks += 1;
      await yieldNow();
    }
  } finally {
    warming = false;
    call('warm_up_done');
  }
  return { chunks };
}

async function handle(type, p) {
  if (type === 'ready') return ready;
  await ready;
  switch (type) {
    case 'predict':
      return call('predict', p.pixels, p.width, p.height);
    case 'samples':
      return call('samples', p.n ?? 24, p.dataset ?? 'small', p.split ?? 'train', p.start ?? 0);
    case 'loadDataset': {
      if (call('has_dataset', p.name)) return call('dataset_summary', p.name);
      const bytes = await fetchBytes(`data/mnist-${p.name}.npz`);
      return call('load_dataset', p.name, bytes);
    }
    case 'train': {
      if (run.active) throw new Refusal({ message: 'a training run is already in progress; stop it first' });
      if (p.config.dataset && !call('has_dataset', p.config.dataset)) {
        await handle('loadDataset', { name: p.config.dataset });
      }
      const summary = call('start_training', pyodide.toPy(p.config));
      run.active = true;
      run.paused = false;
      yieldNow().then(trainLoop); // after the reply, so the page knows the run before its progress
      return summary;
    }
    case 'pause':
      run.paused = run.active;
      return { paused: run.paused };
    case 'resume':
      run.paused = false;
      if (run.resume) { run.resume(); run.resume = null; }
      return { paused: false };
    case 'stop': {
      const wasActive = run.active;
      run.active = false;
      run.paused = false;
      if (run.resume) { run.resume(); run.resume = null; }
      const r = call('stop_training');
      if (wasActive) postMessage({ type: 'trained', payload: { reason: 'stopped', message: r.message || 'stopped', model: r.model, offer: r.offer } });
      return r;
    }
    // ---- data-parallel runs (web/parallel.js drives them; see pynet/bridge.py) ----
    case 'pstart': {
      if (run.active) throw new Refusal({ message: 'a training run is already in progress; stop it first' });
      if (p.config.dataset && !call('has_dataset', p.config.dataset)) {
        await handle('loadDataset', { name: p.config.dataset });
      }
      return call('parallel_start', pyodide.toPy(p.config), p.rank, p.world);
    }
    case 'pstep': {
      // apply the previous batch's mean gradient (if any), then compute this worker's shard
      // of the next batch (unless the run ended)
      // ms: time spent in Python applying the mean and computing the shard (benchmarks)
      const out = { event: null, memory: memoryBytes(), ms: { apply: 0, grad: 0 } };
      const t0 = performance.now();
      if (p.mean) {
        out.event = call('parallel_apply', p.mean, p.loss);
        out.ms.apply = performance.now() - t0;
        if (out.event.type === 'done' || out.event.finished) return out;
      }
      const t1 = performance.now();
      Object.assign(out, call('parallel_grad'));
      out.ms.grad = performance.now() - t1;
      return out;
    }
    case 'peval':
      return { epoch: call('parallel_eval', pyodide.toPy(p.epoch), p.ms ?? STEP_MS) ?? null, memory: memoryBytes() };
    case 'pepoch':
      return call('parallel_epoch', pyodide.toPy(p.epoch));
    case 'pfinish':
      return call('parallel_finish', p.reason ?? 'completed');
    case 'misclassified':
      return call('misclassified', p.k ?? 24);
    case 'cellImages':
      return call('cell_images', p.true, p.predicted, p.k ?? 24);
    case 'firstLayer':
      return call('first_layer', p.n ?? 32);
    case 'useDefault':
      return call('use_default_model');
    case 'useOffered':
      return call('use_offered');
    case 'discardOffer':
      return call('discard_offer');
    case 'modelInfo':
      return call('model_info');
    case 'saveModel': {
      const proxy = bridge.save_model();
      const bytes = proxy.toJs();
      proxy.destroy();
      return bytes;
    }
    case 'loadModel':
      return call('load_model', p.bytes, p.name ?? 'uploaded');
    case 'warmup':
      return warmUp(p.ms ?? 1200);
    default:
      throw new Error(`unknown request ${type}`);
  }
}

onmessage = async (event) => {
  const { id, type, payload } = event.data;
  if (type !== 'warmup') warming = false;
  try {
    const result = await handle(type, payload || {});
    const transfer = result instanceof Uint8Array ? [result.buffer]
      : result?.grad instanceof Uint8Array ? [result.grad.buffer] : [];
    postMessage({ id, type: 'result', payload: result }, transfer);
  } catch (e) {
    const fatal = runtimeBroken(e);
    postMessage({ id, type: 'error', payload: { message: fatal ? 'the Python runtime stopped' : errorMessage(e, type),
                                                field: e instanceof Refusal ? e.field : null, fatal } });
    if (fatal) reportBroken(e, type);
  }
};

// Whether Pyodide can no longer run Python (after a WebAssembly trap, an abort, or a JavaScript
// error thrown through Python's C stack), whatever the error's wording. Pyodide
// 0.27.7 (API.fatal_error in pyodide.asm.js) marks the error that breaks it with
// `pyodide_fatal_error`, and from then on makes every property of its API throw: later errors
// (from calls through proxies made before) carry no mark, but the API still says it.
function runtimeBroken(e) {
  if (e?.pyodide_fatal_error) return true;
  if (!pyodide) return false;
  try {
    void pyodide.pyimport;
    return false;
  } catch {
    return true;
  }
}

// Tell the page, which restarts the worker; the full text and stack of a trap go to the console
// for whoever reads it (the page shows one line).
function reportBroken(e, request) {
  const text = String(e?.message || e);
  console.warn(`pynet worker: fatal error in '${request}':`, text, e?.stack);
  postMessage({ type: 'fatal', payload: { message: text } });
}
