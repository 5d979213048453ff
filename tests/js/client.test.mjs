// web/client.js with stand-in workers: answers, refusals, a broken runtime, an uncaught error,
// a worker that never answers (timeout) and restarts. Run: node --test tests/js/
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createClient, WorkerRestarted } from '../../web/client.js';

// A stand-in Worker: reply(message) decides what it answers to each request (or nothing).
function fakeWorkers(reply) {
  const made = [];
  const makeWorker = () => {
    const w = {
      terminated: false,
      onmessage: null,
      onerror: null,
      posted: [],
      postMessage(data) {
        this.posted.push(data);
        const answer = reply(data, w);
        if (answer) queueMicrotask(() => w.onmessage?.({ data: { id: data.id, ...answer } }));
      },
      terminate() { this.terminated = true; },
    };
    made.push(w);
    return w;
  };
  return { made, makeWorker };
}

test('a request resolves with the worker\'s result and counts as an answer', async () => {
  const { made, makeWorker } = fakeWorkers((d) => ({ type: 'result', payload: { echo: d.payload.x } }));
  const answered = [];
  const client = createClient(makeWorker, { onAnswer: (type) => answered.push(type) });
  assert.deepEqual(await client.request('predict', { x: 7 }), { echo: 7 });
  assert.deepEqual(answered, ['predict']);
  assert.equal(made[0].posted[0].type, 'predict');
});

test('a refusal rejects with its message; a fatal error is marked fatal and is no answer', async () => {
  let fatal = false;
  const { makeWorker } = fakeWorkers(() => ({ type: 'error', payload: { message: 'not a model', fatal } }));
  const answered = [];
  const client = createClient(makeWorker, { onAnswer: (type) => answered.push(type) });
  await assert.rejects(client.request('loadModel'), (e) => e.message === 'not a model' && e.fatal === false);
  fatal = true;
  await assert.rejects(client.request('loadModel'), (e) => e.fatal === true);
  assert.deepEqual(answered, ['loadModel']);
});

test('an unanswered request times out and reports the worker as broken', async () => {
  const { makeWorker } = fakeWorkers(() => null);
  const reasons = [];
  const client = createClient(makeWorker, { onFatal: (r) => reasons.push(r) });
  await assert.rejects(client.request('modelInfo', {}, [], { timeoutMs: 20 }), /did not answer a 'modelInfo' request/);
  assert.deepEqual(reasons, [{ kind: 'timeout', message: 'modelInfo' }]);
});

test('an uncaught error in the worker and a fatal message are reported', () => {
  const { made, makeWorker } = fakeWorkers(() => null);
  const reasons = [];
  createClient(makeWorker, { onFatal: (r) => reasons.push(r) });
  let prevented = false;
  made[0].onerror({ message: 'boom', preventDefault: () => { prevented = true; } });
  made[0].onmessage({ data: { type: 'fatal', payload: { message: 'trap' } } });
  assert.deepEqual(reasons, [{ kind: 'error', message: 'boom' }, { kind: 'fatal', message: 'trap' }]);
  assert.equal(prevented, true);
});

test('restart ends the worker, rejects what was pending and ignores the old one', async () => {
  const { made, makeWorker } = fakeWorkers((d, w) => (w === made[1] ? { type: 'result', payload: 'fresh' } : null));
  const reasons = [];
  const client = createClient(makeWorker, { onFatal: (r) => reasons.push(r) });
  const pending = client.request('train', {}, [], { timeoutMs: 50 });
  const old = made[0];
  client.restart();
  await assert.rejects(pending, WorkerRestarted);
  assert.equal(old.terminated, true);
  assert.equal(old.onerror, null);
  assert.equal(await client.request('ready'), 'fresh');
  await new Promise((r) => setTimeout(r, 80)); // past the old request's timeout
  assert.deepEqual(reasons, []); // the old request's timer and worker no longer count
});

test('unprompted messages go to their listeners', () => {
  const { made, makeWorker } = fakeWorkers(() => null);
  const client = createClient(makeWorker);
  const seen = [];
  client.on('progress', (p) => seen.push(p));
  made[0].onmessage({ data: { type: 'progress', payload: { step: 3 } } });
  assert.deepEqual(seen, [{ step: 3 }]);
});
