// Wiring: the worker client, the page's state and the modules that each do one job of the
// page; the start-up. The main thread never runs Python; every request to the worker is
// asynchronous.

import { createAnalysis } from './analysis.js';
import { bootedAt, takeWorker } from './boot.js';
import { makeCharts } from './charts.js';
import { createClient } from './client.js';
import { createForm } from './form.js';
import { createHistory } from './history.js';
import { createModels } from './models.js';
import { registerServiceWorker } from './offline.js';
import { createParallel } from './parallel.js';
import { createReading } from './reading.js';
import { createRecovery } from './recovery.js';
import { createSamples } from './samples.js';
import { createShare } from './share.js';
import { createStepper } from './stepper.js';
import { createTraining } from './training.js';
import { createWhy } from './why.js';
import * as ui from './ui.js';

const { dom } = ui;

const MAX_POINTS = 3000;

const client = createClient(takeWorker, {
  onFatal: (reason) => recovery.workerFailed(reason),
  onAnswer: (type) => recovery.answered(type),
});
const app = { ready: false, state: 'disabled', run: null, restarts: 0 };
window.pynet = app; // for tests and the curious: state only, no functions that run code

// [phase, ms since navigation started] of each start-up step (the benchmark prints them): the
// worker started (boot.js), this module run, then the worker's phases as it reached them
app.statusLog = [['boot', Math.round(bootedAt)], ['script', Math.round(performance.now())]];
client.on('status', (st) => {
  app.statusLog.push([st.phase, Math.round(st.at - performance.timeOrigin)]);
  if (app.recovering) {
    // a restarted worker's start-up: the recovery sets the final status itself
    if (st.phase !== 'ready') ui.setStatus({ ...st, phase: 'restarting', message: `Restarting the worker: ${st.message}` });
    return;
  }
  // 'Ready' shows with the worker's answer to 'ready' below, when the page takes requests
  if (st.phase !== 'ready') ui.setStatus(st);
});
ui.buildBars();
ui.clearPrediction();
ui.resetLive();
const charts = makeCharts(dom.loss, dom.accChart, MAX_POINTS);

const why = createWhy(client, app);
const reading = createReading(client, app, {
  onRead: (result, pixels) => {
    samples.showReading(result);
    if (pixels || result.digit == null) why.read(result, pixels);
  },
});
const analysis = createAnalysis(client, app);
const models = createModels(client, app, { reading, analysis, recovered: () => recovery.recovered() });
const parallel = createParallel(client);
const form = createForm(client, app);
const share = createShare(client, app);
const history = createHistory(app, { share });
history.load();
const training = createTraining(client, app, { parallel, charts, models, analysis, form, history });
const recovery = createRecovery(client, app, { training, models, reading, analysis });
createStepper(client, app);
const samples = createSamples(client, app, { training });

client.request('ready').then(async (info) => {
  app.ready = true;
  app.everReady = true;
  ui.setStatus({ phase: 'ready', message: 'Ready', fraction: 1 });
  app.readySeconds = info.seconds;
  app.jspi = info.jspi; // false: see worker.js
  app.memory = info.memory;
  ui.showMemory(info.memory);
  training.setState('idle');
  form.describe();
  // the settings of the link the page was opened with (checked by the worker, in turn with the rest)
  share.start().catch((e) => console.warn(`The link could not be read: ${e.message}`));
  models.show(info.model);
  await models.start();
  reading.refresh();
  await samples.start();
  ui.showSamples(await client.request('samples', { n: 24 }));
  await analysis.refresh();
  // let the browser optimize the training code before the first run (see worker.js)
  await client.request('warmup', { ms: 1200 }).then((r) => { app.warmedUp = r; }).catch(() => {});
  training.startHelpers();
  registerServiceWorker(app);
}).catch((e) => ui.setStatus({ phase: 'failed', message: `Start-up failed: ${e.message}`, fraction: 0 }));

// A run in progress and a trained model on offer live only in the worker: leaving or reloading
// the page loses them, so the browser asks first.
window.addEventListener('beforeunload', (event) => {
  if (!app.ready || !(training.inProgress() || models.offerPending())) return;
  event.preventDefault();
  event.returnValue = true; // browsers before the standard preventDefault() (Chromium < 119)
});
