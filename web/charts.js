// The training charts (uPlot): the loss of every batch and the accuracies of every epoch,
// redrawn at most every 250 ms so they never slow the training.
//
// uPlot builds an Intl.NumberFormat from navigator.language as soon as its script runs, and
// that throws where the browser's language tag is not a valid locale (WebKitGTK under a C
// locale reports 'C'): so this module loads uPlot itself, once the tag is a valid one.

const UPLOT_SRC = new URL('./vendor/uPlot.iife.min.js', import.meta.url);
const FALLBACK_LANGUAGE = 'en';

const figure = (y) => (Number.isFinite(y) ? y.toPrecision(4) : 'not a number');

// A language tag Intl accepts: the browser's own, or FALLBACK_LANGUAGE.
function validLanguage(tag) {
  try {
    return tag && Intl.getCanonicalLocales(tag).length ? tag : FALLBACK_LANGUAGE;
  } catch {
    return FALLBACK_LANGUAGE; // RangeError: not a BCP 47 tag
  }
}

let loading = null;

// Resolves to uPlot, loaded once, after navigator.language has been made valid where it was not.
export function loadPlot() {
  loading ??= new Promise((resolve, reject) => {
    const language = validLanguage(navigator.language);
    if (language !== navigator.language) {
      // shadows the browser's getter for this page only; nothing else in pynet reads it
      Object.defineProperty(navigator, 'language', { value: language, configurable: true });
    }
    const script = document.createElement('script');
    script.src = UPLOT_SRC;
    script.onload = () => (window.uPlot ? resolve(window.uPlot) : reject(new Error('uPlot did not load')));
    script.onerror = () => reject(new Error(`could not load ${UPLOT_SRC.pathname}`));
    document.head.append(script);
  });
  return loading;
}

// The axes of the training charts, shared with the run history's (web/history.js).
export const STEP_AXIS = { label: 'step', size: 40, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000] };
export const EPOCH_AXIS = { label: 'epoch', size: 40, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] };
export const PERCENT_AXIS = { size: 52, values: (u, v) => v.map((x) => `${Math.round(x * 100)}%`) };
// zoom in on the accuracies reached: from the lowest one shown (at most 80%) to 100%
export const accuracyRange = (u, lo) => [Math.max(0, Math.min(0.8, Math.floor((Number.isFinite(lo) ? lo : 0) * 20) / 20)), 1];

// Mean of each of n runs of consecutive points (x: the run's last), the curve's end kept: a loss
// curve, noisy from batch to batch, thinned to at most n points.
export function meanThin(xs, ys, n) {
  if (xs.length <= n) return [xs, ys];
  const ox = []; const oy = [];
  for (let k = 0; k < n; k++) {
    const lo = Math.floor((k * xs.length) / n); const hi = Math.floor(((k + 1) * xs.length) / n);
    const part = ys.slice(lo, hi).filter((y) => y != null);
    ox.push(xs[hi - 1]);
    oy.push(part.length ? part.reduce((a, b) => a + b, 0) / part.length : null);
  }
  return [ox, oy];
}

// At most n evenly spaced points of equally long columns, the first and the last kept.
export function pickThin(columns, n) {
  const m = columns[0].length;
  if (m <= n) return columns;
  const idx = [...new Set(Array.from({ length: n }, (_, k) => Math.round((k * (m - 1)) / (n - 1))))];
  return columns.map((c) => idx.map((i) => c[i]));
}

// The two charts, drawn in the elements lossEl and accEl; data added before uPlot has loaded
// is drawn once it has. maxPoints: more than that many points are thinned out by half.
export function makeCharts(lossEl, accEl, maxPoints) {
  const loss = { x: [], y: [], epoch: [] }; // epoch: the epoch's mean loss at its last step, else null
  const acc = { x: [], train: [], val: [], test: [] };
  let lossPlot = null;
  let accPlot = null;
  let timer = null;
  let dirty = false;

  // each chart's text alternative: what it shows and its latest values, renewed with each redraw
  for (const el of [lossEl, accEl]) el.setAttribute('role', 'img');
  describe();

  function size(el) {
    return { width: Math.max(200, el.clientWidth), height: 200 };
  }

  loadPlot().then((Plot) => {
    lossPlot = new Plot({
      ...size(lossEl), legend: { show: false }, cursor: { show: false },
      scales: { x: { time: false } },
      axes: [STEP_AXIS, { size: 45 }],
      series: [{}, { label: 'loss', stroke: '#2457c5', width: 1.5, points: { show: false } },
               { label: 'epoch mean', stroke: '#c0392b', width: 2, spanGaps: true, points: { show: true, size: 6 } }],
    }, [loss.x, loss.y, loss.epoch], lossEl);
    accPlot = new Plot({
      ...size(accEl), legend: { show: false }, cursor: { show: false },
      scales: { x: { time: false }, y: { range: accuracyRange } },
      axes: [EPOCH_AXIS, PERCENT_AXIS],
      series: [{}, { label: 'train', stroke: '#8fb0f0', width: 1.5 },
               { label: 'validation', stroke: '#b07d12', width: 1.5, dash: [5, 4], spanGaps: true },
               { label: 'test', stroke: '#1d7a3c', width: 2, spanGaps: true, points: { show: true, size: 5 } }],
    }, [acc.x, acc.train, acc.val, acc.test], accEl);
    new ResizeObserver(() => {
      lossPlot.setSize(size(lossEl));
      accPlot.setSize(size(accEl));
    }).observe(lossEl);
  }).catch((e) => {
    // the numbers next to the charts still show the run; say why the curves do not
    console.warn(`The charts are not available: ${e.message}`);
    lossEl.dataset.empty = `The charts could not be drawn: ${e.message}.`;
    lossEl.classList.add('empty');
  });

  function decimate() {
    const nx = []; const ny = []; const ne = [];
    for (let i = 0; i + 1 < loss.x.length; i += 2) {
      nx.push(loss.x[i + 1]); ny.push((loss.y[i] + loss.y[i + 1]) / 2); ne.push(loss.epoch[i + 1] ?? loss.epoch[i]);
    }
    loss.x = nx; loss.y = ny; loss.epoch = ne;
  }

  function render() {
    timer = null;
    if (!dirty) return;
    dirty = false;
    describe();
    lossPlot?.setData([loss.x, loss.y, loss.epoch]);
    accPlot?.setData([acc.x, acc.train, acc.val, acc.test]);
  }

  function describe() {
    const n = loss.x.length;
    const epoch = loss.epoch.findLast((y) => y != null);
    lossEl.setAttribute('aria-label', n === 0 ? 'Loss chart: no training run yet.'
      : `Loss chart, cross-entropy per batch up to step ${loss.x[n - 1].toLocaleString()}: latest ${figure(loss.y[n - 1])}, `
        + `lowest ${figure(Math.min(...loss.y.filter(Number.isFinite)))}`
        + (epoch == null ? '.' : `; mean of the last epoch ${figure(epoch)}.`));
    const m = acc.x.length;
    const pct = (a) => {
      const v = a.findLast((y) => y != null);
      return v == null ? 'not measured' : `${(v * 100).toFixed(1)}%`;
    };
    accEl.setAttribute('aria-label', m === 0 ? 'Accuracy chart: no epoch ended yet.'
      : `Accuracy chart after epoch ${acc.x[m - 1]}: train ${pct(acc.train)}, validation ${pct(acc.val)}, test ${pct(acc.test)}.`);
  }

  return {
    reset() {
      loss.x = []; loss.y = []; loss.epoch = []; acc.x = []; acc.train = []; acc.val = []; acc.test = [];
      dirty = true;
      render();
    },
    addLoss(x, y) {
      if (y == null) return;
      if (!loss.x.length) lossEl.classList.remove('empty');
      loss.x.push(x); loss.y.push(y); loss.epoch.push(null);
      if (loss.x.length > maxPoints) decimate();
      dirty = true;
    },
    addEpoch(e) {
      // the epoch's mean loss goes on the last plotted step of that epoch
      let i = loss.x.length - 1;
      while (i > 0 && loss.x[i] > e.step) i--;
      if (i >= 0 && e.loss != null) loss.epoch[i] = e.loss;
      acc.x.push(e.epoch); acc.train.push(e.train_acc); acc.val.push(e.val_acc ?? null); acc.test.push(e.test_acc);
      if (acc.x.length > maxPoints) {
        const keep = (_, i) => i % 2 === 1 || acc.test[i] != null;
        const idx = acc.x.map((_, i) => i).filter((i) => keep(null, i));
        acc.x = idx.map((i) => acc.x[i]); acc.train = idx.map((i) => acc.train[i]);
        acc.val = idx.map((i) => acc.val[i]); acc.test = idx.map((i) => acc.test[i]);
      }
      dirty = true;
    },
    // copies of the curves drawn: the loss per step (thinned as drawn) and the accuracies per epoch
    curves() {
      return { loss: { x: loss.x.slice(), y: loss.y.slice() },
               acc: { x: acc.x.slice(), train: acc.train.slice(), test: acc.test.slice() } };
    },
    lastTest() {
      for (let i = acc.test.length - 1; i >= 0; i--) if (acc.test[i] != null) return acc.test[i];
      return null;
    },
    draw(now = false) {
      dirty = true;
      if (now) { clearTimeout(timer); render(); } else if (!timer) timer = setTimeout(render, 250);
    },
  };
}
