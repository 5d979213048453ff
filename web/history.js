// The run history: every run that ends (completed, stopped, diverged, failed, lost), with its settings,
// final accuracies, time, samples/s, how it ended and its curves (thinned to a bounded number of
// points), kept in this browser (IndexedDB store 'runs', the newest settings.limits.max_history_runs);
// a table with a checkbox per run to overlay the selected runs' loss and accuracy curves, the
// settings of a run put back into the form, a run deleted (with an undo). A browser that refuses
// storage keeps the history in memory for as long as the page is open, and the page says so.

import { accuracyRange, EPOCH_AXIS, loadPlot, meanThin, PERCENT_AXIS, pickThin, STEP_AXIS } from './charts.js';
import { settings } from './settings.js';
import { entries, transact } from './store.js';
import * as ui from './ui.js';

const { dom } = ui;

const MAX_RUNS = settings.limits.max_history_runs;
const POINTS = settings.limits.history_points;
// a run's colour in the comparison, by its number: distinct on white and for most colour vision
const COLOURS = ['#2457c5', '#d55e00', '#1d7a3c', '#cc79a7', '#8a6d00', '#56b4e9', '#6a3d9a', '#b3261e'];
const ENDINGS = { completed: 'completed', early_stop: 'stopped early', stopped: 'stopped', diverged: 'diverged',
                  error: 'failed', lost: 'lost when the worker stopped' };

const lastOf = (a) => { for (let i = a.length - 1; i >= 0; i--) if (a[i] != null) return a[i]; return null; };
const pct = (x) => (x == null ? '–' : `${(x * 100).toFixed(1)}%`);

// app: the page's state (window.pynet): app.history, for the tests ({storage, keys, overlay}).
// share: web/share.js's (a run's settings go back into the form as a link's do).
export function createHistory(app, { share }) {
  let runs = []; // [{key, run}], oldest first
  let stored = true; // false: the browser refused storage; the history lives in memory
  let nextKey = 1; // numbers of runs kept in memory
  const selected = new Set();
  let undo = null; // the last run deleted: {key, run}
  let plots = null; // the two comparison charts, once uPlot has loaded
  app.history = { storage: 'indexeddb', keys: [], overlay: [] };

  function inMemory(why) {
    if (!stored) return;
    stored = false;
    console.warn(`The run history is kept in memory only: ${why}`);
    app.history.storage = 'memory';
  }

  async function load() {
    try {
      runs = (await entries('runs')).map(([key, run]) => ({ key, run }));
      nextKey = Math.max(0, ...runs.map((r) => r.key)) + 1;
    } catch (e) {
      inMemory(e?.message ?? String(e));
    }
    render();
  }

  // A run ended (web/training.js): run, app.run as it was (its summary, the form's values at its
  // start); ended, app.lastRun; curves, the charts' (web/charts.js curves()).
  async function add(run, ended, curves) {
    const [lx, ly] = meanThin(curves.loss.x, curves.loss.y, POINTS);
    const [ax, train, test] = pickThin([curves.acc.x, curves.acc.train, curves.acc.test], POINTS);
    const record = {
      ended: Date.now(), reason: ended.reason, settings: run.form, network: run.network, workers: ended.workers,
      trainAcc: lastOf(curves.acc.train), testAcc: ended.testAcc ?? null, seconds: ended.seconds,
      samplesPerS: ended.samplesPerS ?? null, steps: ended.step, totalSteps: ended.totalSteps,
      loss: { x: lx, y: ly }, acc: { x: ax, train, test },
    };
    let key = null;
    if (stored) {
      try {
        key = await transact('runs', 'readwrite', (s) => {
          const added = s.add(record);
          const keys = s.getAllKeys();
          // the oldest go once there are more than MAX_RUNS (the note under the table says so)
          keys.onsuccess = () => { for (const k of keys.result.slice(0, -MAX_RUNS)) s.delete(k); };
          return added;
        });
      } catch (e) {
        inMemory(e?.message ?? String(e));
      }
    }
    key ??= nextKey;
    nextKey = key + 1;
    runs.push({ key, run: record });
    runs = runs.slice(-MAX_RUNS);
    render();
  }

  async function remove(key) {
    const i = runs.findIndex((r) => r.key === key);
    if (i < 0) return;
    const at = [...dom.historyBody.rows].findIndex((tr) => tr.dataset.key === String(key));
    if (stored) {
      try {
        await transact('runs', 'readwrite', (s) => s.delete(key));
      } catch (e) {
        dom.historyNote.textContent = `Run ${key} could not be deleted: ${e?.message ?? e}.`;
        return;
      }
    }
    undo = runs[i];
    runs.splice(i, 1);
    selected.delete(key);
    render();
    // the keyboard stays in the list: on the checkbox of the run now in its place, else of the one
    // above, else on the heading
    const next = dom.historyBody.querySelectorAll('input[type=checkbox]')[Math.min(at, runs.length - 1)];
    (next ?? dom.historyTitle).focus();
    dom.historyUndo.hidden = false;
    dom.historyUndo.textContent = `Undo: keep run ${key}`;
  }

  async function restore() {
    if (!undo) return;
    const { key, run } = undo;
    if (stored) {
      try {
        await transact('runs', 'readwrite', (s) => s.put(run, key));
      } catch (e) {
        inMemory(e?.message ?? String(e));
      }
    }
    undo = null;
    runs.push({ key, run });
    runs.sort((a, b) => a.key - b.key);
    dom.historyUndo.hidden = true;
    render();
  }

  // ---- the table ---------------------------------------------------------------------------

  // label: the column's name, shown before the value where the rows are stacked (a phone's width)
  function cell(text, className, label) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    if (label) td.dataset.label = label;
    return td;
  }

  function row({ key, run }) {
    const tr = document.createElement('tr');
    tr.dataset.key = String(key);
    const s = run.settings ?? {};
    const pick = document.createElement('td');
    const label = document.createElement('label');
    label.className = 'pick';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = selected.has(key);
    box.setAttribute('aria-label', `Compare run ${key}`);
    box.addEventListener('change', () => {
      if (box.checked) selected.add(key); else selected.delete(key);
      tr.classList.toggle('selected', box.checked);
      overlay();
    });
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = COLOURS[key % COLOURS.length];
    label.append(box, swatch, document.createTextNode(String(key)));
    pick.append(label);
    tr.classList.toggle('selected', box.checked);
    const fullBatch = Number(s.batch_size) === 0;
    const recipe = `${s.optimizer ?? '?'}, lr ${s.learning_rate ?? '?'}, `
      + (fullBatch ? `${Number(s.epochs).toLocaleString()} full-batch iterations on ${Number(s.train_size).toLocaleString()}`
        : `${s.epochs} × ${Number(s.train_size).toLocaleString()} images, batch ${s.batch_size}`)
      + (s.schedule && s.schedule !== 'constant' ? `, ${s.schedule}` : '')
      + (s.augment && s.augment !== 'off' ? `, ${s.augment}` : '')
      + (run.workers > 1 ? `, ${run.workers} workers` : '');
    const ending = ENDINGS[run.reason] ?? run.reason;
    const when = run.reason === 'completed' || !run.totalSteps ? ending
      : `${ending} at step ${(run.steps ?? 0).toLocaleString()} of ${run.totalSteps.toLocaleString()}`;
    const actions = document.createElement('td');
    actions.className = 'row-actions';
    const use = document.createElement('button');
    use.type = 'button';
    use.textContent = 'Use settings';
    use.setAttribute('aria-label', `Use settings of run ${key}`);
    use.addEventListener('click', () => share.apply(s, `Run ${key}`));
    const del = document.createElement('button');
    del.type = 'button';
    del.textContent = 'Delete';
    del.setAttribute('aria-label', `Delete run ${key}`);
    del.addEventListener('click', () => remove(key));
    actions.append(use, del);
    tr.append(pick, cell(run.network ?? s.network ?? '?', 'network'), cell(recipe, 'recipe'),
              cell(when, `ending ${run.reason}`), cell(pct(run.trainAcc), 'num', 'train'),
              cell(pct(run.testAcc), 'num', 'test'), cell(ui.formatSeconds(run.seconds), 'num', 'time'),
              cell(run.samplesPerS ? Math.round(run.samplesPerS).toLocaleString() : '–', 'num', 'samples/s'), actions);
    return tr;
  }

  function render() {
    dom.historyBody.replaceChildren(...runs.map(row).reverse()); // the newest first
    dom.historyEmpty.hidden = runs.length > 0;
    dom.historyTable.hidden = runs.length === 0;
    const kept = stored
      ? `Each run that ends is kept in this browser, the newest ${MAX_RUNS}.`
      : 'This browser does not let the page store anything (private browsing?): the runs are kept only while the page is open.';
    dom.historyNote.textContent = `${kept} Tick runs to compare their curves.`;
    app.history.keys = runs.map((r) => r.key);
    overlay();
  }

  // ---- the comparison: each ticked run's loss and accuracies, in its colour ----------------------

  function overlay() {
    const chosen = runs.filter((r) => selected.has(r.key));
    app.history.overlay = chosen.map((r) => r.key);
    dom.historyCharts.hidden = chosen.length === 0;
    if (!chosen.length) return;
    loadPlot().then((Plot) => draw(Plot, chosen)).catch((e) => {
      dom.historyCompare.textContent = `The comparison could not be drawn: ${e.message}.`;
    });
  }

  function draw(Plot, chosen) {
    const colour = (r) => COLOURS[r.key % COLOURS.length];
    const loss = Plot.join(chosen.map((r) => [r.run.loss.x, r.run.loss.y]));
    const acc = Plot.join(chosen.flatMap((r) => [[r.run.acc.x, r.run.acc.test], [r.run.acc.x, r.run.acc.train]]));
    const size = () => ({ width: Math.max(200, dom.historyLoss.clientWidth), height: 180 });
    plots?.forEach((p) => p.destroy());
    plots = [
      new Plot({
        ...size(), legend: { show: false }, cursor: { show: false }, scales: { x: { time: false } },
        axes: [{ ...STEP_AXIS }, { size: 45 }],
        series: [{}, ...chosen.map((r) => ({ label: `run ${r.key}`, stroke: colour(r), width: 1.5, spanGaps: true }))],
      }, loss, dom.historyLoss),
      new Plot({
        ...size(), legend: { show: false }, cursor: { show: false },
        scales: { x: { time: false }, y: { range: accuracyRange } },
        axes: [{ ...EPOCH_AXIS }, { ...PERCENT_AXIS }],
        series: [{}, ...chosen.flatMap((r) => [
          { label: `run ${r.key} test`, stroke: colour(r), width: 2, spanGaps: true, points: { show: true, size: 5 } },
          { label: `run ${r.key} train`, stroke: colour(r), width: 1, dash: [4, 4], spanGaps: true }])],
      }, acc, dom.historyAcc),
    ];
    const text = chosen.map((r) => `run ${r.key}: loss ${lastOf(r.run.loss.y)?.toFixed(3) ?? '–'}, `
      + `test ${pct(r.run.testAcc)}, train ${pct(r.run.trainAcc)}`).join('; ');
    dom.historyCompare.textContent = `Compared: ${text}.`;
  }

  new ResizeObserver(() => {
    if (!plots) return;
    for (const p of plots) p.setSize({ width: Math.max(200, dom.historyLoss.clientWidth), height: 180 });
  }).observe(dom.historyLoss);

  dom.historyUndo.addEventListener('click', restore);

  return { load, add };
}
