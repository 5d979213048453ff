// DOM only: every element is looked up once here; app.js calls these functions.

import { settings } from './settings.js';

const $ = (id) => document.getElementById(id);

export const dom = {
  status: $('status'), loadProgress: $('load-progress'),
  draw: $('draw'), clear: $('clear'), tryTest: $('try-test'), padNote: $('pad-note'), modelName: $('model-name'),
  activations: $('activations'), activationsTitle: $('activations-title'), memory: $('memory'), schedule: $('schedule'),
  prediction: $('prediction'), probabilities: $('probabilities'), seen: $('seen'),
  form: $('train-form'), preset: $('preset'), network: $('network'), networkDescription: $('network-description'),
  activation: $('activation'), augment: $('augment'),
  optimizer: $('optimizer'), lr: $('lr'), epochs: $('epochs'), batch: $('batch'), trainSize: $('train-size'),
  seed: $('seed'), dataset: $('dataset'), formMessage: $('form-message'),
  train: $('train'), pause: $('pause'), stop: $('stop'),
  progress: $('progress'), progressText: $('progress-text'), step: $('step'), speed: $('speed'), eta: $('eta'),
  trainAcc: $('train-acc'), testAcc: $('test-acc'), trainMessage: $('train-message'),
  offer: $('offer'), offerText: $('offer-text'), useOffer: $('use-offer'), keepCurrent: $('keep-current'),
  loss: $('loss'), accChart: $('acc-chart'),
  samples: $('samples'), mistakes: $('mistakes'), errorsSummary: $('errors-summary'),
  confusion: $('confusion'), weights: $('weights'), weightsCaption: $('weights-caption'), cellCaption: $('cell-caption'), cellImages: $('cell-images'), analysis: $('analysis'),
  modelInfo: $('model-info'), modelLayers: $('model-layers'), download: $('download'), upload: $('upload'), resetModel: $('reset-model'), saveLocal: $('save-local'), restoreLocal: $('restore-local'),
  modelMessage: $('model-message'), workers: $('workers'), lossValue: $('loss-value'),
  copyLink: $('copy-link'), shareNote: $('share-note'), linkField: $('share-link'),
  historyTitle: $('history-title'), historyNote: $('history-note'), historyEmpty: $('history-empty'), historyTable: $('history'),
  historyBody: $('history-body'), historyUndo: $('history-undo'), historyCharts: $('history-charts'),
  historyLoss: $('history-loss'), historyAcc: $('history-acc'), historyCompare: $('history-compare'),
};

export const FIELDS = {
  network: dom.network, activation: dom.activation, optimizer: dom.optimizer, learning_rate: dom.lr,
  epochs: dom.epochs, batch_size: dom.batch, train_size: dom.trainSize, seed: dom.seed, dataset: dom.dataset,
  schedule: dom.schedule, augment: dom.augment,
};

export function setStatus({ phase, message, fraction }) {
  dom.status.textContent = message;
  dom.status.dataset.phase = phase;
  dom.loadProgress.value = fraction ?? 0;
  dom.loadProgress.hidden = phase === 'ready';
}

// ---- prediction -------------------------------------------------------------------------

const bars = [];
export function buildBars() {
  for (let d = 0; d < settings.n_classes; d++) {
    const li = document.createElement('li');
    li.innerHTML = `<span class="digit">${d}</span><span class="track"><span class="fill"></span></span><span class="pct">–</span>`;
    li.setAttribute('aria-label', `digit ${d}`);
    dom.probabilities.append(li);
    bars.push({ li, fill: li.querySelector('.fill'), pct: li.querySelector('.pct') });
  }
}

export function showPrediction({ probabilities, digit, image28, activations }) {
  if (activations) showActivations(activations);
  dom.prediction.textContent = digit == null ? '–' : String(digit);
  probabilities.forEach((p, d) => {
    const b = bars[d];
    b.fill.style.width = `${(p * 100).toFixed(1)}%`;
    b.pct.textContent = digit == null ? '–' : `${(p * 100).toFixed(p >= 0.995 || p < 0.0005 ? 0 : 1)}%`;
    b.li.classList.toggle('best', d === digit);
  });
  if (image28) paintGray(dom.seen, image28, 1);
}

export function clearPrediction() {
  showPrediction({ probabilities: new Array(settings.n_classes).fill(0), digit: null, image28: new Array(784).fill(0) });
  showActivations(null);
}

export function padNote(text) {
  dom.padNote.textContent = text;
}

// ---- hidden layers: a strip of small squares per dense layer, feature maps per conv or pool layer

const CELL = 10; // px per unit, including a 1 px gap
const COLUMNS = 48;
const MAP_PX = 48; // about how wide a feature map is drawn (a whole number of screen pixels per value)
let layers = []; // [{kind, name, size or shape, shown, row, canvas or tiles}]
let layout = '';

// Lay out the hidden layers of a model described by the worker (info.layers, the output last).
export function layoutActivations(described) {
  const hidden = described.slice(0, -1);
  const key = JSON.stringify(hidden);
  if (key === layout) return;
  layout = key;
  layers = hidden.map((l, i) => (l.kind === 'dense' ? denseStrip(l, i) : featureMaps(l, i)));
  dom.activations.replaceChildren(...layers.map((l) => l.row));
  dom.activationsTitle.textContent = layers.some((l) => l.tiles)
    ? 'What each hidden layer gives for this drawing: feature maps of the conv and pool layers (each map scaled '
      + 'to its own strongest value, white), then the dense layers\' units (brighter = stronger)'
    : 'What lights up in each hidden layer for this drawing (brighter = stronger)';
  showActivations(null);
}

function layerRow(text) {
  const row = document.createElement('div');
  row.className = 'layer';
  const label = document.createElement('span');
  label.className = 'layer-name';
  label.textContent = text;
  label.setAttribute('aria-hidden', 'true');
  row.append(label);
  return row;
}

function denseStrip({ name, shape: [size] }, i) {
  const shown = Math.min(size, settings.limits.max_shown_units);
  const row = layerRow(`Layer ${i + 1}` + (shown < size ? ` (first ${shown} of ${size})` : ` (${size})`));
  const canvas = document.createElement('canvas');
  canvas.width = Math.min(shown, COLUMNS) * CELL - 1;
  canvas.height = Math.ceil(shown / COLUMNS) * CELL - 1;
  canvas.setAttribute('role', 'img');
  row.append(canvas);
  return { kind: 'dense', name, size, shown, canvas, row };
}

function featureMaps({ kind, name, shape }, i) {
  const [channels, height, width] = shape;
  const shown = Math.min(channels, settings.limits.max_shown_channels);
  const row = layerRow(`Layer ${i + 1}: ${name}, ${channels} map${channels === 1 ? '' : 's'} of ${height}×${width}`
    + (shown < channels ? ` (first ${shown} shown)` : ''));
  const group = document.createElement('div');
  group.className = 'maps';
  group.setAttribute('role', 'img');
  const px = Math.max(1, Math.round(MAP_PX / Math.max(height, width)));
  const tiles = Array.from({ length: shown }, () => {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.style.width = `${width * px}px`;
    canvas.style.height = `${height * px}px`;
    return canvas;
  });
  group.append(...tiles);
  row.append(group);
  return { kind, name, shape, shown, tiles, group, row };
}

// activations: [{kind, ...}] from the worker (pynet/page/reading.py), or null (nothing drawn)
export function showActivations(activations) {
  layers.forEach((layer, i) => {
    const a = activations && activations[i];
    if (layer.tiles) showMaps(layer, i, a);
    else showUnits(layer, i, a);
  });
}

function showUnits(layer, i, a) {
  const ctx = layer.canvas.getContext('2d');
  ctx.clearRect(0, 0, layer.canvas.width, layer.canvas.height);
  const max = a && a.max > 0 ? a.max : 1;
  for (let u = 0; u < layer.shown; u++) {
    const v = a ? Math.max(0, Math.min(1, (a.values[u] ?? 0) / max)) : 0;
    // from dark slate (off) to bright yellow (strongest in the layer)
    const r = Math.round(32 + v * (255 - 32));
    const g = Math.round(38 + v * (216 - 38));
    const b = Math.round(51 + v * (74 - 51));
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect((u % COLUMNS) * CELL, Math.floor(u / COLUMNS) * CELL, CELL - 1, CELL - 1);
  }
  const what = a && a.max > 0
    ? `${a.active} of ${layer.size} units active, strongest ${a.max.toFixed(2)}`
    : 'nothing drawn';
  layer.canvas.setAttribute('aria-label', `Hidden layer ${i + 1}, ${layer.size} units: ${what}`);
  layer.row.dataset.active = a ? String(a.active) : '0';
}

// Each map in grey levels 0..255 (white: the map's own strongest value, in its title).
function showMaps(layer, i, a) {
  const [channels, height, width] = layer.shape;
  const shade = grey(255);
  layer.tiles.forEach((canvas, c) => {
    paintTile(canvas, a ? a.maps[c] : [], width, height, shade);
    canvas.title = a && a.scales[c] > 0 ? `map ${c + 1}: white = ${a.scales[c]}` : `map ${c + 1}: nothing`;
  });
  const what = a && a.max > 0
    ? `${a.active} of ${channels} maps active, strongest ${a.max.toFixed(2)}`
    : 'nothing drawn';
  layer.group.setAttribute('aria-label', `Hidden layer ${i + 1}, ${layer.name}, feature maps of ${height} by ${width}: ${what}`);
  layer.row.dataset.active = a ? String(a.active) : '0';
}

export function showMemory(bytes) {
  dom.memory.textContent = bytes ? `${Math.round(bytes / 2 ** 20)} MB` : '–';
}

// ---- tiles: images, feature maps, weights ------------------------------------------------

// Paint width x height values (row by row; missing ones count as 0) onto canvas, each value
// turned into [r, g, b] by colour(value, its index).
export function paintTile(canvas, values, width, height, colour) {
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = colour(values[i] ?? 0, i);
    image.data[4 * i] = r;
    image.data[4 * i + 1] = g;
    image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

// grey levels: scale (and above) is white
const grey = (scale) => (value) => {
  const v = Math.max(0, Math.min(255, Math.round((value / scale) * 255)));
  return [v, v, v];
};

// a weight in [-1, 1]: red positive, blue negative, white zero
function diverging(value) {
  const a = Math.round(Math.abs(value) * 255);
  return [value > 0 ? 255 : 255 - a, 255 - a, value < 0 ? 255 : 255 - a];
}

// values: 784 numbers; scale: 1 for 0..1 floats, 255 for uint8
export function paintGray(canvas, values, scale) {
  paintTile(canvas, values, 28, 28, grey(scale));
}

function tile(values, caption, wrong) {
  const fig = document.createElement('figure');
  fig.className = 'tile';
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 28;
  paintGray(canvas, values, 255);
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  if (wrong) cap.className = 'wrong';
  fig.append(canvas, cap);
  return fig;
}

export function showSamples({ images, labels }) {
  dom.samples.replaceChildren(...images.map((img, i) => {
    const t = tile(img, String(labels[i]));
    t.setAttribute('aria-label', `a training image labelled ${labels[i]}`);
    return t;
  }));
}

export function showMistakes({ items, errors, total, accuracy, confusion, dataset }) {
  dom.errorsSummary.textContent = `The current model gets ${errors.toLocaleString()} of ${total.toLocaleString()} test images wrong `
    + `(${(accuracy * 100).toFixed(2)}% right${dataset === 'full' ? '' : ''}). The most confident mistakes, as true → predicted:`;
  dom.mistakes.replaceChildren(...items.map((it) => {
    const t = tile(it.image, `${it.true} → ${it.predicted}`, true);
    t.title = `true ${it.true}, predicted ${it.predicted} with ${(it.confidence * 100).toFixed(0)}% confidence`;
    t.setAttribute('aria-label', t.title);
    return t;
  }));
  const max = Math.max(...confusion.flatMap((row, i) => row.filter((_, j) => j !== i)), 1);
  const head = '<tr><th scope="col">t\\p</th>' + confusion.map((_, j) => `<th scope="col">${j}</th>`).join('') + '</tr>';
  const rows = confusion.map((row, i) => `<tr><th scope="row">${i}</th>` + row.map((n, j) => {
    const shade = i === j ? 'rgba(29,122,60,0.18)' : `rgba(179,38,30,${(0.6 * n / max).toFixed(2)})`;
    const label = `true ${i}, predicted ${j}: ${n} images`;
    return `<td data-shade="${shade}"><button type="button" class="cell" data-true="${i}" data-predicted="${j}" aria-label="${label}" title="${label}">${n}</button></td>`;
  }).join('') + '</tr>').join('');
  dom.confusion.innerHTML = head + rows;
  for (const td of dom.confusion.querySelectorAll('td')) td.style.background = td.dataset.shade;
}

// The images of one confusion-matrix cell.
export function showCell(trueLabel, predicted, { items, count }) {
  const what = trueLabel === predicted ? `${trueLabel}s read correctly` : `${trueLabel}s read as ${predicted}`;
  dom.cellCaption.textContent = count ? `${count.toLocaleString()} test images: ${what}` +
    (count > items.length ? ` (the ${items.length} most confident shown)` : '') : `No test images: ${what}`;
  dom.cellImages.replaceChildren(...items.map((it) => {
    const t = tile(it.image, `${(it.confidence * 100).toFixed(0)}%`, it.true !== it.predicted);
    t.title = `true ${it.true}, predicted ${it.predicted} with ${(it.confidence * 100).toFixed(0)}% confidence`;
    t.setAttribute('aria-label', t.title);
    return t;
  }));
}

// The first layer's weights as tiles (pynet/page/analysis.py first_layer): a conv layer's kernels
// or a dense layer's units, each scaled to its largest magnitude.
export function showWeights({ tiles, width = 28, height = 28, kind = 'units', count = tiles.length }) {
  dom.weightsCaption.textContent = kind === 'kernels'
    ? `First-layer kernels: ${tiles.length < count ? `${tiles.length} of ` : ''}${count} of ${height}×${width} (red positive, blue negative)`
    : 'First-layer weights (red positive, blue negative)';
  dom.weights.replaceChildren(...tiles.map((w) => {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    paintTile(canvas, w, width, height, diverging);
    return canvas;
  }));
}

// ---- training form ----------------------------------------------------------------------

export function readForm() {
  const out = {};
  for (const [key, el] of Object.entries(FIELDS)) out[key] = el.value.trim();
  return out;
}

export function fillForm(values) {
  for (const [key, el] of Object.entries(FIELDS)) if (key in values) el.value = String(values[key]);
}

// The network field's description (pynet/page/form.py describe_network): each layer's output,
// the parameters and the memory training takes; or why the page cannot train it (refusal).
export function showNetwork(description, refusal = null) {
  const box = dom.networkDescription;
  box.dataset.state = refusal ? 'refused' : description ? 'described' : '';
  if (refusal) {
    const p = document.createElement('p');
    p.className = 'message error';
    p.textContent = refusal;
    box.replaceChildren(p);
    return;
  }
  if (!description) {
    box.replaceChildren();
    return;
  }
  const list = document.createElement('ol');
  list.className = 'net-layers';
  list.setAttribute('aria-label', 'Each layer and the shape of its output');
  description.layers.forEach(({ layer, shape }, i) => {
    const li = document.createElement('li');
    const size = shape.join('×');
    li.textContent = i === 0 ? `input ${size}` : `${layer} → ${size}`;
    list.append(li);
  });
  const mb = description.training_bytes / 2 ** 20;
  const summary = document.createElement('p');
  summary.className = 'net-summary';
  summary.textContent = `${description.parameters.toLocaleString()} parameters; training takes about `
    + `${mb < 1 ? 'under 1' : Math.ceil(mb).toLocaleString()} MB with batches of ${description.batch_size.toLocaleString()} images.`;
  box.replaceChildren(list, summary);
}

export function formMessage(text, kind = 'error', field = null) {
  dom.formMessage.textContent = text;
  dom.formMessage.className = `message ${kind}`;
  for (const el of Object.values(FIELDS)) el.removeAttribute('aria-invalid');
  if (field && FIELDS[field]) FIELDS[field].setAttribute('aria-invalid', 'true');
}

export function setTraining(state) { // 'idle' | 'running' | 'paused' | 'starting' | 'disabled'
  const running = state === 'running' || state === 'paused';
  dom.train.disabled = state !== 'idle';
  dom.pause.disabled = !running;
  dom.stop.disabled = !running;
  dom.pause.textContent = state === 'paused' ? 'Resume' : 'Pause';
  dom.pause.setAttribute('aria-pressed', String(state === 'paused'));
  for (const el of [dom.preset, dom.workers, ...Object.values(FIELDS)]) el.disabled = running || state === 'starting';
  dom.form.setAttribute('data-state', state); // not form.dataset: the form's select named "dataset" shadows it
}

const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);

export function formatSeconds(s) {
  if (!Number.isFinite(s) || s < 0) return '–';
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function showProgress({ step, total, samplesPerS, etaS, evaluating }) {
  const f = total ? step / total : 0;
  dom.progress.value = f;
  dom.progressText.textContent = `${(f * 100).toFixed(f < 0.1 && f > 0 ? 1 : 0)}%`;
  dom.step.textContent = `${step.toLocaleString()} / ${total.toLocaleString()}`;
  dom.speed.textContent = samplesPerS ? Math.round(samplesPerS).toLocaleString() : '–';
  dom.eta.textContent = evaluating && step >= total ? 'testing…' : formatSeconds(etaS);
}

export function showAccuracy(trainAcc, testAcc) {
  if (trainAcc !== undefined) dom.trainAcc.textContent = pct(trainAcc);
  if (testAcc !== undefined) dom.testAcc.textContent = pct(testAcc);
}

// the loss of the last batch, to 4 significant digits (NaN or none: a dash)
export function showLoss(loss) {
  dom.lossValue.textContent = Number.isFinite(loss) ? loss.toPrecision(4) : '–';
}

export function resetLive() {
  showLoss(null);
  showProgress({ step: 0, total: 0, samplesPerS: 0, etaS: NaN });
  dom.progressText.textContent = '0%';
  dom.step.textContent = '–';
  dom.trainAcc.textContent = '–';
  dom.testAcc.textContent = '–';
}

export function trainMessage(text, kind = '') {
  dom.trainMessage.textContent = text;
  dom.trainMessage.className = `message ${kind}`;
}

// Hand bytes to the browser as a downloaded file named name.
export function downloadFile(bytes, name) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function modelMessage(text, kind = 'error') {
  dom.modelMessage.textContent = text;
  dom.modelMessage.className = `message ${kind}`;
}

export function showModel(info) {
  const acc = info.test_acc === null || info.test_acc === undefined ? '' : `, ${(info.test_acc * 100).toFixed(1)}% on test`;
  const label = `${info.name} model ${info.label} (${info.hidden_activation}${acc})`;
  dom.modelName.textContent = `Model: ${info.name} ${info.label}`;
  layoutActivations(info.layers);
  dom.modelInfo.textContent = `In use: the ${label}, ${info.parameters.toLocaleString('en')} parameters.`;
  const shape = (s) => s.join('×');
  dom.modelLayers.textContent = `Layers: ${info.layers.map((l) => `${l.name} (${shape(l.shape)})`).join(' → ')}.`;
}

// A trained model on offer (null: none): what it is and how its run ended.
export function showOffer(offer) {
  dom.offer.hidden = !offer;
  if (!offer) return;
  const done = `${offer.epochs_run} epoch${offer.epochs_run === 1 ? '' : 's'}, ${offer.steps_run} batch${offer.steps_run === 1 ? '' : 'es'} in all`;
  const acc = offer.test_acc == null ? 'not evaluated since its last batch' : `${(offer.test_acc * 100).toFixed(1)}% on test`;
  let why = { stopped: 'The run was stopped', diverged: 'The run diverged; its last good epoch was kept',
                completed: 'The run finished after the model in use was changed',
                early_stop: 'The run stopped early after the model in use was changed' }[offer.reason] ?? 'The run ended';
  if (offer.report) why = `Fine-tuned on your samples${offer.reason === 'completed' ? '' : ` (${offer.reason})`}`;
  dom.offerText.textContent = `${why}. Its model ${offer.label} (${done}; ${acc}) can replace the one in use, which stays until you choose.`;
}
