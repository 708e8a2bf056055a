/**
 * nmsPadded against hand-derived results (IoUs worked out in the comments), on the cpu and wasm
 * kernels: overlap, ties, thresholds, padding, per-class vs class-agnostic, per-class boxes,
 * pre-NMS top-k, a batch of two images with different counts, and Model Garden's tiled-NMS rules
 * (`tiled`: IoU equal to the threshold suppresses, all-zero boxes are padding), also compiled to
 * ONNX.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { compileModel } from '../../src/engine/compile_model.js';
import { nmsPadded, type NmsPaddedOptions } from '../../src/ops/nms_padded.js';
import { assertClose } from '../helpers.js';

interface Expected {
  boxes: number[][][];
  scores: number[][];
  classes: number[][];
  valid: number[];
}

function check(
  boxes: number[][][] | number[][][][],
  scores: number[][][],
  opts: NmsPaddedOptions,
  want: Expected,
  msg: string,
): void {
  const out = tf.tidy(() => {
    const r = nmsPadded(tf.tensor(boxes) as tf.Tensor3D, tf.tensor3d(scores), opts);
    return [r.boxes, r.scores, r.classes, r.validDetections];
  });
  assert.equal(out[2].dtype, 'int32', `${msg}: classes dtype`);
  assert.equal(out[3].dtype, 'int32', `${msg}: valid dtype`);
  assertClose(out[0].dataSync(), want.boxes.flat(2), { msg: `${msg}: boxes` });
  assert.deepEqual(out[0].shape, [want.valid.length, want.scores[0].length, 4], `${msg}: shape`);
  assertClose(out[1].dataSync(), Float32Array.from(want.scores.flat()), { msg: `${msg}: scores` });
  assert.deepEqual(Array.from(out[2].dataSync()), want.classes.flat(), `${msg}: classes`);
  assert.deepEqual(Array.from(out[3].dataSync()), want.valid, `${msg}: valid`);
  tf.dispose(out);
}

const Z = [0, 0, 0, 0];
// a0 and a1 overlap: intersection 10 × 9 = 90, union 100 + 100 − 90 = 110, IoU 0.82.
const A0 = [0, 0, 10, 10];
const A1 = [0, 1, 10, 11];
const FAR = [50, 50, 60, 60];

for (const backend of ['cpu', 'wasm']) {
  test(`nmsPadded: overlap, score threshold and padding [${backend}]`, async () => {
    await initBackend(backend);
    // a3 scores 0.01, below the 0.05 threshold; a1 is suppressed by a0.
    check(
      [[A0, A1, FAR, [100, 100, 110, 110]]],
      [[[0.9], [0.8], [0.7], [0.01]]],
      { maxNumDetections: 4 },
      { boxes: [[A0, FAR, Z, Z]], scores: [[0.9, 0.7, 0, 0]], classes: [[0, 0, 0, 0]], valid: [2] },
      'overlap',
    );
    // A score equal to the threshold is dropped; IoU equal to the threshold is kept:
    // [0,0,1,1] vs [0,0,1,2]: intersection 1, union 1 + 2 − 1 = 2, IoU 0.5.
    check(
      [[[0, 0, 1, 1], [0, 0, 1, 2], FAR]],
      [[[0.75], [0.5], [0.25]]],
      { maxNumDetections: 3, iouThreshold: 0.5, scoreThreshold: 0.25 },
      {
        boxes: [[[0, 0, 1, 1], [0, 0, 1, 2], Z]],
        scores: [[0.75, 0.5, 0]],
        classes: [[0, 0, 0]],
        valid: [2],
      },
      'thresholds are exclusive',
    );
    // Nothing above the threshold: all padding.
    check(
      [[A0, FAR]],
      [[[0.01], [0.02]]],
      { maxNumDetections: 2 },
      { boxes: [[Z, Z]], scores: [[0, 0]], classes: [[0, 0]], valid: [0] },
      'empty',
    );
  });

  test(`nmsPadded: ties keep the lower index first [${backend}]`, async () => {
    await initBackend(backend);
    // Equal scores: the lower anchor index is taken first and suppresses the other (IoU 0.82),
    // whichever box comes first.
    check(
      [[A1, A0]],
      [[[0.6], [0.6]]],
      { maxNumDetections: 2 },
      { boxes: [[A1, Z]], scores: [[0.6, 0]], classes: [[0, 0]], valid: [1] },
      'tie within a class',
    );
    check(
      [[A0, A1]],
      [[[0.6], [0.6]]],
      { maxNumDetections: 2 },
      { boxes: [[A0, Z]], scores: [[0.6, 0]], classes: [[0, 0]], valid: [1] },
      'tie within a class, swapped',
    );
  });

  test(`nmsPadded: per-class vs class-agnostic, per-class boxes [${backend}]`, async () => {
    await initBackend(backend);
    const boxes = [[A0, A1, FAR]];
    const scores = [
      [
        [0.9, 0.1],
        [0.2, 0.8],
        [0.3, 0.3],
      ],
    ];
    // Class 0: a0 (0.9) kept, a2 (0.3) kept, a1 (0.2) suppressed by a0. Class 1: a1 (0.8) kept,
    // a2 (0.3) kept, a0 (0.1) suppressed by a1. Merged by score; the 0.3 tie puts class 0 first.
    check(
      boxes,
      scores,
      { maxNumDetections: 5 },
      {
        boxes: [[A0, A1, FAR, FAR, Z]],
        scores: [[0.9, 0.8, 0.3, 0.3, 0]],
        classes: [[0, 1, 0, 1, 0]],
        valid: [4],
      },
      'class-aware',
    );
    // Best classes: a0 → 0 (0.9), a1 → 1 (0.8), a2 → 0 (tie, first class). One NMS: a1 is
    // suppressed by a0.
    check(
      boxes,
      scores,
      { maxNumDetections: 5, classAgnostic: true },
      {
        boxes: [[A0, FAR, Z, Z, Z]],
        scores: [[0.9, 0.3, 0, 0, 0]],
        classes: [[0, 0, 0, 0, 0]],
        valid: [2],
      },
      'class-agnostic',
    );
    // Per-class boxes [B, N, C, 4]: a1's class-1 box is far from a0's, so only class 0
    // suppresses a1.
    const far2 = [40, 40, 50, 50];
    check(
      [
        [
          [A0, A0],
          [A1, far2],
        ],
      ],
      [
        [
          [0.9, 0.9],
          [0.8, 0.8],
        ],
      ],
      { maxNumDetections: 4 },
      {
        boxes: [[A0, A0, far2, Z]],
        scores: [[0.9, 0.9, 0.8, 0]],
        classes: [[0, 1, 1, 0]],
        valid: [3],
      },
      'per-class boxes',
    );
  });

  test(`nmsPadded: batch of two with different counts, K and pre-NMS top-k [${backend}]`, async () => {
    await initBackend(backend);
    const boxes = [
      [A0, FAR, [20, 20, 30, 30]],
      [A0, FAR, [20, 20, 30, 30]],
    ];
    const scores = [
      [[0.5], [0.7], [0.6]],
      [[0.01], [0.02], [0.9]],
    ];
    // Image 0: three disjoint boxes, K = 2 keeps the best two; image 1: one above threshold.
    check(
      boxes,
      scores,
      { maxNumDetections: 2 },
      {
        boxes: [
          [FAR, [20, 20, 30, 30]],
          [[20, 20, 30, 30], Z],
        ],
        scores: [
          [0.7, 0.6],
          [0.9, 0],
        ],
        classes: [
          [0, 0],
          [0, 0],
        ],
        valid: [2, 1],
      },
      'batch',
    );
    // preNmsTopK = 1: only the best candidate of each image enters NMS.
    check(
      boxes,
      scores,
      { maxNumDetections: 3, preNmsTopK: 1 },
      {
        boxes: [
          [FAR, Z, Z],
          [[20, 20, 30, 30], Z, Z],
        ],
        scores: [
          [0.7, 0, 0],
          [0.9, 0, 0],
        ],
        classes: [
          [0, 0, 0],
          [0, 0, 0],
        ],
        valid: [1, 1],
      },
      'pre-NMS top-k',
    );
  });
}

// Model Garden's tiled NMS (ops/nms.py `sorted_non_max_suppression_padded`) suppresses at
// IoU ≥ threshold and never selects a box with no positive coordinate.
// T0 [0, 0, 1, 10] vs T1 [0, 0, 1, 7]: intersection 7, union 10 + 7 − 7 = 10, IoU 0.7 (in
// float32 the same float as the threshold 0.7).
const T0 = [0, 0, 1, 10];
const T1 = [0, 0, 1, 7];
const TILED_BOXES = [[Z, T0, T1, FAR]];
const TILED_SCORES = [[[0.9], [0.8], [0.7], [0.6]]];
const TILED_OPTS: NmsPaddedOptions = { maxNumDetections: 4, iouThreshold: 0.7, scoreThreshold: 0 };

test('nmsPadded: tiled drops IoU equal to the threshold and all-zero boxes [cpu, wasm]', async () => {
  for (const backend of ['cpu', 'wasm']) {
    await initBackend(backend);
    // Default (NonMaxSuppressionV5's rule): the zero box is a detection, T1 at IoU 0.7 is kept.
    check(
      TILED_BOXES,
      TILED_SCORES,
      TILED_OPTS,
      {
        boxes: [[Z, T0, T1, FAR]],
        scores: [[0.9, 0.8, 0.7, 0.6]],
        classes: [[0, 0, 0, 0]],
        valid: [4],
      },
      `${backend} default`,
    );
    check(
      TILED_BOXES,
      TILED_SCORES,
      { ...TILED_OPTS, tiled: true },
      {
        boxes: [[T0, FAR, Z, Z]],
        scores: [[0.8, 0.6, 0, 0]],
        classes: [[0, 0, 0, 0]],
        valid: [2],
      },
      `${backend} tiled`,
    );
  }
  assert.throws(
    () =>
      nmsPadded(tf.zeros([1, 3, 4]) as tf.Tensor3D, tf.zeros([1, 3, 2]) as tf.Tensor3D, {
        tiled: true,
        classAgnostic: true,
      }),
    /tiled NMS is not provided with classAgnostic/,
  );
});

test('nmsPadded: tiled compiles to ONNX with the eager result', async () => {
  await initBackend('cpu');
  const example = { boxes: tf.tensor3d(TILED_BOXES), scores: tf.tensor3d(TILED_SCORES) };
  const run = (x: Record<string, tf.Tensor>) => {
    const r = nmsPadded(x.boxes as tf.Tensor3D, x.scores as tf.Tensor3D, {
      ...TILED_OPTS,
      tiled: true,
    });
    return { boxes: r.boxes, scores: r.scores, valid: r.validDetections };
  };
  const compiled = await compileModel(run, example, { fallback: 'error' });
  try {
    const got = await compiled.run(example);
    assertClose(got.boxes.dataSync(), [...T0, ...FAR, ...Z, ...Z], { msg: 'boxes' });
    assertClose(got.scores.dataSync(), Float32Array.from([0.8, 0.6, 0, 0]), { msg: 'scores' });
    assert.deepEqual(Array.from(got.valid.dataSync()), [2]);
    tf.dispose(got);
  } finally {
    await compiled.dispose();
    tf.dispose(example);
  }
});

test('nmsPadded: bad inputs are rejected with the field named', async () => {
  await initBackend('cpu');
  const boxes = tf.zeros([1, 3, 2, 4]) as tf.Tensor4D;
  assert.throws(() => nmsPadded(boxes, tf.zeros([1, 3, 3]) as tf.Tensor3D), /1 or 3/);
  assert.throws(
    () => nmsPadded(tf.zeros([1, 3, 4]) as tf.Tensor3D, tf.zeros([1, 2, 1]) as tf.Tensor3D),
    /disagree/,
  );
  assert.throws(
    () =>
      nmsPadded(tf.zeros([1, 3, 4]) as tf.Tensor3D, tf.zeros([1, 3, 1]) as tf.Tensor3D, {
        maxNumDetections: 0,
      }),
    /maxOutputSize/,
  );
  assert.throws(
    () =>
      nmsPadded(tf.zeros([1, 3, 4]) as tf.Tensor3D, tf.zeros([1, 3, 1]) as tf.Tensor3D, {
        iouThreshold: 1.5,
      }),
    /iouThreshold/,
  );
});
