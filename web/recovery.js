// A worker that stopped (an uncaught error, its Python runtime broken, a request left
// unanswered) is restarted with the model in use kept; one that keeps stopping is given up.

import * as ui from './ui.js';

// Give up rather than loop: after RESTART_LIMIT restarts in a row (no request answered by a
// restarted worker in between: it breaks again at once, so it will keep breaking), or after
// RESTART_CAP restarts within RESTART_WINDOW_MS whatever happened between them.
const RESTART_LIMIT = 3;
const RESTART_CAP = 6;
const RESTART_WINDOW_MS = 5 * 60_000;

// app: the page's state (window.pynet); app.recovering while a restarted worker starts,
// app.restarts counts the restarts. training, models, reading, analysis: reset and refreshed
// once the new worker is ready.
export function createRecovery(client, app, { training, models, reading, analysis }) {
  const restartTimes = [];
  let restartsInARow = 0;
  let attempts = 0;
  let gaveUp = false;
  let lostRun = false;

  // The client's onFatal(reason).
  function workerFailed(reason) {
    if (reason.kind === 'timeout' && (app.state === 'running' || app.state === 'paused')) return;
    if (!app.ready && !app.everReady) {
      // it never started: restarting would most likely fail the same way
      ui.setStatus({ phase: 'failed', message: `The worker failed: ${reason.message}`, fraction: 0 });
      return;
    }
    restart();
  }

  // The client's onAnswer(type): a worker that answers real requests works, so a later failure
  // starts a new count of restarts in a row.
  function answered(type) {
    if (!app.recovering && type !== 'ready') restartsInARow = 0;
  }

  // Resolves once a worker restart in progress (or about to start) has finished.
  async function recovered(timeoutMs = 120_000) {
    const end = performance.now() + timeoutMs;
    await new Promise((r) => setTimeout(r, 200)); // the 'fatal' message that starts the recovery follows the error
    while (app.recovering || !app.ready) {
      if (gaveUp || performance.now() > end) throw new Error('the worker could not be restarted');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function restart() {
    const now = performance.now();
    while (restartTimes.length && now - restartTimes[0] > RESTART_WINDOW_MS) restartTimes.shift();
    if (restartsInARow >= RESTART_LIMIT || restartTimes.length >= RESTART_CAP) {
      app.ready = false;
      gaveUp = true;
      training.setState('disabled');
      ui.setStatus({ phase: 'failed', message: 'The worker keeps stopping; reload the page to start again.', fraction: 0 });
      return;
    }
    // A worker that breaks while it starts is restarted again (and counts as a restart in a row):
    // the attempt it interrupted gives way to this one.
    const attempt = ++attempts;
    restartsInARow += 1;
    restartTimes.push(now);
    app.recovering = true;
    app.ready = false;
    app.restarts += 1;
    if (app.run !== null && app.state !== 'idle') {
      lostRun = true;
      training.lost();
    }
    app.run = null;
    training.setState('disabled');
    ui.setStatus({ phase: 'restarting', message: 'The worker stopped unexpectedly; restarting it…', fraction: 0 });
    client.restart();
    try {
      const info = await client.request('ready');
      await models.reload(info.model);
      app.memory = info.memory;
      ui.showMemory(info.memory);
      app.ready = true;
      app.recovering = false;
      training.setState('idle');
      ui.formMessage('', 'ok');
      ui.setStatus({ phase: 'ready', fraction: 1,
                     message: 'The worker stopped unexpectedly and was restarted; your model was kept' });
      if (lostRun) ui.trainMessage('The training run in progress was lost when the worker stopped; the model from before it is in use.', 'error');
      lostRun = false;
      reading.refresh();
      await analysis.refresh();
    } catch (e) {
      if (attempt !== attempts) return; // the new worker broke too: a newer restart has taken over
      app.recovering = false;
      ui.setStatus({ phase: 'failed', message: `The worker stopped and could not be restarted: ${e.message}`, fraction: 0 });
    }
  }

  return { workerFailed, answered, recovered };
}
