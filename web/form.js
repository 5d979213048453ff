// The training form: the presets (pynet/settings.py's, in its order), the network field's
// description as it is typed (each layer's output, the parameters, the memory; or why the page
// cannot train it), and a refused setting marked until it is put right. web/training.js starts
// runs from what the form holds.

import { WorkerRestarted } from './client.js';
import { settings } from './settings.js';
import * as ui from './ui.js';

const { dom } = ui;

const PRESETS = settings.presets;
const DESCRIBE_DELAY_MS = 150; // the network is described once typing pauses this long

// A preset's option in the menu, from its recipe: "Fast (seconds): 784-128-10, Adam, 2 epochs of 5,000".
const OPTIMIZERS = { gd: 'gradient descent', sgd: 'SGD', momentum: 'momentum', adam: 'Adam' };
function presetLabel(title, p) {
  const network = /[a-z]/i.test(p.network) ? p.network : `784-${p.network.split(/[,;]/).map((s) => s.trim()).join('-')}-10`;
  const fullBatch = Number(p.batch_size) === 0;
  const length = fullBatch ? `${p.epochs.toLocaleString()} iterations`
    : `${p.epochs} epochs of ${p.train_size.toLocaleString()}`;
  const schedule = p.schedule === 'constant' ? '' : `, ${p.schedule}`;
  return `${title}: ${network}, ${OPTIMIZERS[p.optimizer] ?? p.optimizer}${schedule}, ${length}`;
}
// app: the page's state (window.pynet): app.networkAsked and app.networkDescribed (equal: the
// description shown is that of the form as it is; networkDescribedText, the network it is of).
export function createForm(client, app) {
  let refusedField = null; // the setting a refusal marked, until the form changes
  // the presets in pynet/settings.py's order, each with its title (settings.json's keys are sorted)
  dom.preset.prepend(...settings.preset_menu.map(([name, title]) => new Option(presetLabel(title, PRESETS[name]), name)));
  // a preset is a whole recipe: what it does not name (augmentation) is off
  const fillPreset = (name) => ui.fillForm({ augment: 'off', ...PRESETS[name] });
  fillPreset(settings.default_preset);
  dom.preset.value = settings.default_preset;

  dom.preset.addEventListener('change', () => {
    if (PRESETS[dom.preset.value]) fillPreset(dom.preset.value);
    refusedField = null;
    ui.formMessage('', 'ok');
    describeSoon(0);
  });
  for (const el of Object.values(ui.FIELDS)) {
    el.addEventListener('input', () => {
      const values = ui.readForm();
      const match = Object.entries(PRESETS).find(([, p]) => Object.keys(p).every((k) => String(p[k]) === values[k])
                                                             && (p.augment ?? 'off') === values.augment);
      dom.preset.value = match ? match[0] : 'custom';
    });
  }

  // The network field's description, asked of the worker once typing pauses (the memory depends on
  // the batch size and, for a full batch, the training images). The worker answers requests in
  // turn (a run's only between two time slices, but the form is locked while one goes on); only
  // the answer to the latest request is shown.
  let describeTimer = null;
  let described = 0;
  function describeSoon(delay = DESCRIBE_DELAY_MS) {
    clearTimeout(describeTimer);
    describeTimer = setTimeout(describe, delay);
  }
  async function describe() {
    if (!app.ready) return; // described once the worker is ready (app.js)
    loadDataset();
    const asked = ++described;
    const config = ui.readForm();
    app.networkAsked = asked; // for the tests: with networkDescribed, whether the description shown is current
    try {
      const description = await client.request('describe', { config });
      if (asked !== described) return;
      ui.showNetwork(description);
      // the field a refusal marked is fine now: its mark and the message go
      if (refusedField === 'network') {
        refusedField = null;
        ui.formMessage('', 'ok');
      }
    } catch (e) {
      if (asked !== described || e instanceof WorkerRestarted) return;
      ui.showNetwork(null, e.field ? e.message : `The network could not be described: ${e.message}.`);
    } finally {
      if (asked === described) Object.assign(app, { networkDescribed: asked, networkDescribedText: config.network });
    }
  }
  for (const el of [dom.network, dom.batch, dom.trainSize, dom.activation]) el.addEventListener('input', () => describeSoon());
  dom.dataset.addEventListener('change', () => { if (app.ready) loadDataset(); });

  // The data set the form names is downloaded and loaded as soon as it is chosen (a preset, the
  // menu), so that Train starts at once; the worker loads each once, also when Train asks meanwhile.
  let datasetAsked = null;
  function loadDataset() {
    const name = dom.dataset.value;
    if (name === datasetAsked) return;
    datasetAsked = name;
    client.request('loadDataset', { name }).catch(() => { datasetAsked = null; }); // Train says what went wrong
  }
  // the network field wraps a long spec, but is one line of text: Enter trains, as in the other fields
  dom.network.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      dom.form.requestSubmit();
    }
  });


  return {
    // describe the network field now (the worker is ready: app.js)
    describe: () => describeSoon(0),
    // a run refused for a setting: the message, the field marked (a network's line is shown once,
    // in the message, not also under the field)
    refused(message, field) {
      refusedField = field;
      ui.formMessage(message, 'error', field);
      if (field === 'network') ui.showNetwork(null);
    },
  };
}
