// Data-parallel training across several Pyodide workers (no SharedArrayBuffer needed).
//
// Rank 0 is the page's own worker (its client is given); ranks 1.. are helper workers
// (worker.js?role=helper), started on demand and kept. Every worker builds the same network
// and goes through the same shuffled batches (same seed); for each batch, each computes the
// summed gradient of its shard ('pstep'), this thread adds them up, divides by the batch
// size and sends the mean back to all ('pstep' again, which also computes the next shard).
// The parameters thus stay the same on every worker. Rank 0 evaluates the test set at the
// end of each epoch, in chunks, and its network becomes the current model at the end.
//
// Progress and the end of a run are reported through onProgress / onTrained with the same
// payloads as the single worker's 'progress' and 'trained' messages, so the page treats both
// alike. Pause and stop are checked between two steps (a step takes tens of milliseconds).

import { createClient, WorkerRestarted } from './client.js';

const REPORT_MS = 60;
const STEP_TIMEOUT_MS = 60_000;

// The mean of the shards' summed gradients: one pass, each element added up in double precision.
function meanOf(grads, n, size) {
  const mean = new Float32Array(size);
  if (grads.length === 2) {
    const [a, b] = grads;
    for (let i = 0; i < size; i++) mean[i] = (a[i] + b[i]) / n;
  } else {
    for (let i = 0; i < size; i++) {
      let s = 0;
      for (let k = 0; k < grads.length; k++) s += grads[k][i];
      mean[i] = s / n;
    }
  }
  return mean;
}

export function createParallel(main, { onProgress, onTrained }) {
  const helpers = []; // [{ client, ready: Promise }]
  const run = { active: false, paused: false, stopped: false, resume: null };
  let lastTiming = null;

  function makeHelper() {
    const entry = {};
    const make = () => new Worker(new URL('./worker.js?role=helper', import.meta.url), { type: 'module' });
    entry.client = createClient(make, {
      onFatal: () => {
        // a broken helper is replaced; a run using it ends with an error (its request fails)
        entry.client.restart();
        entry.ready = entry.client.request('ready');
        entry.ready.catch(() => {});
      },
    });
    entry.ready = entry.client.request('ready').then(async (info) => {
      // let the browser optimize the training code, as the page's worker does
      await entry.client.request('warmup', { ms: 1200 }).catch(() => {});
      return info;
    });
    entry.ready.catch(() => {});
    return entry;
  }

  // Start helpers until there are n (kept for later runs); resolves when they are ready.
  function ensureHelpers(n) {
    while (helpers.length < n) helpers.push(makeHelper());
    return Promise.all(helpers.slice(0, n).map((h) => h.ready));
  }

  // A helper's failure must end the run with an error: only a restart of the page's own worker
  // (WorkerRestarted from rank 0) is left to the page's recovery.
  function clientsFor(world) {
    return [main, ...helpers.slice(0, world - 1).map((h) => ({
      request: (...args) => h.client.request(...args).catch((e) => {
        throw e instanceof WorkerRestarted ? new Error('a helper worker stopped unexpectedly') : e;
      }),
    }))];
  }

  async function train(config, world) {
    if (run.active) throw new Error('a training run is already in progress; stop it first');
    await ensureHelpers(world - 1);
    const clients = clientsFor(world);
    // rank 0 first: it checks the settings (a bad value is reported before the helpers start)
    const summary = await main.request('pstart', { config, rank: 0, world }, [], { timeoutMs: 180_000 });
    await Promise.all(clients.slice(1).map((c, k) => c.request('pstart', { config, rank: k + 1, world }, [],
                                                               { timeoutMs: 180_000 })));
    Object.assign(run, { active: true, paused: false, stopped: false, resume: null });
    setTimeout(() => loop(clients, summary, config), 0); // after the reply, like the worker's train
    return { ...summary, workers: world };
  }

  function pause() { run.paused = run.active; return { paused: run.paused }; }
  function resume() {
    run.paused = false;
    if (run.resume) { run.resume(); run.resume = null; }
    return { paused: false };
  }
  function stop() {
    if (!run.active) return false;
    run.stopped = true;
    resume();
    return true;
  }

  async function loop(clients, summary, config) {
    const c = summary.config;
    const m = summary.train_size;
    const size = summary.gradient_size;
    const started = performance.now();
    let evalMs = 0;
    let seen = 0;
    let epochLoss = 0;
    let epochCorrect = 0;
    let report = { losses: [], epochs: [] };
    let lastReport = performance.now();
    let memory = null;
    let step = 0;
    let epoch = 0;
    // where the time goes (for the measurements in benchmarks/parallel_results.md): waiting for
    // the workers' steps, adding up gradients on this thread, evaluating on rank 0
    // and, per rank, the time its worker spent applying the mean gradient and computing its shard
    const timing = { steps: 0, waitMs: 0, sumMs: 0, evalMs: 0, applyMs: clients.map(() => 0), gradMs: clients.map(() => 0) };
    lastTiming = timing;

    const post = (evaluating = false) => {
      const elapsed = (performance.now() - started) / 1000;
      onProgress({ ...report, done: null, step, total_steps: summary.total_steps, epoch, epochs_total: c.epochs,
                   batches: summary.batches, samples_per_s: seen / Math.max(elapsed - evalMs / 1000, 1e-9),
                   elapsed_s: elapsed, evaluating, memory, workers: clients.length });
      report = { losses: [], epochs: [] };
      lastReport = performance.now();
    };
    const waitWhilePaused = async () => {
      while (run.paused && !run.stopped) await new Promise((resolve) => { run.resume = resolve; });
    };
    const end = async (reason, message, ended) => {
      run.active = false;
      await Promise.all(clients.slice(1).map((cl) => cl.request('pfinish', { reason }).catch(() => null)));
      const { model, offer } = ended ?? await main.request('pfinish', { reason });
      onTrained({ reason, message, model, offer });
    };

    try {
      let parts = await Promise.all(clients.map((cl) => cl.request('pstep', {}, [], { timeoutMs: STEP_TIMEOUT_MS })));
      for (;;) {
        await waitWhilePaused();
        if (run.stopped) {
          post();
          return end('stopped', 'stopped');
        }
        // the batch's mean gradient: the shards' summed gradients added up, over the batch size
        const tSum = performance.now();
        let n = 0;
        let lossSum = 0;
        const grads = [];
        for (const p of parts) {
          n += p.n;
          lossSum += p.loss_sum;
          epochCorrect += p.correct;
          grads.push(new Float32Array(p.grad.buffer, p.grad.byteOffset, size));
        }
        const mean = meanOf(grads, n, size);
        const loss = lossSum / n;
        epochLoss += lossSum;
        seen += n;
        const bytes = new Uint8Array(mean.buffer);
        const tWait = performance.now();
        timing.sumMs += tWait - tSum;
        parts = await Promise.all(clients.map((cl, k) => {
          const copy = k === clients.length - 1 ? bytes : bytes.slice();
          return cl.request('pstep', { mean: copy, loss }, [copy.buffer], { timeoutMs: STEP_TIMEOUT_MS });
        }));
        timing.waitMs += performance.now() - tWait;
        timing.steps += 1;
        parts.forEach((p, k) => { timing.applyMs[k] += p.ms?.apply ?? 0; timing.gradMs[k] += p.ms?.grad ?? 0; });
        const ev = parts[0].event;
        memory = parts[0].memory ?? memory;
        if (ev.type === 'done') { // diverged: every rank saw the same loss and stopped
          post();
          return end('diverged', ev.message, ev);
        }
        step = ev.step;
        epoch = ev.epoch;
        report.losses.push([step, Number.isFinite(loss) ? loss : null]);
        if (ev.epoch_end) {
          const e = { epoch: ev.epoch, epochs: c.epochs, loss: epochLoss / m, train_acc: epochCorrect / m };
          epochLoss = 0;
          epochCorrect = 0;
          if (ev.epoch % c.eval_every === 0 || ev.epoch === c.epochs) {
            let done = null;
            while (!done) {
              post(true);
              await waitWhilePaused();
              if (run.stopped) break;
              const t = performance.now();
              const r = await main.request('peval', { epoch: e, ms: REPORT_MS });
              evalMs += performance.now() - t;
              timing.evalMs += performance.now() - t;
              memory = r.memory ?? memory;
              done = r.epoch;
            }
            if (done) report.epochs.push(done);
          } else {
            report.epochs.push(await main.request('pepoch', { epoch: e }));
          }
        }
        if (ev.finished) {
          post();
          return end('completed', 'training completed');
        }
        if (ev.epoch_end || performance.now() - lastReport >= REPORT_MS) post();
      }
    } catch (e) {
      run.active = false;
      if (e instanceof WorkerRestarted) return; // the page's worker restarted: the page's recovery reports it
      await Promise.all(clients.slice(1).map((cl) => cl.request('pfinish', { reason: 'error' }).catch(() => null)));
      const ended = await main.request('pfinish', { reason: 'stopped' }).catch(() => ({}));
      onTrained({ reason: 'error', message: `a worker failed: ${e.message}`, model: ended.model, offer: ended.offer });
    }
  }

  return {
    ensureHelpers, train, pause, resume, stop,
    get active() { return run.active; },
    get helpers() { return helpers.length; },
    get timing() { return lastTiming; },
  };
}
