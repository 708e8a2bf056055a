/**
 * Resize lowerings, forward and gradients, against eager tfjs on each tracing backend:
 * nearest-neighbour (FPN's 2× upsampling and arbitrary sizes) and bilinear, each with the
 * variants tfjs accepts (plain, alignCorners, halfPixelCenters), up- and down-sampling.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Trace } from '../../src/engine/trace.js';
import { assertCompiledMatches, normal, type TensorFn } from './compile_check.js';
import { testOnEachBackend } from './backends.js';

/** [alignCorners, halfPixelCenters]: tfjs rejects both together. */
const VARIANTS: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
];
const SIZES: [number, number][] = [
  [10, 12], // FPN-style 2× upsampling of 5×6
  [7, 4], // mixed up / down
  [2, 3], // down-sampling
];

function resizeFn(kind: 'nearest' | 'bilinear', align: boolean, half: boolean): TensorFn {
  return (i) => {
    const loss = (im: tf.Tensor) =>
      tf.addN(
        SIZES.map(([h, w], k) => {
          const op = kind === 'nearest' ? tf.image.resizeNearestNeighbor : tf.image.resizeBilinear;
          const y = op(im as tf.Tensor4D, [h, w], align, half);
          return tf.sum(tf.mul(tf.sin(y), normal(y.shape, 40 + k)));
        }),
      ) as tf.Scalar;
    const { value, grad } = tf.valueAndGrad(loss)(i.images);
    return [value, grad];
  };
}

for (const kind of ['nearest', 'bilinear'] as const) {
  testOnEachBackend(`resize ${kind}: every variant, values and gradients`, async () => {
    const images = normal([2, 5, 6, 3], 7);
    for (const [align, half] of VARIANTS) {
      const fn = resizeFn(kind, align, half);
      const trace = new Trace();
      tf.tidy(() => trace.run(() => fn({ images })));
      const grads = trace.calls.filter((c) => c.kernelName.endsWith('Grad'));
      const gradName = kind === 'nearest' ? 'ResizeNearestNeighborGrad' : 'ResizeBilinearGrad';
      assert.ok(grads.length === SIZES.length && grads.every((c) => c.kernelName === gradName));
      await assertCompiledMatches(`${kind} align=${align} half=${half}`, { images }, fn);
    }
    images.dispose();
  });
}
