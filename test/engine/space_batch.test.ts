/**
 * SpaceToBatchND / BatchToSpaceND lowerings (src/engine/kernels/space_batch.ts) and the dilated
 * convolutions built on them (src/modeling/layers/conv.ts): compiled equals eager, values and
 * gradients, on both tracing backends.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Trace } from '../../src/engine/trace.js';
import { atrousConvolution, Conv3D } from '../../src/modeling/layers/conv.js';
import { assertCompiledMatches, normal, type TensorFn } from './compile_check.js';
import { testOnEachBackend } from './backends.js';

/** The value of a loss and its gradients w.r.t. every input. */
function withGrads(loss: (...xs: tf.Tensor[]) => tf.Scalar, keys: string[]): TensorFn {
  return (i) => {
    const xs = keys.map((k) => i[k]);
    const { value, grads } = tf.valueAndGrads((...a: tf.Tensor[]) => loss(...a))(xs);
    return [value, ...grads];
  };
}

function kernelsOf(inputs: Record<string, tf.Tensor>, fn: TensorFn): Set<string> {
  const trace = new Trace();
  tf.tidy(() => trace.run(() => fn(inputs)));
  return new Set(trace.calls.map((c) => c.kernelName));
}

/** A fixed weighting so every output position carries a distinct gradient. */
function weighted(y: tf.Tensor, seed: number): tf.Scalar {
  return tf.sum(tf.mul(tf.sin(y), normal(y.shape, seed)));
}

testOnEachBackend(
  'SpaceToBatchND / BatchToSpaceND: ranks 3-5, padding, crops, gradients',
  async () => {
    const x4 = normal([2, 5, 7, 3], 1);
    const x3 = normal([2, 6, 3], 2);
    // Rank 5 with two spatial axes: [batch, h, w, rest, channels] (the tfjs-layout path).
    const x5 = normal([1, 4, 6, 2, 3], 3);
    const y4 = normal([8, 3, 2, 3], 4);
    const fn = withGrads(
      (a, b, c, d) =>
        tf.addN([
          weighted(
            tf.spaceToBatchND(
              a,
              [2, 3],
              [
                [1, 0],
                [1, 1],
              ],
            ),
            10,
          ),
          weighted(tf.spaceToBatchND(b, [3], [[2, 1]]), 11),
          weighted(
            tf.spaceToBatchND(
              c,
              [2, 2],
              [
                [0, 0],
                [1, 1],
              ],
            ),
            12,
          ),
          weighted(
            tf.batchToSpaceND(
              d,
              [2, 2],
              [
                [1, 0],
                [0, 2],
              ],
            ),
            13,
          ),
          weighted(
            tf.batchToSpaceND(
              tf.spaceToBatchND(
                a,
                [2, 2],
                [
                  [1, 0],
                  [1, 0],
                ],
              ),
              [2, 2],
              [
                [1, 0],
                [1, 0],
              ],
            ),
            14,
          ),
        ]) as tf.Scalar,
      ['x4', 'x3', 'x5', 'y4'],
    );
    const inputs = { x4, x3, x5, y4 };
    const kernels = kernelsOf(inputs, fn);
    for (const k of ['SpaceToBatchND', 'BatchToSpaceND']) assert.ok(kernels.has(k), k);
    await assertCompiledMatches('space/batch', inputs, fn);
    tf.dispose(Object.values(inputs));
  },
);

testOnEachBackend(
  'dilated convolutions through space-to-batch: Conv3D layer and conv2d',
  async () => {
    // Conv3D (and 2-D convs on backends without dilated backprops) take this path.
    const conv3 = new Conv3D({
      filters: 2,
      kernelSize: 2,
      dilationRate: [1, 2, 2],
      padding: 'same',
    });
    const v = normal([1, 3, 5, 6, 2], 6);
    const x = normal([2, 9, 7, 3], 5);
    const w = normal([3, 2, 3, 2], 7);
    tf.tidy(() => void conv3.apply(v));
    const weights = conv3.trainableWeights().map((t) => t.variable);
    const inputs: Record<string, tf.Tensor> = { x, v, w };
    weights.forEach((t, i) => (inputs[`w${i}`] = t));
    const fn: TensorFn = (i) => {
      const { value, grads } = tf.variableGrads(() => weighted(conv3.apply(i.v), 23), weights);
      const atrous = withGrads(
        (a, f) =>
          weighted(
            atrousConvolution(a, [3, 2], [3, 2], 'valid', (t) =>
              tf.conv2d(t as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'),
            ),
            21,
          ),
        ['x', 'w'],
      )(i);
      return [value, ...weights.map((t) => grads[t.name]), ...atrous];
    };
    const kernels = kernelsOf(inputs, fn);
    for (const k of ['SpaceToBatchND', 'BatchToSpaceND', 'Conv2DBackpropFilter', 'Conv3D'])
      assert.ok(kernels.has(k), k);
    await assertCompiledMatches('dilated convs', inputs, fn);
    tf.dispose([x, v, w]);
    conv3.dispose();
  },
);
