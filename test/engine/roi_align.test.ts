/**
 * Model Garden's gather-based RoIAlign (`multilevel_crop_and_resize`, src/ops/roi_align.ts)
 * compiles: two levels, a few boxes (two levels used, one box clamped at the boundary), the crops
 * and their gradient w.r.t. both feature levels equal eager on each tracing backend.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { multilevelCropAndResize } from '../../src/ops/roi_align.js';
import { assertCompiledMatches, normal, type TensorFn } from './compile_check.js';
import { testOnEachBackend } from './backends.js';

testOnEachBackend('multilevel crop and resize: crops and feature gradients', async () => {
  const p2 = normal([2, 16, 16, 3], 1);
  const p3 = normal([2, 8, 8, 3], 2);
  const boxes = tf.tensor3d(
    [
      [10, 18, 40, 50],
      [4, 6, 60, 62],
      [0, 0, 300, 300],
      [20.5, 3.25, 47, 30.75],
      [1, 2, 63, 60],
      [8, 8, 9, 9],
    ].flat(),
    [2, 3, 4],
  );
  const fn: TensorFn = (i) => {
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => {
      const crops = multilevelCropAndResize({ '2': a, '3': b }, i.boxes, 3);
      return tf.sum(tf.mul(tf.sin(crops), normal(crops.shape, 3))) as tf.Scalar;
    })([i.p2, i.p3]);
    return [value, ...grads, multilevelCropAndResize({ '2': i.p2, '3': i.p3 }, i.boxes, 3)];
  };
  const [, g2, g3] = fn({ p2, p3, boxes });
  // Both levels receive gradient (boxes are assigned to each).
  for (const g of [g2, g3]) assert.ok(tf.max(tf.abs(g)).dataSync()[0] > 0);
  await assertCompiledMatches('roi align', { p2, p3, boxes }, fn);
  tf.dispose([p2, p3, boxes, g2, g3]);
});
