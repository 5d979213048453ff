// A tiny promise client for the worker: request(type, payload) -> Promise of the reply.
// Unprompted messages (status, progress, trained) go to the listeners given to on().

export function createClient(worker) {
  let next = 1;
  const pending = new Map();
  const listeners = new Map();

  worker.onmessage = (event) => {
    const { id, type, payload } = event.data;
    if (id !== undefined && pending.has(id)) {
      const { resolve, reject } = pending.get(id);
      pending.delete(id);
      if (type === 'error') reject(new Error(payload.message));
      else resolve(payload);
      return;
    }
    for (const fn of listeners.get(type) || []) fn(payload);
  };
  worker.onerror = (event) => {
    for (const fn of listeners.get('status') || []) {
      fn({ phase: 'failed', message: `The worker failed: ${event.message || 'unknown error'}`, fraction: 0 });
    }
  };

  return {
    request(type, payload = {}, transfer = []) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, type, payload }, transfer);
      });
    },
    on(type, fn) {
      if (!listeners.has(type)) listeners.set(type, []);
      listeners.get(type).push(fn);
    },
  };
}
