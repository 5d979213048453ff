// Training from the form (web/form.js): the number of workers, Train/Pause/Stop, a run's progress
// (charts, figures) and its end. app.run is the run in progress, app.lastRun the record of the
// last one ended (read by the tests and benchmarks).

import { WorkerRestarted } from './client.js';
import { settings } from './settings.js';
import * as ui from './ui.js';

const { dom } = ui;

const ACCURACY_TARGETS = [0.87, 0.9, 0.95, 0.97, 0.98, 0.99]; // when a run first reached each (app.run.reachedAt)
// app.state while a run is starting, going on or paused (the form is locked)
export const RUN_STATES = ['starting', 'running', 'paused'];

// Data-parallel training (web/parallel.js): the page's worker runs the trainer; helper workers
// start only once the user picks more than one. Workers: 1 .. min(hardwareConcurrency, the limit).
const MAX_WORKERS = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, settings.limits.max_workers));

// app: the page's state (window.pynet). parallel: web/parallel.js's helpers. charts: web/charts.js.
// models: told of the model a run leaves in use or on offer; analysis: of each progress report.
// form: web/form.js's, told of a refused setting. history: web/history.js's, given each run that ends.
export function createTraining(client, app, { parallel, charts, models, analysis, form, history }) {
  for (let k = 1; k <= MAX_WORKERS; k++) dom.workers.append(new Option(String(k), String(k)));
  // The default (settings.json, README "Workers") whatever hardwareConcurrency says beyond it: it
  // is not a count of free cores (WebKit never reports fewer than 4). Helpers start loading after
  // the page's own warm-up (app.js); a run that needs one still loading says so.
  dom.workers.value = String(Math.min(MAX_WORKERS, settings.limits.default_workers));
  app.maxWorkers = MAX_WORKERS;
  const chosenWorkers = () => Number(dom.workers.value) || 1;
  function startHelpers() {
    const n = chosenWorkers() - 1;
    if (app.ready && n > 0) parallel.ensureHelpers(n).then(() => { app.helpersReady = parallel.helpers; }).catch(() => {});
  }
  dom.workers.addEventListener('change', startHelpers);
  setState('disabled');

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
    // a run never waits for a helper's runtime without saying so
    const starting = workers - 1 - parallel.readyHelpers;
    ui.formMessage(starting > 0 ? `Starting ${starting} more worker${starting > 1 ? 's' : ''} for this run (each loads `
      + `a Python runtime of its own, once)${values.dataset === 'full' ? ' and loading the 50,000 training images' : ''}…`
      : values.dataset === 'full' ? 'Loading the 50,000 training images (11 MB)…' : 'Starting…', 'ok');
    try {
      const summary = workers > 1 ? await parallel.train(config, workers) : await client.request('train', { config });
      beginRun(summary, values);
      ui.formMessage('', 'ok');
      setState('running');
    } catch (e) {
      app.run = null;
      if (e instanceof WorkerRestarted) return; // the recovery resets the form and says what happened
      app.formErrors = (app.formErrors || 0) + 1;
      form.refused(`Not started: ${e.message}.`, e.field);
      setState('idle');
    }
  });

  dom.pause.addEventListener('click', async () => {
    if (app.state === 'running') {
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

  function beginRun(summary, values) {
    models.offer(null); // the worker drops an offer nobody took when a run starts
    app.run = { ...summary, form: values, started: app.run?.started ?? performance.now(), firstLosses: [], lastLosses: [],
                losses: [], epochMemory: [], peakMemory: 0, reachedAt: {}, epochTests: [] };
    charts.reset();
    ui.resetLive();
    ui.showProgress({ step: 0, total: summary.total_steps, samplesPerS: 0, etaS: NaN });
    const c = summary.config;
    app.run.workers = summary.workers ?? 1;
    const what = c.batch_size === 0 || c.batch_size >= summary.train_size
      ? `${c.epochs.toLocaleString()} full-batch iteration${c.epochs === 1 ? '' : 's'}`
      : `${c.epochs} epoch${c.epochs === 1 ? '' : 's'} of ${summary.batches} ${app.run.workers > 1 ? 'steps' : 'batches'}`
        // each worker a batch of the form's size: a step takes them all, at a learning rate as many times larger
        + (app.run.workers > 1 ? `, each step ${app.run.workers} batches of ${summary.worker_batch}, one per worker, `
          + `so ${app.run.workers} × the form's learning rate ${values.learning_rate}` : '');
    ui.trainMessage(`Training ${summary.network} (${summary.activation}, ${c.optimizer}, learning rate ${c.learning_rate}) `
      + `on ${summary.train_size.toLocaleString()} images: ${what}.`);
  }

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
      for (const target of ACCURACY_TARGETS) {
        if (e.test_acc !== null && e.test_acc >= target && app.run.reachedAt[target] === undefined) {
          app.run.reachedAt[target] = (performance.now() - app.run.started) / 1000;
        }
      }
      app.run.epochMemory.push([e.epoch, r.memory ?? null]);
      app.run.epochTests.push([e.epoch, e.test_acc, (performance.now() - app.run.started) / 1000]);
    }
    ui.showAccuracy(trainAcc, testAcc);
    const last = r.losses.findLast(([, y]) => y != null);
    if (last) ui.showLoss(last[1]);
    const perStep = r.step ? r.elapsed_s / r.step : NaN;
    ui.showProgress({ step: r.step, total: r.total_steps, samplesPerS: r.samples_per_s,
                      etaS: perStep * (r.total_steps - r.step), evaluating: r.evaluating });
    app.progress = { step: r.step, total: r.total_steps, samplesPerS: r.samples_per_s, elapsed: r.elapsed_s,
                     at: performance.now() };
    charts.draw();
    analysis.refreshWhileTraining();
  }

  async function onTrained({ reason, message, model, offer, timing }) {
    setState('idle');
    charts.draw(true);
    const acc = app.run && charts.lastTest();
    if (app.run) {
      app.lastRun = record(app.run, reason, acc, timing);
      dom.loss.dataset.losses = JSON.stringify(app.lastRun.losses);
      history.add(app.run, app.lastRun, charts.curves());
    }
    app.run = null;
    app.runs = (app.runs || 0) + 1;
    if (reason === 'completed' && offer) {
      ui.trainMessage(`Done${acc != null ? `: ${(acc * 100).toFixed(1)}% of the test images right` : ''}. `
        + 'The trained model is offered below; the model in use stays until you choose.', 'ok');
    } else if (reason === 'completed') {
      ui.trainMessage(`Done${acc != null ? `: ${(acc * 100).toFixed(1)}% of the test images right` : ''}. `
        + 'The trained model now reads your drawings.', 'ok');
    } else if (reason === 'stopped') {
      ui.trainMessage(message && message !== 'stopped' ? message : 'Stopped.', '');
    } else {
      ui.trainMessage(`The run ended: ${message}.`, 'error');
    }
    models.offer(offer ?? null);
    await models.changed(model);
  }

  // What the tests and benchmarks read of a run that ended (app.lastRun); timing: where a
  // data-parallel run's time went (web/worker.js), for benchmarks/parallel_results.md.
  function record(run, reason, testAcc, timing) {
    const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
    const workers = run.workers ?? 1;
    return { firstLoss: mean(run.firstLosses), lastLoss: mean(run.lastLosses), testAcc,
             reached87: run.reachedAt?.[0.87] ?? null, reached97: run.reachedAt?.[0.97] ?? null, seconds: (performance.now() - run.started) / 1000,
             samplesPerS: app.progress?.samplesPerS, reason, endedAt: performance.now(),
             losses: run.losses ?? [], epochMemory: run.epochMemory ?? [],
             peakMemory: run.peakMemory ?? null, reachedAt: run.reachedAt ?? {},
             workers, step: run.step ?? 0, totalSteps: run.total_steps, augment: run.config?.augment ?? null,
             parallelTiming: timing ?? null, config: run.config ?? null, workerBatch: run.worker_batch ?? null,
             epochTests: run.epochTests ?? [] };
  }

  client.on('progress', onProgress);
  client.on('trained', onTrained);

  // A run that another module starts (start(): the worker's request, answering the run's
  // summary; web/samples.js's fine-tuning): shown, paused, stopped and ended as one from the form.
  async function runFrom(start) {
    if (app.state !== 'idle') throw new Error('a training run is already in progress');
    setState('starting');
    app.run = { started: performance.now(), firstLosses: [], lastLosses: [] };
    try {
      const summary = await start();
      beginRun(summary);
      setState('running');
      return summary;
    } catch (e) {
      app.run = null;
      if (!(e instanceof WorkerRestarted)) setState('idle');
      throw e;
    }
  }

  // The worker stopped during a run (web/recovery.js): the run so far goes into the history as
  // lost, with its curves; nothing of it survives in the worker.
  function lost() {
    if (!app.run?.total_steps) return; // it had not begun
    charts.draw(true);
    app.lastRun = record(app.run, 'lost', charts.lastTest(), null);
    history.add(app.run, app.lastRun, charts.curves());
  }

  return {
    setState,
    startHelpers,
    runFrom,
    lost,
    // a run is starting, running or paused
    inProgress: () => RUN_STATES.includes(app.state),
  };
}
