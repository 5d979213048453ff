// Data-parallel training across several Pyodide workers (no SharedArrayBuffer needed).
//
// The page's own worker runs the one trainer (pynet/trainer.py) and computes the first shard
// of every batch; helper workers (worker.js?role=helper), started on demand and kept, compute
// the others. This module only starts the helpers and connects each of them to the page's
// worker with a MessageChannel: from then on the two talk directly (web/worker.js), and the
// run reports its progress and its end like any other run, through the page's worker.

import { createClient } from './client.js';

export function createParallel(main) {
  const helpers = []; // [{ client, ready: Promise }]

  function makeHelper() {
    const entry = { isReady: false };
    const make = () => new Worker(new URL('./worker.js?role=helper', import.meta.url), { type: 'module' });
    entry.client = createClient(make, {
      onFatal: () => {
        // a broken helper is replaced; a run waiting for it ends with an error
        main.request('helperLost').catch(() => {});
        entry.isReady = false;
        entry.client.restart();
        entry.ready = entry.client.request('ready').then((info) => { entry.isReady = true; return info; });
        entry.ready.catch(() => {});
      },
    });
    entry.ready = entry.client.request('ready').then(async (info) => {
      // let the browser optimize the training code, as the page's worker does
      await entry.client.request('warmup', { ms: 1200 }).catch(() => {});
      entry.isReady = true;
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

  // Start a run shared by `workers` workers: the page's worker's 'train' with one port per helper.
  async function train(config, workers) {
    await ensureHelpers(workers - 1);
    const ports = await Promise.all(helpers.slice(0, workers - 1).map(async (h) => {
      const { port1, port2 } = new MessageChannel();
      await h.client.request('connect', { port: port2 }, [port2]);
      return port1;
    }));
    return main.request('train', { config, ports }, ports);
  }

  // helpers: how many were started; readyHelpers: how many of them can take a run now
  return { ensureHelpers, train, get helpers() { return helpers.length; },
           get readyHelpers() { return helpers.filter((h) => h.isReady).length; } };
}
