/**
 * ROISampler, balancedSample, MaskSampler and cropMaskInTargetBox against hand-worked cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Rng } from '../../../src/core/random.js';
import { balancedSample, ROISampler } from '../../../src/modeling/layers/roi_sampler.js';
import { MaskSampler } from '../../../src/modeling/layers/mask_sampler.js';
import { cropMaskInTargetBox } from '../../../src/ops/crop_mask.js';
import { pairwiseIouTensor } from '../../../src/ops/box_ops.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

/** Compares a tensor with nested expected values. */
const near = (t: tf.Tensor, expected: unknown[], atol = 1e-5) =>
  assertClose(t.dataSync(), expected.flat(Infinity) as number[], { atol });

const b = (rows: boolean[][]) =>
  tf.tensor2d(
    rows.map((r) => r.map(Number)),
    undefined,
    'bool',
  );

test('pairwiseIouTensor: overlaps by hand, 0 apart, -1 with a padded box', () => {
  const a = tf.tensor3d([
    [
      [0, 0, 10, 10],
      [20, 20, 30, 30],
      [-1, -1, -1, -1],
    ],
  ]);
  const g = tf.tensor3d([
    [
      [0, 5, 10, 15],
      [-1, -1, -1, -1],
    ],
  ]);
  // inter 10·5 = 50, union 100 + 100 − 50 = 150.
  near(
    pairwiseIouTensor(a, g),
    [
      [
        [1 / 3, -1],
        [0, -1],
        [-1, -1],
      ],
    ],
    1e-6,
  );
});

test('balancedSample: top-u positives up to the fraction, negatives fill, ignored never', () => {
  const positive = b([[true, true, true, false, false, false, false, false]]);
  const negative = b([[false, false, false, true, true, true, false, false]]);
  const u = tf.tensor2d([[0.1, 0.9, 0.5, 0.3, 0.8, 0.2, 0.99, 0.7]]);
  // k 4, fraction 0.5: positives 1 (0.9), 2 (0.5); negatives 4 (0.8), 3 (0.3).
  assert.deepEqual(balancedSample(positive, negative, u, 4, 0.5).arraySync(), [
    [0, 1, 1, 1, 1, 0, 0, 0],
  ]);
  // k 6, fraction 0.25: one positive (1), five negatives wanted, only three exist.
  assert.deepEqual(balancedSample(positive, negative, u, 6, 0.25).arraySync(), [
    [0, 1, 0, 1, 1, 1, 0, 0],
  ]);
  // fraction 0: only negatives.
  assert.deepEqual(balancedSample(positive, negative, u, 2, 0).arraySync(), [
    [0, 0, 0, 1, 1, 0, 0, 0],
  ]);
});

test('ROISampler: matching, background targets, mixed GT, K sampled in index order', () => {
  // Proposals: p0 IoU 1/3 with g0 (negative), p1 = g1 exactly (positive), p2 far (IoU 0: negative),
  // p3 IoU 0.8 with g0 (positive: [0,0,10,8] ∩ [0,0,10,10] = 80 / 100).
  const proposals = tf.tensor3d([
    [
      [0, 5, 10, 15],
      [20, 20, 40, 40],
      [50, 50, 60, 60],
      [0, 0, 10, 8],
    ],
  ]);
  const gtBoxes = tf.tensor3d([
    [
      [0, 0, 10, 10],
      [20, 20, 40, 40],
      [-1, -1, -1, -1],
    ],
  ]);
  const gtClasses = tf.tensor2d([[3, 7, -1]]);
  // All: p0..p3, then g0 (pos, class 3), g1 (pos, 7), padded g2 (IoU −1: invalid, never sampled).
  const all = new ROISampler({ numSampledRois: 7, foregroundFraction: 1 }).apply(
    proposals,
    gtBoxes,
    gtClasses,
    new Rng(1),
  );
  // Every positive (1, 3, 4, 5) and every negative (0, 2) sampled; the invalid 6 pads the end.
  assert.deepEqual(all.gtClasses.arraySync(), [[0, 7, 0, 3, 3, 7, 0]]);
  assert.deepEqual(all.gtIndices.arraySync(), [[-1, 1, -1, 0, 0, 1, -1]]);
  near(all.gtBoxes, [
    [
      [0, 0, 0, 0],
      [20, 20, 40, 40],
      [0, 0, 0, 0],
      [0, 0, 10, 10],
      [0, 0, 10, 10],
      [20, 20, 40, 40],
      [0, 0, 0, 0],
    ],
  ]);
  near(all.rois, [
    [
      [0, 5, 10, 15],
      [20, 20, 40, 40],
      [50, 50, 60, 60],
      [0, 0, 10, 8],
      [0, 0, 10, 10],
      [20, 20, 40, 40],
      [-1, -1, -1, -1],
    ],
  ]);
  // K 4, fraction 0.5: two of the four positives and both negatives, whatever the draw.
  for (let seed = 0; seed < 5; seed++) {
    const s = new ROISampler({ numSampledRois: 4, foregroundFraction: 0.5 }).apply(
      proposals,
      gtBoxes,
      gtClasses,
      new Rng(seed),
    );
    const cls = (s.gtClasses.arraySync() as number[][])[0];
    assert.equal(cls.filter((c) => c > 0).length, 2);
    assert.equal(cls.filter((c) => c === 0).length, 2);
    const rois = (s.rois.arraySync() as number[][][])[0];
    assert.ok(rois.some((r) => r[2] === 10 && r[3] === 15) && rois.some((r) => r[0] === 50));
  }
  // Cascade stage: no subsampling, thresholds 0.6, no GT mixed in.
  const c = new ROISampler({
    mixGtBoxes: false,
    foregroundIouThreshold: 0.6,
    backgroundIouHighThreshold: 0.6,
    skipSubsampling: true,
  }).apply(proposals, gtBoxes, gtClasses, new Rng(0));
  assert.deepEqual(c.gtClasses.arraySync(), [[0, 7, 0, 3]]);
  assert.throws(
    () => new ROISampler({ numSampledRois: 8 }).apply(proposals, gtBoxes, gtClasses, new Rng(0)),
    /7 candidate RoIs .* fewer than roi_sampler.num_sampled_rois 8/,
  );
});

test('cropMaskInTargetBox: bilinear samples of the padded mask inside the target box', () => {
  // 4×4 mask m[y][x] = 10y + x filling box [0, 0, 8, 8].
  const m = Array.from({ length: 4 }, (_, y) => Array.from({ length: 4 }, (_, x) => 10 * y + x));
  const masks = tf.tensor4d([[m, m]]);
  const boxes = tf.tensor3d([
    [
      [0, 0, 8, 8],
      [0, 0, 8, 8],
    ],
  ]);
  // Target 1: the top-left quarter at 2×2 → mask coords {0.5, 1.5}: m linear → exact.
  // Target 2: [-4, 0, 4, 8] at 2×2: padded y0 = −4·4/8 + 2 = 0, h = 4, x0 = 2, w = 4.
  const targets = tf.tensor3d([
    [
      [0, 0, 4, 4],
      [-4, 0, 4, 8],
    ],
  ]);
  const quarter = cropMaskInTargetBox(masks, boxes, targets, 2, 0.5);
  near(
    tf.slice(quarter, [0, 0], [1, 1]),
    [
      [5.5, 6.5],
      [15.5, 16.5],
    ],
    1e-4,
  );
  const second = tf.slice(quarter, [0, 1], [1, 1]);
  // Rows at padded {1, 3}: zero padding, mask row 1; columns at padded {3, 5}: mask cols 1, 3.
  near(
    second,
    [
      [0, 0],
      [11, 13],
    ],
    1e-4,
  );
});

test('MaskSampler: first foreground RoIs in order, their classes, targets from their GT masks', () => {
  const rois = tf.tensor3d([
    [
      [0, 0, 8, 8],
      [0, 0, 4, 4],
      [1, 1, 2, 2],
      [0, 0, 8, 8],
    ],
  ]);
  const gtBoxes = tf.tensor3d([
    [
      [0, 0, 8, 8],
      [0, 0, 8, 8],
      [0, 0, 0, 0],
      [0, 0, 8, 8],
    ],
  ]);
  const gtClasses = tf.tensor2d([[2, 0, 0, 5]]);
  const gtIndices = tf.tensor2d([[1, -1, -1, 0]], undefined, 'int32');
  const ones = Array.from({ length: 4 }, () => [1, 1, 1, 1]);
  const twos = ones.map((r) => r.map(() => 2));
  const gtMasks = tf.tensor4d([[ones, twos]]);
  const out = new MaskSampler(2, 3).apply(rois, gtBoxes, gtClasses, gtIndices, gtMasks);
  assert.deepEqual(out.classes.arraySync(), [[2, 5, 0]]);
  near(out.rois, [
    [
      [0, 0, 8, 8],
      [0, 0, 8, 8],
      [0, 0, 4, 4],
    ],
  ]);
  const t = out.masks;
  // RoI = GT box at 2×2: samples at mask coords {1, 3}: interior, so the constant itself.
  near(
    tf.slice(t, [0, 0], [1, 1]),
    [
      [2, 2],
      [2, 2],
    ],
    1e-5,
  );
  near(
    tf.slice(t, [0, 1], [1, 1]),
    [
      [1, 1],
      [1, 1],
    ],
    1e-5,
  );
});

test('MaskSampler: each target is its GT mask re-sampled inside that RoI, by hand', () => {
  // One GT: box [0, 0, 8, 8], its 4×4 cropped mask m[y][x] = 10y + x (linear, so bilinear
  // samples are exact). RoI A = the GT's top-left quarter [0, 0, 4, 4] → mask coordinates
  // [0, 0, 2, 2], 2×2 bin centres at {0.5, 1.5}; RoI B = [2, 2, 6, 6] → [1, 1, 3, 3], centres
  // {1.5, 2.5}. Swapping the RoI and GT boxes, or sampling at the bin corners, would change them.
  const m = Array.from({ length: 4 }, (_, y) => Array.from({ length: 4 }, (_, x) => 10 * y + x));
  const rois = tf.tensor3d([
    [
      [0, 0, 4, 4],
      [1, 1, 2, 2],
      [2, 2, 6, 6],
    ],
  ]);
  const gtBoxes = tf.tensor3d([
    [
      [0, 0, 8, 8],
      [0, 0, 0, 0],
      [0, 0, 8, 8],
    ],
  ]);
  const out = new MaskSampler(2, 2).apply(
    rois,
    gtBoxes,
    tf.tensor2d([[4, 0, 4]]),
    tf.tensor2d([[0, -1, 0]], undefined, 'int32'),
    tf.tensor4d([[m]]),
  );
  assert.deepEqual(out.classes.arraySync(), [[4, 4]]);
  near(out.masks, [
    [
      [
        [5.5, 6.5],
        [15.5, 16.5],
      ],
      [
        [16.5, 17.5],
        [26.5, 27.5],
      ],
    ],
  ]);
});
