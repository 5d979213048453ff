// The analysis of the model in use: the test images it gets wrong, its confusion matrix (a cell
// shows its images) and its first-layer weights, also while a network trains.

import { WorkerRestarted } from './client.js';
import * as ui from './ui.js';

const { dom } = ui;

// While training, the weights are asked for at most this often, one request at a time, and
// only while they are on screen, so that training keeps its pace.
const WEIGHTS_WHILE_TRAINING_MS = 1500;
const IMAGES = 24; // test images shown: the mistakes, a cell's images
const TILES = 32; // first-layer units or kernels shown
const EVALUATE_MS = 40; // the worker evaluates the test set in slices of about this long
// A run's steps come first: while one is starting or going on (app.state, web/training.js; not
// while paused), the evaluation of the model in use (which no run changes before its end) waits,
// checking this often; otherwise its slices, answered between the run's steps, slow down a run
// started while the page is still analysing its model.
const HOLD_MS = 200;

// app: the page's state (window.pynet); app.analysedModel says which of the models shown
// (app.modelShown) the panel is of.
export function createAnalysis(client, app) {
  async function refresh() {
    const model = app.modelShown;
    const stale = () => app.modelShown !== model; // another model is shown: its own refresh takes over
    try {
      // the test set a slice at a time: drawings made meanwhile are read between two slices
      for (;;) {
        while (app.state === 'starting' || app.state === 'running') await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
        if (stale()) return;
        if ((await client.request('evaluate', { ms: EVALUATE_MS })).done) break;
      }
      if (stale()) return;
      const mistakes = await client.request('misclassified', { k: IMAGES });
      const weights = await client.request('firstLayer', { n: TILES });
      if (stale()) return;
      ui.showMistakes(mistakes);
      ui.showWeights(weights);
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
      ui.showCell(t, p, await client.request('cellImages', { true: t, predicted: p, k: IMAGES }));
    } catch (e) {
      if (!(e instanceof WorkerRestarted)) dom.cellCaption.textContent = `Could not show these images: ${e.message}`;
    }
  });

  // The first-layer weights of the network being trained (called on each progress report).
  const weights = { at: 0, busy: false };
  async function refreshWhileTraining() {
    if (!dom.analysis.open || weights.busy || performance.now() - weights.at < WEIGHTS_WHILE_TRAINING_MS) return;
    weights.busy = true;
    try {
      ui.showWeights(await client.request('firstLayer', { n: TILES }));
      app.weightRefreshes = (app.weightRefreshes || 0) + 1;
    } catch (e) {
      if (!(e instanceof WorkerRestarted)) console.warn(`Could not refresh the weights: ${e.message}`);
    } finally {
      weights.at = performance.now();
      weights.busy = false;
    }
  }

  return { refresh, refreshWhileTraining };
}
