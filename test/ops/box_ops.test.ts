/** Box ops on hand-computed boxes ([ymin, xmin, ymax, xmax]). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkNormalizedBoxes,
  clipBoxes,
  denormalizeBoxes,
  gatherRows,
  horizontalFlipBoxes,
  nonEmptyBoxIndices,
  normalizeBoxes,
  verticalFlipBoxes,
} from '../../src/ops/box_ops.js';
import { assertClose } from '../helpers.js';

test('normalise <-> denormalise by [height, width]', () => {
  const abs = [10, 20, 30, 60, 0, 0, 50, 100];
  const norm = normalizeBoxes(abs, 50, 100);
  assertClose(norm, [0.2, 0.2, 0.6, 0.6, 0, 0, 1, 1]);
  assertClose(denormalizeBoxes(norm, 50, 100), abs, { rtol: 1e-6 });
});

test('clip to the image: max(min(box, [h, w, h, w]), 0)', () => {
  assert.deepEqual(Array.from(clipBoxes([-5, 3, 70, 120], 50, 100)), [0, 3, 50, 100]);
});

test('flips mirror the normalised coordinates', () => {
  assertClose(horizontalFlipBoxes([0.1, 0.2, 0.5, 0.7]), [0.1, 0.3, 0.5, 0.8]);
  assertClose(verticalFlipBoxes([0.1, 0.2, 0.5, 0.7]), [0.5, 0.2, 0.9, 0.7]);
});

test('boxes emptied by a crop are dropped; gather keeps the survivors and their classes', () => {
  // After clipping to a 10x10 crop: box 1 lies left of it (zero width), box 2 below (zero height).
  const clipped = clipBoxes([1, 1, 5, 5, 2, -8, 6, -2, 12, 3, 15, 6, 0, 0, 10, 10], 10, 10);
  const keep = nonEmptyBoxIndices(clipped);
  assert.deepEqual(keep, [0, 3]);
  assert.deepEqual(Array.from(gatherRows(clipped, keep, 4)), [1, 1, 5, 5, 0, 0, 10, 10]);
  assert.deepEqual(Array.from(gatherRows(Int32Array.of(7, 8, 9, 4), keep)), [7, 4]);
});

test('bad boxes are named', () => {
  assert.throws(() => normalizeBoxes([1, 2, 3], 10, 10), /\[N, 4\]/);
  assert.throws(
    () => checkNormalizedBoxes('record 3', [0, 0, 1, 1, 0.2, 0.1, 1.5, 0.3]),
    /record 3: box 1/,
  );
  assert.throws(() => gatherRows(Int32Array.of(1, 2), [2]), /index 2/);
});
