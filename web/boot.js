// The page's first module (index.html loads it ahead of app.js): starts the worker at once, so
// that Pyodide loads while the browser still fetches and runs the page's other modules. What
// the worker says before app.js's client takes it over (web/client.js) is kept and handed on.

export const bootedAt = performance.now(); // ms since navigation started (app.js's status log)

const makeWorker = () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let first = makeWorker();
const early = [];
first.onmessage = (event) => early.push(event);
first.onerror = (event) => {
  event.preventDefault();
  early.push(event);
};

// The worker for the page's client: the first time the one started above, whose events so far
// arrive again once the client has set its handlers; after that (a restart) a new one.
export function takeWorker() {
  if (!first) return makeWorker();
  const worker = first;
  first = null;
  worker.onmessage = null;
  worker.onerror = null;
  queueMicrotask(() => {
    for (const e of early.splice(0)) {
      worker.dispatchEvent(e.type === 'error' ? new ErrorEvent('error', { message: e.message, cancelable: true })
        : new MessageEvent('message', { data: e.data }));
    }
  });
  return worker;
}
