// "Why did it say that": for the drawing on the pad, which of the 28x28 pixels push the score of
// a digit up (red) or down (blue), the gradient of that score computed by the worker
// (pynet/page/why.py); the digit is the one read, or any other the user picks ("why not a 7?").

import { WorkerRestarted } from './client.js';
import { settings } from './settings.js';
import { paintTile } from './ui.js';

const $ = (id) => document.getElementById(id);
const dom = { map: $('why-map'), caption: $('why-caption'), digits: $('why-digits') };

// the gradient over its largest magnitude, drawn over the drawing's ink (darker where there is ink)
const INK_SHADE = 0.45;

// app: the page's state (window.pynet); app.explanation is the explanation shown (for the tests).
export function createWhy(client, app) {
  let chosen = null; // the digit picked, or null: the digit the network reads
  let pixels = null; // () => the pad's pixels, given with each reading
  let asking = false;
  let again = false;
  app.explanationsAsked = 0;
  app.explanationAnswered = 0;

  const buttons = Array.from({ length: settings.n_classes }, (_, d) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = String(d);
    b.setAttribute('aria-pressed', 'false');
    b.setAttribute('aria-label', `Why ${d}`);
    b.addEventListener('click', () => {
      // picking the digit the network reads (or the one already picked) follows the reading again
      chosen = d === chosen || d === app.explanation?.predicted ? null : d;
      ask();
    });
    return b;
  });
  dom.digits.replaceChildren(...buttons);
  show(null);

  function ask() {
    if (!pixels) return;
    app.explanationsAsked += 1;
    send();
  }

  // One request at a time; asks that come meanwhile are answered by the next one.
  async function send() {
    if (asking) { again = true; return; }
    asking = true;
    try {
      const asked = app.explanationsAsked;
      const { pixels: data, width, height } = pixels();
      const result = await client.request('explain', { pixels: data, width, height, digit: chosen }, [data.buffer]);
      if (pixels) show(result); // else the pad was cleared meanwhile
      app.explanationAnswered = asked;
    } catch (e) {
      if (!(e instanceof WorkerRestarted)) dom.caption.textContent = `Could not explain the reading: ${e.message}`;
    } finally {
      asking = false;
      if (again) { again = false; send(); }
    }
  }

  function show(result) {
    app.explanation = result;
    const shown = result?.gradient ? result : null;
    const ink = (shown && app.lastImage28) || []; // the reading's 28x28 image: the same pad pixels
    const scale = shown && shown.max > 0 ? shown.max : 1;
    paintTile(dom.map, shown ? shown.gradient : [], 28, 28, (g, i) => {
      const v = Math.max(-1, Math.min(1, g / scale));
      const a = Math.round(Math.abs(v) * 255);
      const dim = 1 - INK_SHADE * (ink[i] ?? 0);
      return [v > 0 ? 255 : 255 - a, 255 - a, v < 0 ? 255 : 255 - a].map((c) => Math.round(c * dim));
    });
    const digit = shown ? shown.digit : null;
    buttons.forEach((b, d) => b.setAttribute('aria-pressed', String(d === digit)));
    if (!shown) {
      dom.caption.textContent = 'Draw a digit: this map then shows which pixels push the network towards it.';
      dom.map.setAttribute('aria-label', 'Why the network reads what it reads: nothing drawn');
      return;
    }
    const which = digit === shown.predicted ? `a ${digit}` : `not a ${digit} (it reads a ${shown.predicted})`;
    dom.caption.textContent = `Why ${which}? Red: more ink there raises its score for ${digit}; blue: lowers it.`;
    const count = (f) => shown.gradient.filter((g) => f(g / scale)).length;
    dom.map.setAttribute('aria-label', `Heat map of the score for ${digit}: ${count((v) => v > 0.25)} pixels push `
      + `towards it, ${count((v) => v < -0.25)} against it`);
  }

  return {
    // a reading of the pad is shown (reading.js): explain it, unless the pad is empty
    read(result, padPixels) {
      if (result.digit == null) {
        pixels = null;
        chosen = null;
        show(null);
        return;
      }
      pixels = padPixels;
      ask();
    },
  };
}
