// Wiring: the worker client, the drawing pad, the training form and the charts.
// The main thread never runs Python; every request to the worker is asynchronous.

import { makeCharts } from './charts.js';
import { createClient, WorkerRestarted } from './client.js';
import { createPad } from './draw.js';
import { settings } from './settings.js';
import { createParallel } from './parallel.js';
import * as store from './store.js';
import * as ui from './ui.js';

const { dom } = ui;

const PRESETS = settings.presets;
const MAX_POINTS = 3000;

const makeWorker = () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const client = createClient(makeWorker, {
  onFatal: (reason) => workerFailed(reason),
  // a worker that answers real requests works: a later failure starts a new count of restarts
  onAnswer: (type) => { if (!app.recovering && type !== 'ready') app.restartsInARow = 0; },
});
const app = { ready: false, state: 'disabled', run: null, restarts: 0, restartsInARow: 0 };
window.pynet = app; // for tests and the curious: state only, no functions that run code

// Data-parallel training (web/parallel.js): the page's worker runs the trainer, helper workers
// start only once the user picks more than one. Workers: 1 .. min(hardwareConcurrency, the limit).
const MAX_WORKERS = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, settings.limits.max_workers));
const parallel = createParallel(client);
for (let k = 1; k <= MAX_WORKERS; k++) dom.workers.append(new Option(String(k), String(k)));
// One worker by default in every browser: hardwareConcurrency is not a count of free cores
// (WebKit never reports fewer than 4), on 2 cores two workers measured slower end to end than
// one (benchmarks/parallel_results.md), and each helper first loads a Python runtime of its own.
dom.workers.value = '1';
app.maxWorkers = MAX_WORKERS;
const chosenWorkers = () => Number(dom.workers.value) || 1;
function startHelpers() {
  const n = chosenWorkers() - 1;
  if (app.ready && n > 0) parallel.ensureHelpers(n).then(() => { app.helpersReady = parallel.helpers; }).catch(() => {});
}
dom.workers.addEventListener('change', startHelpers);

// The current model's file, kept on the main thread after each training run, upload or
// restore, so that a restarted worker can load it again (null: the default model).
const kept = { bytes: null, name: 'default' };

// ---- start-up -----------------------------------------------------------------------------

const t0 = performance.now();
app.statusLog = [];
client.on('status', (st) => {
  app.statusLog.push([st.phase, Math.round(performance.now() - t0)]);
  if (app.recovering) {
    // a restarted worker's start-up: the recovery sets the final status itself
    if (st.phase !== 'ready') ui.setStatus({ ...st, phase: 'restarting', message: `Restarting the worker: ${st.message}` });
    return;
  }
  ui.setStatus(st);
});
ui.buildBars();
ui.clearPrediction();
ui.fillForm(PRESETS.fast);
ui.setTraining('disabled');
app.state = 'disabled';
ui.resetLive();
const charts = makeCharts(dom.loss, dom.accChart, MAX_POINTS);

client.request('ready').then(async (info) => {
  app.ready = true;
  app.everReady = true;
  app.readySeconds = info.seconds;
  app.jspi = info.jspi; // false: see worker.js
  app.memory = info.memory;
  ui.showMemory(info.memory);
  setState('idle');
  showModel(info.model);
  dom.download.disabled = false;
  dom.upload.disabled = false;
  dom.resetModel.disabled = false;
  dom.saveLocal.disabled = false;
  // A model the user saved in this browser comes back on reload.
  const saved = await store.loadSaved().catch(() => null);
  dom.restoreLocal.disabled = !saved;
  if (saved) await restoreSaved(saved);
  if (!pad.isEmpty()) predictNow();
  ui.showSamples(await client.request('samples', { n: 24 }));
  await refreshAnalysis();
  // let the browser optimize the training code before the first run (see worker.js)
  await client.request('warmup', { ms: 1200 }).then((r) => { app.warmedUp = r; }).catch(() => {});
  startHelpers();
  registerServiceWorker();
}).catch((e) => ui.setStatus({ phase: 'failed', message: `Start-up failed: ${e.message}`, fraction: 0 }));

// Offline use after the first visit (sw.js caches this build's files). Registered once the
// page is ready, so its downloads do not compete with the start-up.
function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register(new URL('./sw.js', import.meta.url), { scope: './' })
    .then(() => navigator.serviceWorker.ready)
    .then(() => { app.offlineReady = true; })
    .catch((e) => console.warn(`Offline use is not available: ${e.message}`));
}

// ---- drawing and prediction ---------------------------------------------------------------

let predicting = false;
let again = false;
// Readings asked for (each change of the pad or of the model) and the last one answered: when
// they are equal, the reading shown is that of the pad and model as they are now.
app.predictionsAsked = 0;
app.predictionAnswered = 0;

function predictNow() {
  if (!app.ready) return;
  app.predictionsAsked += 1;
  sendPrediction();
}

// One request at a time: asks that come while one is in flight are answered by the next one.
async function sendPrediction() {
  if (predicting) { again = true; return; }
  predicting = true;
  try {
    const asked = app.predictionsAsked;
    const { pixels, width, height } = pad.pixels();
    const result = await client.request('predict', { pixels, width, height }, [pixels.buffer]);
    ui.showPrediction(result);
    app.lastPrediction = result.probabilities;
    app.lastImage28 = result.image28;
    app.predictions = (app.predictions || 0) + 1;
    app.predictionAnswered = asked;
  } catch (e) {
    if (!(e instanceof WorkerRestarted) && !app.recovering) ui.trainMessage(`Could not read the drawing: ${e.message}`, 'error');
  } finally {
    predicting = false;
    if (again) { again = false; sendPrediction(); }
  }
}

const pad = createPad(dom.draw, { onDraw: predictNow, onEnd: predictNow, lineWidth: 20 });
dom.clear.addEventListener('click', () => { pad.clear(); ui.clearPrediction(); ui.padNote(''); });

// The keyboard alternative to drawing: a random test image, put on the pad as if drawn.
dom.tryTest.addEventListener('click', async () => {
  if (!app.ready) return;
  try {
    const start = Math.floor(Math.random() * 10_000);
    const { images, labels } = await client.request('samples', { n: 1, dataset: 'small', split: 'test', start });
    pad.putImage(images[0]);
    app.testImage = { index: start, label: labels[0] };
    ui.padNote(`Showing test image no. ${start.toLocaleString()}, labelled ${labels[0]}.`);
    predictNow();
  } catch (e) {
    if (!(e instanceof WorkerRestarted)) ui.padNote(`Could not load a test image: ${e.message}`);
  }
});

// ---- training -----------------------------------------------------------------------------

dom.preset.addEventListener('change', () => {
  if (PRESETS[dom.preset.value]) ui.fillForm(PRESETS[dom.preset.value]);
  ui.formMessage('', 'ok');
});
for (const el of Object.values(ui.FIELDS)) {
  el.addEventListener('input', () => {
    const values = ui.readForm();
    const match = Object.entries(PRESETS).find(([, p]) => Object.keys(p).every((k) => String(p[k]) === values[k]));
    dom.preset.value = match ? match[0] : 'custom';
  });
}

dom.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (app.state !== 'idle') return;
  const values = ui.readForm();
  const config = { ...values, eval_every: Number(values.batch_size) === 0 ? settings.full_batch_eval_every : 1 };
  setState('starting');
  app.run = { started: performance.now(), firstLosses: [], lastLosses: [] };
  // full batch (the seed recipe) stays on one worker
  const fullBatch = Number(values.batch_size) === 0 || Number(values.batch_size) >= Number(values.train_size);
  const workers = fullBatch ? 1 : chosenWorkers();
  ui.formMessage(values.dataset === 'full' ? 'Loading the 50,000 training images (11 MB)…'
    : workers > 1 && parallel.helpers < workers - 1 ? `Starting ${workers - 1} more worker${workers > 2 ? 's' : ''}…` : 'Starting…', 'ok');
  try {
    const summary = workers > 1 ? await parallel.train(config, workers) : await client.request('train', { config });
    beginRun(summary);
    ui.formMessage('', 'ok');
    setState('running');
  } catch (e) {
    app.run = null;
    if (e instanceof WorkerRestarted) return; // the recovery resets the form and says what happened
    app.formErrors = (app.formErrors || 0) + 1;
    ui.formMessage(`Not started: ${e.message}.`, 'error', e.field);
    setState('idle');
  }
});

dom.pause.addEventListener('click', async () => {
  if (app.state === 'running') {
    app.pauseClickedAt = performance.now();
    setState('paused');
    try {
      await client.request('pause');
      app.pausesAnswered = (app.pausesAnswered || 0) + 1; // the worker holds the run from here
      ui.trainMessage('Paused. Drawing still works with the current model.');
    } catch { /* the worker was restarted: its recovery says so */ }
  } else if (app.state === 'paused') {
    setState('running');
    ui.trainMessage('');
    await client.request('resume').catch(() => {});
  }
});

dom.stop.addEventListener('click', () => {
  if (app.state === 'running' || app.state === 'paused') {
    app.stopClickedAt = performance.now();
    client.request('stop').catch(() => {});
  }
});

function setState(state) {
  app.state = state;
  ui.setTraining(state);
}

function beginRun(summary) {
  showOffer(null); // the worker drops an offer nobody took when a run starts
  app.run = { ...summary, started: app.run?.started ?? performance.now(), firstLosses: [], lastLosses: [],
              losses: [], epochMemory: [], peakMemory: 0, reachedAt: {} };
  charts.reset();
  ui.resetLive();
  ui.showProgress({ step: 0, total: summary.total_steps, samplesPerS: 0, etaS: NaN });
  const c = summary.config;
  app.run.workers = summary.workers ?? 1;
  const what = c.batch_size === 0 || c.batch_size >= summary.train_size
    ? `${c.epochs.toLocaleString()} full-batch iteration${c.epochs === 1 ? '' : 's'}`
    : `${c.epochs} epoch${c.epochs === 1 ? '' : 's'} of ${summary.batches} batches`
      + (app.run.workers > 1 ? `, each batch split across ${app.run.workers} workers` : '');
  ui.trainMessage(`Training ${summary.dimensions.join('-')} (${summary.activation}, ${c.optimizer}, learning rate ${c.learning_rate}) `
    + `on ${summary.train_size.toLocaleString()} images: ${what}.`);
}

client.on('progress', (r) => onProgress(r));
function onProgress(r) {
  if (!app.run?.firstLosses) return;
  app.run.step = r.step;
  if (r.memory) {
    app.memory = r.memory;
    app.run.peakMemory = Math.max(app.run.peakMemory, r.memory);
    ui.showMemory(r.memory);
  }
  for (const [x, y] of r.losses) {
    app.run.losses.push(y ?? null); // every batch's loss, exactly as computed (for tests)
    charts.addLoss(x, y);
    if (y != null) (app.run.firstLosses.length < 5 ? app.run.firstLosses : app.run.lastLosses).push(y);
  }
  app.run.lastLosses = app.run.lastLosses.slice(-5);
  let trainAcc; let testAcc;
  for (const e of r.epochs) {
    e.test_acc ??= null; // Python's None arrives as undefined
    charts.addEpoch(e);
    trainAcc = e.train_acc;
    if (e.test_acc !== null) testAcc = e.test_acc;
    if (e.test_acc !== null && e.test_acc >= 0.87 && app.run.reached87 === undefined) {
      app.run.reached87 = (performance.now() - app.run.started) / 1000;
    }
    for (const target of [0.87, 0.9, 0.95, 0.97, 0.98]) {
      if (e.test_acc !== null && e.test_acc >= target && app.run.reachedAt[target] === undefined) {
        app.run.reachedAt[target] = (performance.now() - app.run.started) / 1000;
      }
    }
    app.run.epochMemory.push([e.epoch, r.memory ?? null]);
  }
  ui.showAccuracy(trainAcc, testAcc);
  const perStep = r.step ? r.elapsed_s / r.step : NaN;
  ui.showProgress({ step: r.step, total: r.total_steps, samplesPerS: r.samples_per_s,
                    etaS: perStep * (r.total_steps - r.step), evaluating: r.evaluating });
  app.progress = { step: r.step, total: r.total_steps, samplesPerS: r.samples_per_s, elapsed: r.elapsed_s,
                   at: performance.now() };
  charts.draw();
  refreshWeightsWhileTraining();
}

// The first-layer weights of the network being trained, while they are on screen: at most
// every 1.5 s, one request at a time, so training keeps its pace.
const weightsRefresh = { at: 0, busy: false };
async function refreshWeightsWhileTraining() {
  if (!dom.analysis.open || weightsRefresh.busy || performance.now() - weightsRefresh.at < 1500) return;
  weightsRefresh.busy = true;
  try {
    ui.showWeights(await client.request('firstLayer', { n: 32 }));
    app.weightRefreshes = (app.weightRefreshes || 0) + 1;
  } catch (e) {
    if (!(e instanceof WorkerRestarted)) console.warn(`Could not refresh the weights: ${e.message}`);
  } finally {
    weightsRefresh.at = performance.now();
    weightsRefresh.busy = false;
  }
}

client.on('trained', (t) => onTrained(t));
async function onTrained({ reason, message, model, offer, timing }) {
  setState('idle');
  charts.draw(true);
  const acc = app.run && charts.lastTest();
  if (app.run) {
    const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
    app.lastRun = { firstLoss: mean(app.run.firstLosses), lastLoss: mean(app.run.lastLosses), testAcc: acc,
                    reached87: app.run.reached87 ?? null, seconds: (performance.now() - app.run.started) / 1000,
                    samplesPerS: app.progress?.samplesPerS, reason, endedAt: performance.now(),
                    losses: app.run.losses ?? [], epochMemory: app.run.epochMemory ?? [],
                    peakMemory: app.run.peakMemory ?? null, reachedAt: app.run.reachedAt ?? {},
                    workers: app.run.workers ?? 1, step: app.run.step ?? 0, totalSteps: app.run.total_steps,
                    parallelTiming: timing ?? null };
    dom.loss.dataset.losses = JSON.stringify(app.lastRun.losses);
  }
  app.run = null;
  app.runs = (app.runs || 0) + 1;
  app.lastEnd = reason;
  if (reason === 'completed') {
    ui.trainMessage(`Done${acc != null ? `: ${(acc * 100).toFixed(1)}% of the test images right` : ''}. `
      + 'The trained model now reads your drawings.', 'ok');
  } else if (reason === 'stopped') {
    ui.trainMessage(message && message !== 'stopped' ? message : 'Stopped.', '');
  } else {
    ui.trainMessage(`The run ended: ${message}.`, 'error');
  }
  showOffer(offer ?? null);
  if (model) showModel(model);
  if (!pad.isEmpty()) predictNow();
  await keepModel(model?.name);
  await refreshAnalysis();
}

// A trained model the user may take instead of the one in use (a stopped run's, one that
// diverged after an epoch, or one that ended after the model in use was changed): nothing
// replaces the model in use until the user says so.
function showOffer(offer) {
  app.offer = offer;
  ui.showOffer(offer);
}

dom.useOffer.addEventListener('click', async () => {
  try {
    const info = await client.request('useOffered');
    showOffer(null);
    showModel(info);
    ui.modelMessage('The trained model now reads your drawings.', 'ok');
    if (!pad.isEmpty()) predictNow();
    await keepModel(info.name);
    await refreshAnalysis();
  } catch (e) {
    if (!(e instanceof WorkerRestarted)) ui.modelMessage(`Could not use the trained model: ${e.message}`);
  }
});

dom.keepCurrent.addEventListener('click', async () => {
  try {
    await client.request('discardOffer');
    showOffer(null);
  } catch (e) {
    if (!(e instanceof WorkerRestarted)) ui.modelMessage(`Could not drop the trained model: ${e.message}`);
  }
});

// Keep the current model's bytes on this thread (see `kept`).
async function keepModel(name) {
  if (name === 'default') { kept.bytes = null; kept.name = 'default'; return; }
  try {
    kept.bytes = await client.request('saveModel');
    kept.name = name || 'trained';
    app.keptModelBytes = kept.bytes.length;
  } catch (e) {
    if (!(e instanceof WorkerRestarted)) console.warn(`Could not keep a copy of the model: ${e.message}`);
  }
}

// The model in use has changed: show it. app.modelShown counts the models shown, and
// app.analysedModel says which of them the mistakes, confusion matrix and weights are of.
function showModel(info) {
  app.modelShown = (app.modelShown || 0) + 1;
  ui.showModel(info);
}

async function refreshAnalysis() {
  const model = app.modelShown;
  try {
    ui.showMistakes(await client.request('misclassified', { k: 24 }));
    ui.showWeights(await client.request('firstLayer', { n: 32 }));
    app.analysedModel = model;
  } catch (e) {
    if (!(e instanceof WorkerRestarted) && !app.recovering) dom.errorsSummary.textContent = `Could not evaluate the model: ${e.message}`;
  }
}

// A confusion-matrix cell shows its test images (one listener for the whole table).
dom.confusion.addEventListener('click', async (event) => {
  const cell = event.target.closest('button.cell');
  if (!cell) return;
  const t = Number(cell.dataset.true);
  const p = Number(cell.dataset.predicted);
  try {
    ui.showCell(t, p, await client.request('cellImages', { true: t, predicted: p, k: 24 }));
  } catch (e) {
    if (!(e instanceof WorkerRestarted)) dom.cellCaption.textContent = `Could not show these images: ${e.message}`;
  }
});

// ---- model file ---------------------------------------------------------------------------

dom.download.addEventListener('click', async () => {
  try {
    const bytes = await client.request('saveModel');
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'pynet-model.npz';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    ui.modelMessage('Model saved as pynet-model.npz.', 'ok');
  } catch (e) {
    ui.modelMessage(`Could not save the model: ${e.message}`);
  }
});

dom.upload.addEventListener('change', async () => {
  const file = dom.upload.files[0];
  if (!file) return;
  try {
    const limit = settings.limits.max_model_bytes;
    if (file.size > limit) throw new Error(`the file is larger than ${limit / 2 ** 20} MB`);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const copy = bytes.slice();
    let info;
    try {
      info = await client.request('loadModel', { bytes }, [bytes.buffer]);
    } catch (e) {
      // The worker's runtime broke while checking the file (not a refusal): once the page has
      // restarted it, check the file again on the fresh one.
      if (!e.fatal) throw e;
      await recovered();
      try {
        info = await client.request('loadModel', { bytes: copy.slice(), name: 'uploaded' });
      } catch (again) {
        if (!again.fatal) throw again;
        // twice, on two fresh runtimes: the file itself breaks it (the page restarts the worker again)
        throw new Error(`checking it stopped the Python runtime twice (${again.message})`);
      }
    }
    kept.bytes = copy;
    kept.name = 'uploaded';
    showModel(info);
    ui.modelMessage(`Loaded ${file.name}: it now reads your drawings.`, 'ok');
    if (!pad.isEmpty()) predictNow();
    refreshAnalysis();
  } catch (e) {
    ui.modelMessage(`Refused ${file.name}: ${e.message}. The previous model is still in use.`);
  } finally {
    dom.upload.value = '';
  }
});

dom.resetModel.addEventListener('click', async () => {
  try {
    const info = await client.request('useDefault');
    kept.bytes = null;
    kept.name = 'default';
    showModel(info);
    ui.modelMessage('The default model is in use again.', 'ok');
    if (!pad.isEmpty()) predictNow();
    refreshAnalysis();
  } catch (e) {
    ui.modelMessage(`Could not switch to the default model: ${e.message}`);
  }
});

dom.saveLocal.addEventListener('click', async () => {
  try {
    const bytes = await client.request('saveModel');
    const info = await client.request('modelInfo');
    await store.saveModel(bytes, info);
    dom.restoreLocal.disabled = false;
    ui.modelMessage(`Saved the ${info.name} model ${info.dimensions.join('-')} in this browser.`, 'ok');
  } catch (e) {
    ui.modelMessage(`Could not save in this browser: ${e.message}`);
  }
});

dom.restoreLocal.addEventListener('click', async () => {
  const saved = await store.loadSaved().catch(() => null);
  if (!saved) ui.modelMessage('Could not restore the saved model: nothing is saved yet. The previous model is still in use.');
  else await restoreSaved(saved);
});

// Make a model saved in this browser the current one; a bad one is refused and nothing changes.
async function restoreSaved(saved) {
  try {
    const info = await client.request('loadModel', { bytes: saved.bytes, name: 'saved' });
    kept.bytes = saved.bytes;
    kept.name = 'saved';
    showModel(info);
    ui.modelMessage(`Restored the model saved on ${new Date(saved.saved).toLocaleString()}.`, 'ok');
    if (!pad.isEmpty()) predictNow();
    refreshAnalysis();
  } catch (e) {
    ui.modelMessage(`Could not restore the saved model: ${e.message}. The previous model is still in use.`);
  }
}

// ---- worker crash recovery ----------------------------------------------------------------

// Give up rather than loop: after RESTART_LIMIT restarts in a row (no request answered by a
// restarted worker in between: it breaks again at once, so it will keep breaking), or after
// RESTART_CAP restarts within RESTART_WINDOW_MS whatever happened between them.
const RESTART_LIMIT = 3;
const RESTART_CAP = 6;
const RESTART_WINDOW_MS = 5 * 60_000;
const restartTimes = [];
let recoveryAttempt = 0;

function workerFailed(reason) {
  if (reason.kind === 'timeout' && (app.state === 'running' || app.state === 'paused')) return;
  if (!app.ready && !app.everReady) {
    // it never started: restarting would most likely fail the same way
    ui.setStatus({ phase: 'failed', message: `The worker failed: ${reason.message}`, fraction: 0 });
    return;
  }
  recoverWorker(reason);
}

// Resolves once a worker restart in progress (or about to start) has finished.
async function recovered(timeoutMs = 120_000) {
  const end = performance.now() + timeoutMs;
  await new Promise((r) => setTimeout(r, 200)); // the 'fatal' message that starts the recovery follows the error
  while (app.recovering || !app.ready) {
    if (app.gaveUp || performance.now() > end) throw new Error('the worker could not be restarted');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function recoverWorker(reason) {
  const now = performance.now();
  while (restartTimes.length && now - restartTimes[0] > RESTART_WINDOW_MS) restartTimes.shift();
  if (app.restartsInARow >= RESTART_LIMIT || restartTimes.length >= RESTART_CAP) {
    app.ready = false;
    app.gaveUp = true;
    setState('disabled');
    ui.setStatus({ phase: 'failed', message: 'The worker keeps stopping; reload the page to start again.', fraction: 0 });
    return;
  }
  // A worker that breaks while it starts is restarted again (and counts as a restart in a row):
  // the attempt it interrupted gives way to this one.
  const attempt = ++recoveryAttempt;
  app.restartsInARow += 1;
  restartTimes.push(now);
  app.recovering = true;
  app.ready = false;
  app.restarts += 1;
  app.lastFailure = reason;
  if (app.run !== null && app.state !== 'idle') app.lostRun = true;
  app.run = null;
  setState('disabled');
  ui.setStatus({ phase: 'restarting', message: 'The worker stopped unexpectedly; restarting it…', fraction: 0 });
  client.restart();
  try {
    const info = await client.request('ready');
    let model = info.model;
    if (kept.bytes) model = await client.request('loadModel', { bytes: kept.bytes.slice(), name: kept.name });
    showModel(model);
    showOffer(null); // it lived in the worker that stopped
    app.memory = info.memory;
    ui.showMemory(info.memory);
    app.ready = true;
    app.recovering = false;
    setState('idle');
    ui.formMessage('', 'ok');
    ui.setStatus({ phase: 'ready', fraction: 1,
                   message: 'The worker stopped unexpectedly and was restarted; your model was kept' });
    if (app.lostRun) ui.trainMessage('The training run in progress was lost when the worker stopped; the model from before it is in use.', 'error');
    app.lostRun = false;
    app.recoveredAt = performance.now();
    if (!pad.isEmpty()) predictNow();
    await refreshAnalysis();
  } catch (e) {
    if (attempt !== recoveryAttempt) return; // the new worker broke too: a newer restart has taken over
    app.recovering = false;
    ui.setStatus({ phase: 'failed', message: `The worker stopped and could not be restarted: ${e.message}`, fraction: 0 });
  }
}
