// The drawing pad and its reading: each change of the pad (or of the model, through refresh)
// asks the worker what the model in use reads there.

import { WorkerRestarted } from './client.js';
import { createPad } from './draw.js';
import * as ui from './ui.js';

const { dom } = ui;

// app: the page's state (window.pynet); predictionsAsked and predictionAnswered say whether the
// reading shown is that of the pad and model as they are now (equal: it is). onRead(result,
// pixels): told of each reading shown, with a function giving the pad's pixels, or null when a
// newer reading of the pad is already on its way; ({digit: null}) when the pad is cleared.
export function createReading(client, app, { onRead } = {}) {
  let predicting = false;
  let again = false;
  app.predictionsAsked = 0;
  app.predictionAnswered = 0;

  function predictNow() {
    if (!app.ready) return;
    app.predictionsAsked += 1;
    sendPrediction();
  }

  // One request at a time: asks that come while one is in flight are answered by the next one.
  async function sendPrediction() {
    if (predicting) { again = true; return; }
    predicting = true;
    try {
      const asked = app.predictionsAsked;
      const { pixels, width, height } = pad.pixels();
      const result = await client.request('predict', { pixels, width, height }, [pixels.buffer]);
      ui.showPrediction(result);
      app.lastPrediction = result.probabilities;
      app.lastImage28 = result.image28;
      app.predictions = (app.predictions || 0) + 1;
      app.predictionAnswered = asked;
      onRead?.(result, again ? null : () => pad.pixels());
    } catch (e) {
      if (!(e instanceof WorkerRestarted) && !app.recovering) ui.trainMessage(`Could not read the drawing: ${e.message}`, 'error');
    } finally {
      predicting = false;
      if (again) { again = false; sendPrediction(); }
    }
  }

  const pad = createPad(dom.draw, { onDraw: predictNow, onEnd: predictNow, lineWidth: 20 });
  dom.clear.addEventListener('click', () => { pad.clear(); ui.clearPrediction(); ui.padNote(''); onRead?.({ digit: null }, null); });

  // The keyboard alternative to drawing: a random test image, put on the pad as if drawn.
  dom.tryTest.addEventListener('click', async () => {
    if (!app.ready) return;
    try {
      const start = Math.floor(Math.random() * 10_000);
      const { images, labels } = await client.request('samples', { n: 1, dataset: 'small', split: 'test', start });
      pad.putImage(images[0]);
      app.testImage = { index: start, label: labels[0] };
      ui.padNote(`Showing test image no. ${start.toLocaleString()}, labelled ${labels[0]}.`);
      predictNow();
    } catch (e) {
      if (!(e instanceof WorkerRestarted)) ui.padNote(`Could not load a test image: ${e.message}`);
    }
  });

  return {
    // The model in use has changed: read what is drawn again (nothing drawn, nothing to read).
    refresh() {
      if (!pad.isEmpty()) predictNow();
    },
  };
}
