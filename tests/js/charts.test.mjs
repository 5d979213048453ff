// web/charts.js's thinning of a curve for the run history (web/history.js): at most n points,
// the loss as means of consecutive runs of points, the accuracies as points picked evenly, the
// curve's end kept. Run: node --test tests/js/
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { meanThin, pickThin } from '../../web/charts.js';

test('a curve with no more points than asked for is kept as it is', () => {
  const xs = [1, 2, 3]; const ys = [0.5, null, 0.25];
  assert.deepEqual(meanThin(xs, ys, 3), [xs, ys]);
  assert.deepEqual(pickThin([xs, ys], 5), [xs, ys]);
});

test('a loss curve becomes the mean of each run of points, each at its run\'s last x', () => {
  const xs = Array.from({ length: 10 }, (_, i) => i + 1);
  const ys = xs.map((x) => x * 10);
  // runs of 10/4 points: [0, 2), [2, 5), [5, 7), [7, 10)
  assert.deepEqual(meanThin(xs, ys, 4), [[2, 5, 7, 10], [15, 40, 65, 90]]);
  // a gap (a batch with no finite loss) is left out of its run's mean; a run of gaps is a gap
  assert.deepEqual(meanThin([1, 2, 3, 4], [null, 4, null, null], 2), [[2, 4], [4, null]]);
});

test('a long curve keeps at most n points, its first and last among them', () => {
  const m = 100_000;
  const xs = Array.from({ length: m }, (_, i) => i);
  const [tx, ty] = meanThin(xs, xs.map((x) => 2 * x), 200);
  assert.equal(tx.length, 200);
  assert.equal(tx.at(-1), m - 1);
  assert.ok(tx.every((x, i) => i === 0 || x > tx[i - 1]));
  // each mean lies within its run of points
  assert.ok(ty.every((y, i) => y <= 2 * tx[i] && y >= 2 * (i ? tx[i - 1] + 1 : 0)));
  const [px, pt] = pickThin([xs, xs.map((x) => x / m)], 200);
  assert.equal(px.length, 200);
  assert.deepEqual([px[0], px.at(-1)], [0, m - 1]);
  assert.deepEqual(pt, px.map((x) => x / m)); // the columns stay together
});
