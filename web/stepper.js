// The step-through view: one training iteration of the model in use (pynet/page/stepper.py),
// shown a step at a time: the formula, the shapes, the arrays as heat maps with their min and
// max, a few exact values, and the source of the pynet function that computed them.
// Previous / Next by mouse, touch or keyboard (ArrowLeft / ArrowRight while the view has focus).

import { WorkerRestarted } from './client.js';
import { settings } from './settings.js';
import * as ui from './ui.js';

const $ = (id) => document.getElementById(id);
const dom = {
  source: $('step-source'), start: $('step-start'), size: $('step-size'), label: $('step-label'),
  batchFields: $('step-batch-fields'), drawingFields: $('step-drawing-fields'), run: $('step-run'),
  message: $('step-message'), view: $('stepper'), summary: $('step-summary'), prev: $('step-prev'),
  next: $('step-next'), counter: $('step-counter'), jump: $('step-jump'), phase: $('step-phase'),
  title: $('step-title'), formula: $('step-formula'), shapes: $('step-shapes'), note: $('step-note'),
  scalars: $('step-scalars'), arrays: $('step-arrays'), values: $('step-values'), sourceName: $('step-source-name'),
  via: $('step-via'), code: $('step-code'),
};

const PHASES = { forward: 'Forward pass', loss: 'Loss', backward: 'Backward pass', update: 'Update' };
// about how large a heat map is drawn, in CSS pixels, by the kind of array (pynet/page/stepper.py _array)
const SIDE_PX = { pixels: 84, images: 72, kernels: 40, matrix: 192 };
const COLUMN_PX = 24; // at most this wide a column of a (units, images) array
const COLUMNS_HEIGHT_PX = 256;

// app: the page's state (window.pynet); app.stepper tells tests and the curious what is shown.
export function createStepper(client, app) {
  let run = null; // {count, titles, phases, batch, learning_rate, model}
  let shown = -1;
  let wanted = -1;
  const cache = new Map();
  let drawingsAtClear = 0; // the pad holds a drawing when a reading came after the last Clear

  dom.size.value = String(settings.limits.step_batch);
  dom.size.max = String(settings.limits.max_step_batch);
  $('clear').addEventListener('click', () => { drawingsAtClear = app.predictions || 0; });

  function showSourceFields() {
    const drawing = dom.source.value === 'drawing';
    dom.batchFields.hidden = drawing;
    dom.drawingFields.hidden = !drawing;
    if (drawing && app.lastPrediction && (app.predictions || 0) > drawingsAtClear) {
      const p = app.lastPrediction;
      dom.label.value = String(p.indexOf(Math.max(...p))); // the network's reading, for the user to correct
    }
  }
  dom.source.addEventListener('change', showSourceFields);
  showSourceFields();

  function options() {
    const learning_rate = ui.dom.lr.value.trim() || undefined; // the training form's (else the seed's)
    if (dom.source.value === 'drawing') {
      if (!app.lastImage28 || (app.predictions || 0) <= drawingsAtClear) return null;
      return { source: 'drawing', pixels: app.lastImage28, label: dom.label.value, learning_rate };
    }
    return { source: 'batch', start: dom.start.value.trim(), size: dom.size.value.trim(), learning_rate };
  }

  function say(text, kind = '') {
    dom.message.textContent = text;
    dom.message.className = `message ${kind}`;
  }

  dom.run.addEventListener('click', async () => {
    if (!app.ready) { say('Wait until the page is ready.', 'error'); return; }
    const asked = options();
    if (!asked) { say('Draw a digit on the pad first (or choose training images).', 'error'); return; }
    dom.run.disabled = true;
    say('Running one iteration…');
    try {
      const answer = await client.request('stepThrough', { options: asked });
      run = { ...answer, restarts: app.restarts }; // the worker keeps the steps until it restarts
      cache.clear();
      cache.set(0, answer.step);
      const runs = (app.stepper?.runs || 0) + 1;
      app.stepper = { count: answer.count, titles: answer.titles, batch: answer.batch, index: -1, runs };
      dom.jump.replaceChildren(...answer.titles.map((t, k) => new Option(`${k + 1}. ${t}`, String(k))));
      const lr = Number(answer.learning_rate).toPrecision(3).replace(/\.?0+$/, '');
      dom.summary.textContent = `${capital(answer.batch.what)} (label${answer.batch.labels.length > 1 ? 's' : ''} `
        + `${answer.batch.labels.join(', ')}), through the model in use (${answer.model}); learning rate ${lr}. `
        + 'It runs on a copy: the model in use does not change.';
      say('');
      dom.view.hidden = false;
      show(0);
      dom.view.focus();
    } catch (e) {
      if (!(e instanceof WorkerRestarted)) say(`Could not run the iteration: ${e.message}`, 'error');
    } finally {
      dom.run.disabled = false;
    }
  });

  async function show(k) {
    if (!run || k < 0 || k >= run.count) return;
    wanted = k;
    const mine = run;
    let step = cache.get(k);
    if (!step && app.restarts !== run.restarts) {
      say('The worker restarted since this iteration ran, and its steps went with it: run one iteration again.', 'error');
      return;
    }
    if (!step) {
      try {
        step = await client.request('stepDetail', { index: k });
      } catch (e) {
        if (!(e instanceof WorkerRestarted)) say(`Could not show step ${k + 1}: ${e.message}`, 'error');
        return;
      }
      if (run !== mine) return; // another iteration was run meanwhile
      cache.set(k, step);
    }
    if (wanted !== k) return; // a later step was asked for meanwhile
    render(step);
    shown = k;
    app.stepper.index = k;
  }

  dom.prev.addEventListener('click', () => show(shown - 1));
  dom.next.addEventListener('click', () => show(shown + 1));
  dom.jump.addEventListener('change', () => show(Number(dom.jump.value)));
  dom.view.addEventListener('keydown', (event) => {
    if (event.target.closest('select, input, textarea') || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === 'ArrowRight') show(shown + 1);
    else if (event.key === 'ArrowLeft') show(shown - 1);
    else return;
    event.preventDefault();
  });

  function render(step) {
    const k = step.index;
    dom.counter.textContent = `${k + 1} / ${run.count}`;
    dom.jump.value = String(k);
    dom.prev.disabled = k === 0;
    dom.next.disabled = k === run.count - 1;
    dom.phase.textContent = PHASES[step.phase];
    dom.phase.dataset.phase = step.phase;
    dom.title.textContent = step.title;
    dom.formula.textContent = step.formula;
    dom.shapes.textContent = step.shapes;
    dom.note.textContent = step.note;
    dom.scalars.replaceChildren(...step.scalars.map(({ name, value }) => {
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.className = 'num';
      dd.textContent = value;
      div.append(dt, dd);
      return div;
    }));
    dom.arrays.replaceChildren(...step.arrays.map(heatMaps));
    const rows = step.arrays.flatMap((a) => a.values.map((v) => {
      const tr = document.createElement('tr');
      tr.dataset.array = a.name;
      tr.dataset.index = v.index.join(',');
      const name = document.createElement('th');
      name.scope = 'row';
      name.textContent = `${a.name}[${v.index.join(', ')}]`;
      const value = document.createElement('td');
      value.className = 'num';
      value.textContent = v.value;
      tr.append(name, value);
      return tr;
    }));
    // an update's W, dW and W after at one place next to each other: W − α·dW can be checked by hand
    const place = (tr) => `${tr.dataset.array.replace(/^d| .*$/g, '')}[${tr.dataset.index}]`; // dW1 and W1 after: W1
    if (step.phase === 'update') rows.sort((a, b) => place(a).localeCompare(place(b)));
    dom.values.tBodies[0].replaceChildren(...rows);
    const src = step.source;
    dom.sourceName.textContent = `${src.name}  ·  ${src.file}:${src.line}`;
    dom.via.textContent = `called as ${src.via}`;
    dom.code.textContent = src.text;
  }
}

function capital(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// a min or max in three figures
const fmt = (x) => (x === 0 ? '0'
  : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(2) : String(Number(x.toPrecision(3))));

// One array: its name and shape, a heat map per tile, the colour scale from its min to its max.
function heatMaps(a) {
  const fig = document.createElement('figure');
  fig.className = 'step-array';
  const cap = document.createElement('figcaption');
  const name = document.createElement('b');
  name.textContent = a.name;
  cap.append(name, ` (${a.shape.join(', ')})`);
  const blocks = a.tiles[0].block;
  const parts = [a.shown, blocks[0] * blocks[1] > 1 ? `each cell the mean of ${blocks[0]}×${blocks[1]} values` : '']
    .filter(Boolean);
  if (parts.length) {
    const what = document.createElement('span');
    what.className = 'muted';
    what.textContent = ` ${parts.join('; ')}`;
    cap.append(what);
  }
  const tiles = document.createElement('div');
  tiles.className = 'step-tiles';
  const colour = a.signed ? diverging : ink;
  for (const t of a.tiles) {
    const box = document.createElement('div');
    box.className = 'step-tile';
    const canvas = document.createElement('canvas');
    canvas.width = t.cols;
    canvas.height = t.rows;
    paint(canvas, t.cells, colour);
    size(canvas, a.kind, t.rows, t.cols);
    canvas.setAttribute('role', 'img');
    const which = `${a.name}${t.label ? `, ${t.label}` : ''}`;
    canvas.setAttribute('aria-label', `${which}: ${t.rows} by ${t.cols} heat map from ${fmt(a.min)} to ${fmt(a.max)}`);
    box.append(canvas);
    if (t.label) {
      const label = document.createElement('span');
      label.textContent = t.label;
      box.append(label);
    }
    tiles.append(box);
  }
  fig.append(cap, tiles, legend(a, colour));
  return fig;
}

// CSS size of a heat map: whole screen pixels per cell; a (units, images) array's columns wide.
function size(canvas, kind, rows, cols) {
  let sx;
  let sy;
  if (kind === 'columns' || cols <= 4) { // a bias, or a few images' columns: wide cells
    sx = Math.max(2, Math.min(COLUMN_PX, Math.floor(160 / cols)));
    sy = Math.max(1, Math.min(sx, Math.floor(COLUMNS_HEIGHT_PX / rows)));
  } else if (kind === 'matrix') { // a weight matrix of few rows: taller cells, so that it stays visible
    sx = Math.max(1, Math.floor(SIDE_PX.matrix / cols));
    sy = Math.max(1, Math.min(Math.floor(SIDE_PX.matrix / rows), 6 * sx));
  } else {
    sx = sy = Math.max(1, Math.floor((SIDE_PX[kind] ?? 96) / Math.max(rows, cols)));
  }
  canvas.style.width = `${cols * sx}px`;
  canvas.style.height = `${rows * sy}px`;
}

function paint(canvas, cells, colour) {
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(canvas.width, canvas.height);
  cells.forEach((c, i) => {
    const [r, g, b] = colour(c / 255);
    image.data.set([r, g, b, 255], 4 * i);
  });
  ctx.putImageData(image, 0, 0);
}

// -1..1: blue for negative, white for 0, red for positive
function diverging(v) {
  const a = Math.round(Math.abs(v) * 255);
  return v > 0 ? [255, 255 - a, 255 - a] : [255 - a, 255 - a, 255];
}

// 0..1: white paper to dark ink
function ink(v) {
  const a = Math.round(v * 228);
  return [255 - a, 255 - a, 255 - Math.round(v * 210)];
}

// The colour scale from the array's min to its max, with both written out.
function legend(a, colour) {
  const row = document.createElement('div');
  row.className = 'step-legend';
  const scale = a.signed ? Math.max(-a.min, a.max) : a.max;
  const bar = document.createElement('canvas');
  bar.width = 96;
  bar.height = 1;
  const cells = Array.from({ length: bar.width }, (_, i) => {
    const x = a.min + ((a.max - a.min) * i) / (bar.width - 1);
    return scale > 0 ? (255 * x) / scale : 0;
  });
  paint(bar, cells, colour);
  bar.setAttribute('aria-hidden', 'true');
  const lo = document.createElement('span');
  lo.className = 'num';
  lo.textContent = `min ${fmt(a.min)}`;
  const hi = document.createElement('span');
  hi.className = 'num';
  hi.textContent = `max ${fmt(a.max)}`;
  row.append(lo, bar, hi);
  return row;
}
