/** BoxMatcher on hand-made similarity matrices: bands, first-index ties, force matching. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoxMatcher } from '../../src/ops/box_matcher.js';
import { pairwiseIou } from '../../src/ops/box_ops.js';
import { assertClose } from '../helpers.js';

const matcher = (force: boolean) =>
  new BoxMatcher({ thresholds: [0.4, 0.5], indicators: [-1, -2, 1], forceMatchForEachCol: force });
const run = (m: BoxMatcher, sim: number[], rows: number, cols: number) => {
  const r = m.match(Float32Array.from(sim), rows, cols);
  return [Array.from(r.matchedColumns), Array.from(r.indicators)];
};

test('bands [-inf, 0.4) [0.4, 0.5) [0.5, inf) and first-column ties', () => {
  const sim = [0.6, 0.2, 0.45, 0.45, 0.1, 0.3, 0.5, 0.5];
  // row 1 ties at 0.45 -> column 0, ignored; row 3 ties at exactly 0.5 -> column 0, positive.
  assert.deepEqual(run(matcher(false), sim, 4, 2), [
    [0, 0, 1, 0],
    [1, -2, -1, 1],
  ]);
});

test('force match gives each column its best row (first on ties), whatever the value', () => {
  // Column 1's best value 0.2 is first reached in row 1, which is taken from column 0's band.
  const sim = [0.9, 0.1, 0.3, 0.2, 0.2, 0.2];
  assert.deepEqual(run(matcher(false), sim, 3, 2), [
    [0, 0, 0],
    [1, -1, -1],
  ]);
  assert.deepEqual(run(matcher(true), sim, 3, 2), [
    [0, 1, 0],
    [1, 1, -1],
  ]);
});

test('two columns forcing the same row: the lower column keeps it', () => {
  const sim = [0.9, 0.8, 0.1, 0.05];
  assert.deepEqual(run(matcher(true), sim, 2, 2), [
    [0, 0],
    [1, -1],
  ]);
});

test('no columns: every row is unmatched (-1) at column 0', () => {
  assert.deepEqual(run(matcher(true), [], 3, 0), [
    [0, 0, 0],
    [-1, -1, -1],
  ]);
});

test('bad thresholds and indicators are rejected', () => {
  assert.throws(
    () => new BoxMatcher({ thresholds: [0.5, 0.4], indicators: [-1, -2, 1] }),
    /sorted/,
  );
  assert.throws(() => new BoxMatcher({ thresholds: [0.5], indicators: [-1, -2, 1] }), /need 2/);
  assert.throws(() => matcher(false).match([1, 2, 3], 2, 2), /3 values for a 2 x 2/);
});

test("Model Garden's iou_similarity_test and box_matcher_test expectations", () => {
  const anchors = [0, 0, 1, 1, 5, 0, 10, 5];
  const gt = [0, 0, 5, 5, 0, 5, 5, 10, 5, 0, 10, 5, 5, 5, 10, 10];
  const sim = pairwiseIou(anchors, gt);
  assertClose(sim, [0.04, 0, 0, 0, 0, 0, 1, 0]);
  const m = new BoxMatcher({ thresholds: [0, 0.2, 0.5], indicators: [-3, -2, -1, 1] });
  const r = m.match(sim, 2, 4);
  assert.deepEqual(Array.from(r.matchedColumns), [0, 2]);
  assert.deepEqual(Array.from(r.indicators), [-2, 1]);
});
