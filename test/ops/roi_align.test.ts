/**
 * multilevelCropAndResize (src/ops/roi_align.ts) against values worked out by hand: features that
 * are linear in (y, x) per level (bilinear sampling reproduces them exactly inside the map), so
 * each output bin is the feature function at the bin centre in the box's level coordinates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { multilevelCropAndResize } from '../../src/ops/roi_align.js';
import { assertClose } from '../helpers.js';

await initBackend('cpu');

/** [batch, h, w, 2]: channel 0 = base + 1000·b + 10·y + x, channel 1 = 1. */
function linearLevel(batch: number, size: number, base: number): tf.Tensor {
  const v: number[] = [];
  for (let b = 0; b < batch; b++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) v.push(base + 1000 * b + 10 * y + x, 1);
  return tf.tensor4d(v, [batch, size, size, 2]);
}

test('level assignment, bin-centre samples, boundary clamping and batch offsets', () => {
  // Level 2: 32×32 (stride 4, a 128-pixel image); level 3: 16×16 (stride 8).
  const features = { '2': linearLevel(2, 32, 0), '3': linearLevel(2, 16, 500) };
  const perImage = [
    // sqrt(60·64) = 62.0 → floor(log2(62/224)) + 4 = 2; level coords y 2.5 h 15, x 4.5 w 16;
    // bin centres y 2.5 + {3.75, 11.25} = {6.25, 13.75}, x 4.5 + {4, 12} = {8.5, 16.5}.
    [10, 18, 70, 82],
    // sqrt(120·120) = 120 → level 3; coords y 0.5 h 15, x 0.75 w 15;
    // centres y {4.25, 11.75}, x {4.5, 12}.
    [4, 6, 124, 126],
    // Zero area: divide_no_nan gives 0, log 0 = −inf → the lowest level; every sample at (0, 0).
    [0, 0, 0, 0],
    // sqrt(1000²) → level 6, clamped to 3; centres y = x = {31.25, 93.75} lie past the boundary
    // 16 − 1 = 15: both neighbours clamp to 15 and the weights (−15.25, 16.25) still sum to 1.
    [0, 0, 1000, 1000],
  ];
  const boxes = tf.tensor3d([...perImage, ...perImage].flat(), [2, 4, 4]);
  const out = multilevelCropAndResize(features, boxes, 2);
  assert.deepEqual(out.shape, [2, 4, 2, 2, 2]);
  const f2 = (y: number, x: number) => 10 * y + x;
  const f3 = (y: number, x: number) => 500 + 10 * y + x;
  const perBox = [
    [f2(6.25, 8.5), f2(6.25, 16.5), f2(13.75, 8.5), f2(13.75, 16.5)],
    [f3(4.25, 4.5), f3(4.25, 12), f3(11.75, 4.5), f3(11.75, 12)],
    [0, 0, 0, 0],
    [f3(15, 15), f3(15, 15), f3(15, 15), f3(15, 15)],
  ];
  const expected: number[] = [];
  for (let b = 0; b < 2; b++)
    for (const bins of perBox) for (const v of bins) expected.push(v + 1000 * b, 1);
  assertClose(out.dataSync(), expected, { rtol: 1e-5, atol: 1e-3, msg: 'crops' });
  tf.dispose([out, boxes, ...Object.values(features)]);
});

test('bad input names the argument', () => {
  const f = tf.zeros([1, 8, 8, 2]);
  const boxes = tf.zeros([1, 3, 4]);
  assert.throws(() => multilevelCropAndResize({ '2': f, '4': f }, boxes), /lack level 3/);
  assert.throws(() => multilevelCropAndResize({ '2': f }, tf.zeros([2, 3, 4])), /boxes must be/);
  assert.throws(() => multilevelCropAndResize({ '2': f }, boxes, 0), /outputSize/);
  tf.dispose([f, boxes]);
});

test('gradient w.r.t. the features: each sample scatters its bilinear weights, by hand', () => {
  // One level (2) of 8×8, one channel; every box goes to it. Box A [6, 6, 20, 22] px → level
  // coords [1.5, 1.5, 5, 5.5], one bin: sample (3.25, 3.5) → neighbours rows 3, 4 (weights 0.75,
  // 0.25), cols 3, 4 (0.5, 0.5). Box B [24, 24, 40, 40] → [6, 6, 10, 10], 2×2 bins at {7, 9}:
  // row / col 9 lies past the boundary 7, both neighbours clamp to 7 with weights −1 and 2, so
  // every sample of B lands on (7, 7) with total weight 1.
  const f = tf.zeros([1, 8, 8, 1]);
  const grad = (boxes: number[][], size: number, upstream: number[]) =>
    tf.grad((x: tf.Tensor) =>
      tf.sum(
        tf.mul(
          multilevelCropAndResize({ '2': x }, tf.tensor3d([boxes]), size),
          tf.tensor(upstream, [1, boxes.length, size, size, 1]),
        ),
      ),
    )(f);
  const expected = new Array(64).fill(0);
  expected[3 * 8 + 3] = 0.375;
  expected[3 * 8 + 4] = 0.375;
  expected[4 * 8 + 3] = 0.125;
  expected[4 * 8 + 4] = 0.125;
  assertClose(grad([[6, 6, 20, 22]], 1, [1]).dataSync(), expected, { atol: 1e-6, msg: 'box A' });
  const clamped = new Array(64).fill(0);
  clamped[7 * 8 + 7] = 1 + 2 + 3 + 4;
  assertClose(grad([[24, 24, 40, 40]], 2, [1, 2, 3, 4]).dataSync(), clamped, {
    atol: 1e-5,
    msg: 'box B',
  });
  f.dispose();
});
