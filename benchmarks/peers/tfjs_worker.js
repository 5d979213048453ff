// TensorFlow.js in a Web Worker, for benchmarks/peers.py: the recipes pynet's page trains, on the
// same MNIST arrays (written by peers.py from the site's data files), timed in this worker.
// One worker per backend: tfjs_worker.js?backend=wasm (SIMD, one thread) or ?backend=cpu.
//
// Messages in:  {id, type, payload}   type: 'init', 'load', 'fit', 'to_target', 'batches'
// Replies:      {id, type: 'result' | 'error', payload}     (the envelope of web/worker.js)

importScripts('tfjs/tf.min.js', 'tfjs/tf-backend-wasm.min.js');

const backend = new URL(self.location.href).searchParams.get('backend');
const data = {}; // name ('small' | 'full') -> split -> {x: Tensor2D (n, 784), y: one-hot Tensor2D, labels: Uint8Array}

async function bytes(path) {
  const response = await fetch(new URL(path, self.location.href));
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function init() {
  if (backend === 'wasm') {
    tf.wasm.setWasmPaths(new URL('tfjs/', self.location.href).href);
    tf.wasm.setThreadsCount(1); // and the page is not cross-origin isolated: no SharedArrayBuffer, no threads
  }
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start`);
  await tf.ready();
  const info = { tfjs: tf.version.tfjs, backend: tf.getBackend() };
  if (backend === 'wasm') {
    info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    info.multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    info.threads = tf.wasm.getThreadsCount();
  }
  return info;
}

// Pixels k/256 as pynet reads them (pynet/data.py), one-hot labels for the cross-entropy.
async function load({ name, splits }) {
  if (data[name]) return { loaded: name };
  data[name] = {};
  for (const split of splits) {
    const [x8, labels] = await Promise.all([bytes(`peers-data/${name}-${split}-x.u8`), bytes(`peers-data/${name}-${split}-y.u8`)]);
    const x = new Float32Array(x8.length);
    for (let i = 0; i < x8.length; i++) x[i] = x8[i] / 256;
    const n = labels.length;
    data[name][split] = {
      x: tf.tensor2d(x, [n, 784]),
      y: tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat()),
      labels,
    };
  }
  return { loaded: name };
}

// The recipes of benchmarks/peers.py in tf.layers.
function model({ kind, hidden, learningRate }) {
  const m = tf.sequential();
  if (kind === 'conv') { // conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10 (pynet/spec.py; valid padding)
    m.add(tf.layers.conv2d({ filters: 8, kernelSize: 5, activation: 'relu', inputShape: [28, 28, 1] }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
  } else {
    m.add(tf.layers.dense({ units: hidden, activation: 'relu', inputShape: [784] }));
  }
  m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  m.compile({ optimizer: tf.train.adam(learningRate), loss: 'categoricalCrossentropy' });
  return m;
}

function inputs(r, x) {
  return r.kind === 'conv' ? x.reshape([x.shape[0], 28, 28, 1]) : x;
}

// Test accuracy, predicted in slices as pynet evaluates.
function accuracy(m, r, split) {
  let correct = 0;
  const n = split.labels.length;
  for (let i = 0; i < n; i += 2000) {
    const k = Math.min(2000, n - i);
    const predicted = tf.tidy(() => m.predict(inputs(r, split.x.slice([i, 0], [k, 784]))).argMax(-1).dataSync());
    for (let j = 0; j < k; j++) correct += predicted[j] === split.labels[i + j] ? 1 : 0;
  }
  return correct / n;
}

// Samples/s of model.fit over the whole run (epochs of train_size images), as pynet's page
// reports it: the run's samples over its training time, evaluation excluded (there is none here).
async function fit(r) {
  const m = model(r);
  const train = data[r.dataset].train;
  const [x, y] = tf.tidy(() => [inputs(r, train.x.slice([0, 0], [r.trainSize, 784])), train.y.slice([0, 0], [r.trainSize, 10])]);
  const t0 = performance.now();
  await m.fit(x, y, { batchSize: r.batchSize, epochs: r.epochs, shuffle: true });
  const seconds = (performance.now() - t0) / 1000;
  const test = accuracy(m, r, data[r.dataset].test);
  tf.dispose([x, y]);
  m.dispose();
  return { samples_per_s: r.trainSize * r.epochs / seconds, seconds, test_acc: test };
}

// Epochs until the test accuracy reaches r.target, each epoch followed by the evaluation of
// the validation and test sets (as pynet's trainer does); wall time from the request on.
async function toTarget(r) {
  const t0 = performance.now();
  const m = model(r);
  const d = data[r.dataset];
  let trainS = 0;
  let test = 0;
  let epoch = 0;
  while (epoch < r.epochs) {
    epoch += 1;
    const t = performance.now();
    await m.fit(d.train.x, d.train.y, { batchSize: r.batchSize, epochs: 1, shuffle: true });
    trainS += (performance.now() - t) / 1000;
    if (d.validation) accuracy(m, r, d.validation);
    test = accuracy(m, r, d.test);
    if (test >= r.target) break;
  }
  m.dispose();
  return { seconds: (performance.now() - t0) / 1000, reached: test >= r.target, epochs: epoch, test_acc: test,
           samples_per_s: epoch * d.train.labels.length / trainS };
}

// Samples/s over r.batches batches after r.warm batches (model.fit, one batch after the other).
async function batches(r) {
  const m = model(r);
  const n = (r.warm + r.batches) * r.batchSize;
  const train = data[r.dataset].train;
  const [x, y] = tf.tidy(() => [inputs(r, train.x.slice([0, 0], [n, 784])), train.y.slice([0, 0], [n, 10])]);
  let t0 = null;
  let t1 = null;
  await m.fit(x, y, {
    batchSize: r.batchSize, epochs: 1, shuffle: false,
    callbacks: { onBatchEnd: (b) => { if (b === r.warm - 1) t0 = performance.now(); if (b === r.warm + r.batches - 1) t1 = performance.now(); } },
  });
  tf.dispose([x, y]);
  m.dispose();
  return { samples_per_s: r.batches * r.batchSize / ((t1 - t0) / 1000) };
}

const jobs = { init, load, fit, to_target: toTarget, batches };

onmessage = async ({ data: { id, type, payload } }) => {
  try {
    postMessage({ id, type: 'result', payload: await jobs[type](payload || {}) });
  } catch (e) {
    postMessage({ id, type: 'error', payload: { message: String(e && e.stack || e) } });
  }
};
