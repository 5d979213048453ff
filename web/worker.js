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
//
// Data-parallel runs (web/parallel.js): helper workers (?role=helper) are connected to this
// worker by MessageChannel ports ('train' with ports); they answer the same requests over
// their port as over their own channel. The run's trainer stays here: at each batch
// bridge.step hands out the other shards ('gradients' to each helper), computes its own,
// and takes the helpers' results back.

import { createClient, WorkerRestarted } from './client.js';
import { loadPyodide } from './pyodide/pyodide.mjs';

const STEP_MS = 60;
const site = new URL('./', import.meta.url);
// 'helper': an extra worker of a data-parallel run (web/parallel.js): it loads only Pyodide,
// NumPy, pynet and the small data set, and computes shards of batches for the page's worker.
const role = new URL(self.location.href).searchParams.get('role') || 'main';
let pyodide = null;
let bridge = null;

// at: when, in ms since the epoch (the page's time origin differs from the worker's)
function status(phase, message, fraction) {
  postMessage({ type: 'status', payload: { phase, message, fraction, at: performance.timeOrigin + performance.now() } });
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
  status('runtime', 'Loading the Python runtime and NumPy…', 0.05);
  // What needs no Python downloads while the runtime loads: pynet's wheel, the model, the data.
  const buildInfo = fetch(new URL('build.json', site)).then((r) => r.json());
  const wheel = buildInfo.then((info) => fetchBytes(info.pynet_wheel));
  const model = role === 'helper' ? null : fetchBytes('models/default.npz');
  const small = downloads.small = fetchBytes('data/mnist-small.npz');
  for (const download of [wheel, model, small]) download?.catch(() => {}); // awaited below
  // packages: Pyodide fetches NumPy as soon as its lock file is read, before Python has started
  pyodide = await loadPyodide({ indexURL: new URL('pyodide/', site).href, packages: ['numpy'] });
  const jspi = Boolean(pyodide._module.jspiSupported);
  status('pynet', 'Installing pynet…', 0.7);
  const info = await buildInfo;
  const sitePackages = pyodide.runPython('import site; site.getsitepackages()[0]');
  pyodide.unpackArchive(await wheel, 'wheel', { extractDir: sitePackages }); // pure Python: nothing to link
  bridge = pyodide.pyimport('pynet.bridge');
  if (role === 'helper') {
    status('data', 'Loading 5,000 training images…', 0.8);
    const dataset = call('load_dataset', 'small', await small);
    status('ready', 'Ready', 1);
    return { dataset, seconds: (performance.now() - t0) / 1000, version: info.version, memory: memoryBytes(), role, jspi };
  }
  status('data', 'Loading the default model…', 0.8);
  const modelInfo = call('load_default_model', await model);
  const seconds = (performance.now() - t0) / 1000;
  status('ready', 'Ready', 1);
  return { model: modelInfo, seconds, version: info.version, memory: memoryBytes(), jspi };
}

const downloads = {}; // start()'s, for what loads after it
const ready = start();
ready.catch((e) => status('failed', `Start-up failed: ${e.message}`, 0));
// Reading a drawing needs none of the 5,000 training images and their test images: the page's
// worker loads them just after Ready (in a task of its own, after the answer to 'ready' has gone
// out), and every other request waits for them (NEEDS_NO_DATA).
const smallLoaded = ready.then(() => (role === 'helper' ? null
  : Promise.all([downloads.small, yieldNow()]).then(([bytes]) => call('load_dataset', 'small', bytes))));
smallLoaded.catch(() => {}); // the requests that wait for it fail with its error
const NEEDS_NO_DATA = new Set(['predict', 'explain', 'describe', 'readLink']);

// ---- training loop ----------------------------------------------------------------------

// id: which run the loop belongs to (a stop and a new run can come between two of its steps).
// helperLost: the page saw a helper of the run die (its port will never answer); unsent: the
// progress not yet sent (sent at most every REPORT_MS)
const run = { id: 0, active: false, paused: false, resume: null, helpers: [], helperLost: false, unsent: null };
// A run's progress is sent at most this often (and at each epoch's end), since what the page draws
// of it takes CPU the workers need (benchmarks/parallel_results.md, benchmarks/presets_results.md).
const REPORT_MS = 500;

// The run just started in Python (bridge start_training or start_finetune) steps from here on,
// with these helper workers' clients.
function startLoop(helpers) {
  Object.assign(run, { id: run.id + 1, active: true, paused: false, helpers, helperLost: false, unsent: null });
  const id = run.id;
  yieldNow().then(() => trainLoop(id)); // after the reply, so the page knows the run before its progress
}

// Yield to the event loop (a message task, not setTimeout's 4 ms clamp).
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldNow = () => new Promise((resolve) => { waiting.push(resolve); channel.port2.postMessage(0); });

// A helper's port as a worker client (client.js): requests with replies, a timeout when it is stuck.
function portClient(port, onFatal) {
  return createClient(() => {
    port.start();
    return {
      set onmessage(fn) { port.onmessage = fn; },
      postMessage: (message, transfer) => port.postMessage(message, transfer),
      terminate: () => port.close(),
    };
  }, { onFatal });
}

function sendProgress() {
  if (run.unsent) postMessage({ type: 'progress', payload: run.unsent });
  run.unsent = null;
}

const helperFailed = (why) => Object.assign(new Error(`a helper worker failed: ${why}`), { helper: true });

async function trainLoop(id) {
  const mine = () => run.active && run.id === id;
  const timing = { steps: 0, ownMs: 0, waitMs: 0, helperMs: run.helpers.map(() => 0) };
  let replies;
  let lastReport = 0;
  // a step's progress (a time slice with one worker, a batch with helpers), gathered and sent at
  // most every REPORT_MS, and at an epoch's end
  const report = (r) => {
    r.memory = memoryBytes();
    if (run.unsent) {
      r.losses = run.unsent.losses.concat(r.losses);
      r.epochs = run.unsent.epochs.concat(r.epochs);
    }
    run.unsent = r;
    if (r.done || r.epochs.length || performance.now() - lastReport >= REPORT_MS) {
      sendProgress();
      lastReport = performance.now();
    }
  };
  const end = (payload) => {
    run.active = false;
    sendProgress();
    postMessage({ type: 'trained', payload: { ...payload, timing: run.helpers.length ? timing : null } });
  };
  while (mine()) {
    if (run.paused) {
      sendProgress(); // the page shows where the run holds
      await new Promise((resolve) => { run.resume = resolve; });
      continue;
    }
    try {
      const r = replies ? call('step', STEP_MS, replies) : call('step', STEP_MS);
      replies = undefined;
      const { request } = r;
      delete r.request; // not for the page (and its buffers are handed to the helpers)
      report(r);
      if (r.done) {
        end(r.done);
        return;
      }
      if (request) {
        if (run.helperLost) throw helperFailed('it stopped unexpectedly');
        // the other shards of the batch go to the helpers while this worker computes its own
        const { parameters, shards, step } = request;
        const asked = run.helpers.map((h, k) => {
          const copy = k === run.helpers.length - 1 ? parameters : parameters.slice();
          return h.request('gradients', { parameters: copy, shard: shards[k], step }, [copy.buffer]);
        });
        const t0 = performance.now();
        call('step', STEP_MS);
        const t1 = performance.now();
        const answers = await Promise.all(asked).catch((e) => {
          throw helperFailed(e instanceof WorkerRestarted ? 'it stopped unexpectedly' : e.message);
        });
        timing.steps += 1;
        timing.ownMs += t1 - t0;
        timing.waitMs += performance.now() - t1;
        answers.forEach((a, k) => { timing.helperMs[k] += a.ms; });
        if (!mine()) return;
        replies = answers;
      }
    } catch (e) {
      if (!mine()) return;
      if (runtimeBroken(e)) { // the page restarts the worker: the run is lost
        run.active = false;
        reportBroken(e, 'step');
        return;
      }
      const message = e.helper ? e.message : errorMessage(e, 'step');
      const ended = run.helpers.length ? call('stop_training') : { model: call('model_info') };
      end({ reason: 'error', message, model: ended.model, offer: ended.offer });
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

// The data sets being downloaded and loaded: name -> the promise of its summary.
const datasetLoads = new Map();

// The data set a run's settings name, fetched and loaded unless it already is.
async function loadDatasetOf(config) {
  if (config.dataset && !call('has_dataset', config.dataset)) await handle('loadDataset', { name: config.dataset });
}

async function handle(type, p) {
  if (type === 'ready') return ready;
  await ready;
  if (!NEEDS_NO_DATA.has(type)) await smallLoaded;
  switch (type) {
    case 'predict':
      return call('predict', p.pixels, p.width, p.height);
    case 'explain': // why the model reads the drawing so (pynet/page/why.py): digit null for its answer
      return call('explain', p.pixels, p.width, p.height, p.digit ?? null);
    case 'describe': // the network field as it is typed (answered between two time slices of a run)
      return call('describe_network', pyodide.toPy(p.config));
    case 'readLink': // a link's settings (the address after '#'), checked as the form is
      return call('read_link', p.text ?? '');
    case 'samples':
      return call('samples', p.n ?? 24, p.dataset ?? 'small', p.split ?? 'train', p.start ?? 0);
    case 'loadDataset': { // once per data set, also when the form's early load and Train ask at once
      if (call('has_dataset', p.name)) return call('dataset_summary', p.name);
      if (!datasetLoads.has(p.name)) {
        datasetLoads.set(p.name, fetchBytes(`data/mnist-${p.name}.npz`).then((bytes) => call('load_dataset', p.name, bytes))
          .finally(() => datasetLoads.delete(p.name)));
      }
      return datasetLoads.get(p.name);
    }
    case 'train': {
      // ports: one per helper worker of a data-parallel run (web/parallel.js)
      if (run.active) throw new Refusal({ message: 'a training run is already in progress; stop it first' });
      await loadDatasetOf(p.config);
      // a refused setting reads as with one worker; anything else is the helper's failure
      const failed = (e) => {
        throw new Refusal({ message: e.field ? e.message : `a helper worker could not start: ${e.message}`, field: e.field });
      };
      const helpers = (p.ports ?? []).map((port) => portClient(port, () => {}));
      await Promise.all(helpers.map((h) => h.request('helperStart', { config: p.config }, [], { timeoutMs: 180_000 })))
        .catch(failed);
      const summary = call('start_training', pyodide.toPy(p.config), helpers.length + 1);
      startLoop(helpers);
      return summary;
    }
    // ---- your samples (web/samples.js): images as bytes of 784 levels each, labels as bytes ----
    case 'finetune': {
      if (run.active) throw new Refusal({ message: 'a training run is already in progress; stop it first' });
      const summary = call('start_finetune', p.images, p.labels);
      startLoop([]);
      return summary;
    }
    case 'sampleLevels':
      return call('sample_levels', p.image28);
    case 'samplesFile':
      return call('samples_file', p.images, p.labels);
    case 'readSamples':
      return call('read_samples', p.bytes);
    case 'helperLost':
      run.helperLost = true;
      for (const h of run.helpers) h.restart(); // a request waiting for an answer fails now
      return { ended: run.active };
    case 'pause':
      run.paused = run.active;
      sendProgress();
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
      sendProgress(); // the batches since the last report, before the run's end
      if (wasActive) postMessage({ type: 'trained', payload: { reason: 'stopped', message: r.message || 'stopped', model: r.model, offer: r.offer } });
      return r;
    }
    // ---- a helper's part of data-parallel runs (over the port from the page's worker) ----
    case 'connect':
      p.port.onmessage = (event) => answer(event.data, (message, transfer) => p.port.postMessage(message, transfer));
      return { connected: true };
    case 'helperStart':
      await loadDatasetOf(p.config);
      return call('helper_start', pyodide.toPy(p.config));
    case 'gradients': {
      const t0 = performance.now();
      const out = call('helper_gradients', p.parameters, p.shard, p.step);
      out.ms = performance.now() - t0; // for benchmarks/parallel_results.md
      return out;
    }
    case 'evaluate':
      return call('evaluate_test', p.ms ?? 40);
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
    case 'stepThrough': // the step-through view (pynet/page/stepper.py)
      return call('step_through', pyodide.toPy(p.options ?? {}));
    case 'stepDetail':
      return call('step_detail', p.index);
    case 'warmup':
      return warmUp(p.ms ?? 1200);
    default:
      throw new Error(`unknown request ${type}`);
  }
}

// Answer one request (from the page, or from the page's worker over a helper's port) with reply.
async function answer({ id, type, payload }, reply) {
  if (type !== 'warmup') warming = false;
  try {
    const result = await handle(type, payload || {});
    const transfer = result instanceof Uint8Array ? [result.buffer]
      : result?.grad instanceof Uint8Array ? [result.grad.buffer] : [];
    reply({ id, type: 'result', payload: result }, transfer);
  } catch (e) {
    const fatal = runtimeBroken(e);
    reply({ id, type: 'error', payload: { message: fatal ? 'the Python runtime stopped' : errorMessage(e, type),
                                          field: e instanceof Refusal ? e.field : null, fatal } });
    // the page restarts a worker whose runtime broke (also when the request came over a port)
    if (fatal) reportBroken(e, type);
  }
}

onmessage = (event) => answer(event.data, (message, transfer) => postMessage(message, transfer));

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
