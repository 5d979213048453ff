// Your samples: a reading kept with its label ("Right", or "That's wrong, it's a …" under the
// reading), kept in this browser (IndexedDB 'samples') and listed as tiles, each removable;
// exported to and imported from a samples file (pynet.samples: the same .npz pynet reads
// natively); and fine-tuning the model in use on them, a run like any other whose model is
// offered at its end beside the one in use.

import { WorkerRestarted } from './client.js';
import { settings } from './settings.js';
import { entries, transact } from './store.js';
import * as ui from './ui.js';

const $ = (id) => document.getElementById(id);
const dom = {
  right: $('sample-right'), labels: $('sample-labels'), note: $('teach-note'),
  list: $('your-samples'), summary: $('samples-summary'), finetune: $('finetune'), exportFile: $('samples-export'),
  importFile: $('samples-import'), message: $('samples-message'), report: $('finetune-report'),
  train: $('train'),
};
const LIMITS = settings.samples;
const STORE = 'samples';

// A sample as this page keeps it: {image: Uint8Array(784) of levels k/256, label, added: ms}.
const keyOf = ({ image, label }) => `${label}:${String.fromCharCode(...image)}`;

// Whether pynet.samples.split keeps the sample at index i of n apart to check a fine-tuning on.
const keptApart = (i, n) => n >= LIMITS.hold_out_from && i % LIMITS.hold_out_every === LIMITS.hold_out_every - 1;

const plural = (n, word) => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
const pct = (x) => `${(x * 100).toFixed(2)}%`;

// app: the page's state (window.pynet; app.samples: how many are kept, for the tests).
// training: web/training.js's, which shows and ends the fine-tuning run.
export function createSamples(client, app, { training }) {
  let reading = null; // the reading shown: predict's result, or null
  let kept = []; // [[key, sample]] as stored, oldest first
  let finetuned = null; // the summary of the fine-tuning in progress or last ended

  const digitButtons = Array.from({ length: settings.n_classes }, (_, d) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = String(d);
    b.setAttribute('aria-label', `That's wrong, it's a ${d}`);
    b.addEventListener('click', () => keep(d));
    return b;
  });
  dom.labels.replaceChildren(...digitButtons);
  dom.right.addEventListener('click', () => reading && keep(reading.digit));

  // The reading shown changed (null: nothing drawn): what the buttons offer.
  function showReading(result) {
    reading = result && result.digit != null ? result : null;
    dom.right.disabled = !reading;
    dom.right.setAttribute('aria-label', reading ? `Right, it's a ${reading.digit}: keep it` : 'Right');
    digitButtons.forEach((b, d) => { b.disabled = !reading || d === reading.digit; });
  }
  showReading(null);

  async function keep(label) {
    const shown = reading;
    if (!shown) return;
    try {
      const image = await client.request('sampleLevels', { image28: shown.image28 });
      const sample = { image, label, added: Date.now() };
      const all = await load();
      if (all.some(([, s]) => keyOf(s) === keyOf(sample))) {
        dom.note.textContent = `This drawing is already among your samples as a ${label}.`;
        return;
      }
      if (all.length >= LIMITS.max) {
        dom.note.textContent = `Not kept: you have ${plural(all.length, 'sample')}, the most this page keeps; remove some first.`;
        return;
      }
      await transact(STORE, 'readwrite', (s) => s.add(sample));
      await render();
      dom.note.textContent = `Kept as a ${label}: sample ${kept.length} of your samples.`;
    } catch (e) {
      if (!(e instanceof WorkerRestarted)) dom.note.textContent = `Could not keep the drawing: ${e.message}.`;
    }
  }

  async function load() {
    kept = await entries(STORE);
    return kept;
  }

  // The tiles, from what the browser keeps (which is the truth: another tab may have changed it).
  async function render() {
    await load();
    const n = kept.length;
    app.samples = n;
    dom.list.replaceChildren(...kept.map(([key, s], i) => tile(key, s, i, n)));
    const apart = kept.filter((_, i) => keptApart(i, n)).length;
    dom.summary.textContent = n === 0
      ? 'None yet: draw a digit, then say whether the network read it right.'
      : `${plural(n, 'sample')} in this browser` + (apart
        ? `; fine-tuning keeps ${apart} apart (dashed) to check on and trains on the other ${n - apart}.`
        : `; fine-tuning trains on all of them (from ${LIMITS.hold_out_from} on, every ${LIMITS.hold_out_every}th is kept apart to check on).`);
    dom.exportFile.disabled = n === 0;
    updateFinetune();
  }

  function tile(key, { image, label }, i, n) {
    const fig = document.createElement('figure');
    fig.className = 'tile sample';
    fig.setAttribute('role', 'listitem');
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 28;
    ui.paintGray(canvas, image, 255);
    const cap = document.createElement('figcaption');
    cap.textContent = String(label);
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'remove';
    remove.textContent = '×';
    const what = `sample ${i + 1}, a ${label}${keptApart(i, n) ? ', kept apart to check on' : ''}`;
    remove.setAttribute('aria-label', `Remove ${what}`);
    remove.title = `Remove ${what}`;
    remove.addEventListener('click', async () => {
      try {
        await transact(STORE, 'readwrite', (s) => s.delete(key));
        message(`Removed ${what}.`, 'ok');
      } catch (e) {
        message(`Could not remove ${what}: ${e.message}.`);
      }
      await render();
      dom.list.querySelector('.remove')?.focus({ preventScroll: true });
    });
    if (keptApart(i, n)) {
      fig.classList.add('apart');
      fig.title = 'Kept apart to check fine-tuning on';
    }
    fig.setAttribute('aria-label', what);
    fig.append(canvas, cap, remove);
    return fig;
  }

  function message(text, kind = 'error') {
    dom.message.textContent = text;
    dom.message.className = `message ${kind}`;
  }

  // The samples as the worker takes them: images m * 784 levels, labels m bytes.
  function packed(all) {
    const images = new Uint8Array(all.length * 784);
    const labels = new Uint8Array(all.length);
    all.forEach(([, s], i) => { images.set(s.image, i * 784); labels[i] = s.label; });
    return { images, labels };
  }

  dom.exportFile.addEventListener('click', async () => {
    try {
      const all = await load();
      if (!all.length) return;
      const bytes = await client.request('samplesFile', packed(all));
      ui.downloadFile(bytes, 'pynet-samples.npz');
      message(`Exported ${plural(all.length, 'sample')} as pynet-samples.npz.`, 'ok');
    } catch (e) {
      message(`Could not export your samples: ${e.message}.`);
    }
  });

  // Importing adds the file's samples to yours, all or none; a sample already kept (the same
  // pixels and label), or twice in the file, is added once.
  dom.importFile.addEventListener('change', async () => {
    const file = dom.importFile.files[0];
    if (!file) return;
    try {
      if (file.size > LIMITS.max_bytes) throw new Error(`it is larger than ${LIMITS.max_bytes / 2 ** 20} MB`);
      const bytes = new Uint8Array(await file.arrayBuffer());
      const { images, labels, count } = await client.request('readSamples', { bytes }, [bytes.buffer]);
      const all = await load();
      const seen = new Set(all.map(([, s]) => keyOf(s)));
      const added = [];
      for (let i = 0; i < count; i++) {
        const sample = { image: images.slice(i * 784, (i + 1) * 784), label: labels[i], added: Date.now() };
        const k = keyOf(sample);
        if (!seen.has(k)) { seen.add(k); added.push(sample); }
      }
      if (all.length + added.length > LIMITS.max) {
        throw new Error(`with it you would have ${plural(all.length + added.length, 'sample')}, more than the `
          + `${LIMITS.max.toLocaleString('en')} this page keeps`);
      }
      if (added.length) await transact(STORE, 'readwrite', (s) => added.map((sample) => s.add(sample)).at(-1));
      await render();
      const skipped = count - added.length;
      message(`Added ${plural(added.length, 'sample')} from ${file.name}`
        + (skipped ? ` (${skipped} already among your samples, not added twice).` : '.'), 'ok');
    } catch (e) {
      message(`Refused ${file.name}: ${e.message}. Your samples are unchanged.`);
    } finally {
      dom.importFile.value = '';
    }
  });

  // ---- fine-tuning ------------------------------------------------------------------------

  function updateFinetune() {
    dom.finetune.disabled = !app.ready || kept.length === 0 || app.state !== 'idle';
  }
  // A run may start when the form's Train button may (web/ui.js setTraining).
  new MutationObserver(updateFinetune).observe(dom.train, { attributes: true, attributeFilter: ['disabled'] });

  dom.finetune.addEventListener('click', async () => {
    const all = await load();
    if (!all.length) return;
    message('');
    dom.report.hidden = true;
    try {
      const { images, labels } = packed(all);
      const summary = await training.runFrom(() => client.request('finetune', { images, labels }, [images.buffer, labels.buffer]));
      finetuned = summary.finetune;
      const f = finetuned;
      ui.trainMessage(`Fine-tuning ${summary.network} on ${plural(f.trained_on, 'of your sample')}, each ${f.copies} `
        + `time${f.copies === 1 ? '' : 's'}, mixed with ${f.mnist_images.toLocaleString('en')} MNIST training images: `
        + `${plural(summary.config.epochs, 'epoch')} of ${summary.batches} batches.`);
      message(`Fine-tuning: its progress is under Train a network; Pause and Stop work as for any run.`, 'ok');
    } catch (e) {
      if (!(e instanceof WorkerRestarted)) message(`Fine-tuning did not start: ${e.message}.`);
    }
  });

  // The fine-tuning's end: its model is on offer (web/models.js); here, how it did.
  client.on('trained', ({ offer }) => {
    const report = offer?.report;
    if (!report || !finetuned) return;
    const { samples, test } = report;
    const right = (acc) => (acc == null ? '–' : `${Math.round(acc * samples.count)} of ${samples.count}`);
    const which = samples.checked_on === 'kept apart'
      ? `your ${plural(samples.count, 'sample')} kept apart` : `your ${plural(samples.count, 'sample')} (all trained on)`;
    const rows = [[`Read right, ${which}`, right(samples.before), right(samples.after)],
                  ['MNIST test accuracy', test.before == null ? '–' : pct(test.before), test.after == null ? 'not measured (stopped)' : pct(test.after)]];
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    for (const text of ['', 'before', 'after']) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = text;
      head.append(th);
    }
    const body = table.createTBody();
    for (const [what, before, after] of rows) {
      const tr = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = what;
      tr.append(th);
      tr.insertCell().textContent = before;
      tr.insertCell().textContent = after;
    }
    const note = document.createElement('p');
    note.textContent = 'The fine-tuned model is offered under Train a network: use it, or keep the model in use.';
    dom.report.replaceChildren(table, note);
    dom.report.hidden = false;
    app.finetuneReport = report;
    message('');
  });

  return {
    showReading,
    // The worker is ready: the kept samples are listed.
    async start() {
      try {
        await render();
      } catch (e) {
        message(`Could not read your samples in this browser: ${e.message}.`);
      }
    },
    render,
  };
}
