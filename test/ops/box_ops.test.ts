/** Box ops, box coding and IoU on hand-computed boxes ([ymin, xmin, ymax, xmax]). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BBOX_XFORM_CLIP,
  FASTER_RCNN_EPSILON,
  checkNormalizedBoxes,
  decodeBoxes,
  encodeBoxes,
  pairwiseIou,
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

test('encode: centre offsets over the anchor size, log size ratios, times the weights', () => {
  const anchor = [0, 0, 10, 20]; // centre (5, 10), 10 x 20
  // [2, 4, 12, 24]: centre (7, 14), same size; [0, 0, 20, 10]: centre (10, 5), 20 x 10.
  const boxes = [2, 4, 12, 24, 0, 0, 20, 10];
  const ln2 = Math.log(2);
  assertClose(encodeBoxes(boxes, anchor), [0.2, 0.2, 0, 0, 0.5, -0.25, ln2, -ln2]);
  assertClose(encodeBoxes(boxes, [...anchor, ...anchor], { weights: [10, 10, 5, 5] }), [
    2,
    2,
    0,
    0,
    5,
    -2.5,
    5 * ln2,
    -5 * ln2,
  ]);
});

test('encode with the Faster R-CNN epsilon keeps a zero box finite', () => {
  const anchor = [0, 0, 4, 8];
  const plain = encodeBoxes([0, 0, 0, 0], anchor);
  assert.equal(plain[2], -Infinity);
  const eps = Math.fround(FASTER_RCNN_EPSILON);
  // centre 0 against (2, 4): -2 / 4, -4 / 8; sizes eps / 4 and eps / 8.
  assertClose(encodeBoxes([0, 0, 0, 0], anchor, { epsilon: FASTER_RCNN_EPSILON }), [
    -0.5,
    -0.5,
    Math.log(eps / 4),
    Math.log(eps / 8),
  ]);
});

test('decode inverts encode, divides by the weights and caps dh, dw at log(1000 / 16)', () => {
  const anchor = [0, 0, 10, 20];
  const ln2 = Math.log(2);
  assertClose(decodeBoxes([0.5, -0.25, ln2, -ln2], anchor), [0, 0, 20, 10], { atol: 1e-5 });
  assertClose(decodeBoxes([2, 2, 0, 0], anchor, [10, 10, 5, 5]), [2, 4, 12, 24], { atol: 1e-5 });
  // dh = 10 is capped: h = 62.5 * 10 = 625 about the centre y 5; dw = 0 keeps the width.
  assert.equal(BBOX_XFORM_CLIP, Math.log(62.5));
  assertClose(decodeBoxes([0, 0, 10, 0], anchor), [-307.5, 0, 317.5, 20], { rtol: 1e-6 });
});

test('coding rejects mismatched anchors and bad weights', () => {
  assert.throws(
    () => encodeBoxes([0, 0, 1, 1, 0, 0, 2, 2], [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]),
    /3 anchors for 2 boxes/,
  );
  assert.throws(
    () => decodeBoxes([0, 0, 0, 0], [0, 0, 1, 1], [1, 0, 1, 1]),
    /weights must be 4 positive/,
  );
});

test('pairwise IoU: overlap, identity, touching edges, containment', () => {
  const a = [0, 0, 10, 10, 0, 0, 20, 10];
  const b = [5, 5, 15, 15, 0, 0, 10, 10, 10, 0, 20, 10, 2, 2, 4, 4];
  // row 0: 25 / 175, 1, 0 (shared edge), 4 / 100; row 1 (area 200): 50 / 250, 100 / 200,
  // 100 / 200, 4 / 200.
  assertClose(pairwiseIou(a, b), [1 / 7, 1, 0, 0.04, 0.2, 0.5, 0.5, 0.02]);
  assert.deepEqual(Array.from(pairwiseIou(a, [])), []);
});
