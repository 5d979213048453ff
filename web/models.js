// The model in use and its file: shown, kept on this thread (so a restarted worker gets it
// back), downloaded, uploaded, reset to the default, saved in and restored from this browser;
// and a trained model on offer, which replaces the one in use only when the user says so.

import { WorkerRestarted } from './client.js';
import { settings } from './settings.js';
import * as store from './store.js';
import * as ui from './ui.js';

const { dom } = ui;

// app: the page's state (window.pynet); app.modelShown counts the models shown.
// reading, analysis: refreshed when the model in use changes.
// recovered(): resolves once the worker, restarted after its runtime broke, is ready again.
export function createModels(client, app, { reading, analysis, recovered }) {
  // The current model's file (null: the default model), kept after each training run, upload or
  // restore, so that a restarted worker can load it again.
  const kept = { bytes: null, name: 'default' };
  let offered = null;

  function show(info) {
    app.modelShown = (app.modelShown || 0) + 1;
    ui.showModel(info);
  }

  // A trained model the user may take instead of the one in use (a stopped run's, one that
  // diverged after an epoch, or one that ended after the model in use was changed); null: none.
  function offer(trained) {
    offered = trained;
    ui.showOffer(trained);
  }

  // Keep the current model's bytes on this thread, asking the worker for them.
  async function keep(name) {
    if (name === 'default') { kept.bytes = null; kept.name = 'default'; return; }
    try {
      kept.bytes = await client.request('saveModel');
      kept.name = name || 'trained';
    } catch (e) {
      if (!(e instanceof WorkerRestarted)) console.warn(`Could not keep a copy of the model: ${e.message}`);
    }
  }

  // The worker's model in use is now `info` (undefined: it did not say), after a run or with the
  // offer taken: show it, read the drawing with it, keep its file, analyse it.
  async function changed(info) {
    if (info) show(info);
    reading.refresh();
    await keep(info?.name);
    await analysis.refresh();
  }

  // A model file the worker took (bytes null: the default model): it is the one in use now.
  function loaded(info, bytes, name, message) {
    kept.bytes = bytes;
    kept.name = name;
    show(info);
    ui.modelMessage(message, 'ok');
    reading.refresh();
    analysis.refresh();
  }

  dom.useOffer.addEventListener('click', async () => {
    try {
      const info = await client.request('useOffered');
      offer(null);
      ui.modelMessage('The trained model now reads your drawings.', 'ok');
      await changed(info);
    } catch (e) {
      if (!(e instanceof WorkerRestarted)) ui.modelMessage(`Could not use the trained model: ${e.message}`);
    }
  });

  dom.keepCurrent.addEventListener('click', async () => {
    try {
      await client.request('discardOffer');
      offer(null);
    } catch (e) {
      if (!(e instanceof WorkerRestarted)) ui.modelMessage(`Could not drop the trained model: ${e.message}`);
    }
  });

  dom.download.addEventListener('click', async () => {
    try {
      const bytes = await client.request('saveModel');
      ui.downloadFile(bytes, 'pynet-model.npz');
      ui.modelMessage('Model saved as pynet-model.npz.', 'ok');
    } catch (e) {
      ui.modelMessage(`Could not save the model: ${e.message}`);
    }
  });

  dom.upload.addEventListener('change', async () => {
    const file = dom.upload.files[0];
    if (!file) return;
    try {
      const limit = settings.limits.max_model_bytes;
      if (file.size > limit) throw new Error(`the file is larger than ${limit / 2 ** 20} MB`);
      const bytes = new Uint8Array(await file.arrayBuffer());
      const copy = bytes.slice();
      let info;
      try {
        info = await client.request('loadModel', { bytes }, [bytes.buffer]);
      } catch (e) {
        // The worker's runtime broke while checking the file (not a refusal): once the page has
        // restarted it, check the file again on the fresh one.
        if (!e.fatal) throw e;
        await recovered();
        try {
          info = await client.request('loadModel', { bytes: copy.slice(), name: 'uploaded' });
        } catch (again) {
          if (!again.fatal) throw again;
          // twice, on two fresh runtimes: the file itself breaks it (the page restarts the worker again)
          throw new Error(`checking it stopped the Python runtime twice (${again.message})`);
        }
      }
      loaded(info, copy, 'uploaded', `Loaded ${file.name}: it now reads your drawings.`);
    } catch (e) {
      ui.modelMessage(`Refused ${file.name}: ${e.message}. The previous model is still in use.`);
    } finally {
      dom.upload.value = '';
    }
  });

  dom.resetModel.addEventListener('click', async () => {
    try {
      loaded(await client.request('useDefault'), null, 'default', 'The default model is in use again.');
    } catch (e) {
      ui.modelMessage(`Could not switch to the default model: ${e.message}`);
    }
  });

  dom.saveLocal.addEventListener('click', async () => {
    try {
      const bytes = await client.request('saveModel');
      const info = await client.request('modelInfo');
      await store.saveModel(bytes, info);
      dom.restoreLocal.disabled = false;
      ui.modelMessage(`Saved the ${info.name} model ${info.label} in this browser.`, 'ok');
    } catch (e) {
      ui.modelMessage(`Could not save in this browser: ${e.message}`);
    }
  });

  dom.restoreLocal.addEventListener('click', async () => {
    const saved = await store.loadSaved().catch(() => null);
    if (!saved) ui.modelMessage('Could not restore the saved model: nothing is saved yet. The previous model is still in use.');
    else await restoreSaved(saved);
  });

  // Make a model saved in this browser the current one; a bad one is refused and nothing changes.
  async function restoreSaved(saved) {
    try {
      const info = await client.request('loadModel', { bytes: saved.bytes, name: 'saved' });
      loaded(info, saved.bytes, 'saved', `Restored the model saved on ${new Date(saved.saved).toLocaleString()}.`);
    } catch (e) {
      ui.modelMessage(`Could not restore the saved model: ${e.message}. The previous model is still in use.`);
    }
  }

  return {
    show,
    offer,
    changed,
    offerPending: () => offered !== null,
    // The worker is ready: the model file's buttons work, and a model the user saved in this
    // browser comes back on reload.
    async start() {
      dom.download.disabled = false;
      dom.upload.disabled = false;
      dom.resetModel.disabled = false;
      dom.saveLocal.disabled = false;
      const saved = await store.loadSaved().catch(() => null);
      dom.restoreLocal.disabled = !saved;
      if (saved) await restoreSaved(saved);
    },
    // A restarted worker (`defaultModel`: what it loaded) gets the kept model back; the offer
    // lived in the worker that stopped. Returns the model in use.
    async reload(defaultModel) {
      const model = kept.bytes
        ? await client.request('loadModel', { bytes: kept.bytes.slice(), name: kept.name }) : defaultModel;
      show(model);
      offer(null);
      return model;
    },
  };
}
