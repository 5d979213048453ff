// A tiny promise client for the worker: request(type, payload) -> Promise of the reply.
// Unprompted messages (status, progress, trained, fatal) go to the listeners given to on().
//
// The worker can be replaced: restart() terminates it, rejects every pending request with a
// WorkerRestarted error and starts a fresh one from makeWorker(). The client reports a dead
// or broken worker to onFatal(reason): an uncaught error in the worker (worker.onerror), a
// 'fatal' message from it, or a request left unanswered for longer than its timeout (the
// page decides what to do: it restarts the worker unless a training run is in progress).
// onAnswer(type) hears of every request the worker answered without breaking.

// Generous: a request waits behind whatever the worker is doing (evaluating a big uploaded
// model on the 10,000 test images takes tens of seconds); a timeout means it is stuck.
// 0: none. The network field's description only waits its turn: a stuck worker is found by the
// requests that matter, and its restart rejects the description's request too.
const TIMEOUTS_MS = { ready: 0, describe: 0, train: 180_000, loadDataset: 180_000, misclassified: 120_000,
                      loadModel: 120_000 };
const DEFAULT_TIMEOUT_MS = 60_000;

export class WorkerRestarted extends Error {
  constructor() {
    super('the worker was restarted');
    this.name = 'WorkerRestarted';
  }
}

export function createClient(makeWorker, { onFatal = () => {}, onAnswer = () => {} } = {}) {
  let next = 1;
  let worker = null;
  let generation = 0;
  const pending = new Map();
  const listeners = new Map();

  function emit(type, payload) {
    for (const fn of listeners.get(type) || []) fn(payload);
  }

  function attach() {
    generation += 1;
    const mine = generation;
    worker = makeWorker();
    worker.onmessage = (event) => {
      const { id, type, payload } = event.data;
      if (id !== undefined && pending.has(id)) {
        const { resolve, reject, timer, request } = pending.get(id);
        clearTimeout(timer);
        pending.delete(id);
        // fatal: the worker's runtime broke (a WebAssembly trap), not a refusal of the request
        // field: the setting a refusal is about (as data; see pynet/bridge.py handle)
        if (type === 'error') reject(Object.assign(new Error(payload.message), { fatal: Boolean(payload.fatal), field: payload.field ?? null }));
        else resolve(payload);
        // the worker answered (a result, or a refusal it could still give): it works
        if (type === 'result' || !payload.fatal) onAnswer(request);
        return;
      }
      if (type === 'fatal') onFatal({ kind: 'fatal', message: payload.message });
      else emit(type, payload);
    };
    worker.onerror = (event) => {
      event.preventDefault?.(); // handled here: the page recovers
      // no message: the worker's script could not be loaded at all
      if (mine === generation) onFatal({ kind: 'error', message: event.message || 'its script could not be loaded' });
    };
  }
  attach();

  return {
    request(type, payload = {}, transfer = [], { timeoutMs } = {}) {
      const id = next++;
      const limit = timeoutMs ?? TIMEOUTS_MS[type] ?? DEFAULT_TIMEOUT_MS;
      const mine = generation;
      return new Promise((resolve, reject) => {
        const timer = limit ? setTimeout(() => {
          if (!pending.has(id)) return;
          pending.delete(id);
          reject(new Error(`the worker did not answer a '${type}' request within ${Math.round(limit / 1000)} s`));
          if (mine === generation) onFatal({ kind: 'timeout', message: type });
        }, limit) : null;
        pending.set(id, { resolve, reject, timer, request: type });
        worker.postMessage({ id, type, payload }, transfer);
      });
    },
    on(type, fn) {
      if (!listeners.has(type)) listeners.set(type, []);
      listeners.get(type).push(fn);
    },
    // Terminate the worker and start a new one; pending requests fail with WorkerRestarted.
    restart() {
      worker.onmessage = null;
      worker.onerror = null;
      worker.terminate();
      for (const { reject, timer } of pending.values()) {
        clearTimeout(timer);
        reject(new WorkerRestarted());
      }
      pending.clear();
      attach();
    },
  };
}
