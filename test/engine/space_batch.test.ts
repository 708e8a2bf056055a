/**
 * SpaceToBatchND / BatchToSpaceND lowerings (src/engine/kernels/space_batch.ts) and the dilated
 * convolutions built on them (src/modeling/layers/conv.ts): compiled equals eager, values and
 * gradients, on both tracing backends.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Trace } from '../../src/engine/trace.js';
import { Conv2D, Conv3D, DepthwiseConv2D } from '../../src/modeling/layers/conv.js';
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
  'dilated Conv2D, DepthwiseConv2D and Conv3D layers: values and gradients',
  async () => {
    const conv = new Conv2D({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same' });
    const rect = new Conv2D({
      filters: 2,
      kernelSize: [3, 2],
      dilationRate: [3, 2],
      padding: 'valid',
    });
    const depthwise = new DepthwiseConv2D({ kernelSize: 3, dilationRate: 3, padding: 'same' });
    const conv3 = new Conv3D({
      filters: 2,
      kernelSize: 2,
      dilationRate: [1, 2, 2],
      padding: 'same',
    });
    const x = normal([2, 9, 7, 3], 5);
    const v = normal([1, 3, 5, 6, 2], 6);
    tf.tidy(() => {
      conv.apply(x);
      rect.apply(x);
      depthwise.apply(x);
      conv3.apply(v);
    });
    const layers = [conv, rect, depthwise, conv3];
    const weights = layers.flatMap((l) => l.trainableWeights().map((w) => w.variable));
    const inputs: Record<string, tf.Tensor> = { x, v };
    weights.forEach((w, i) => (inputs[`w${i}`] = w));
    const fn: TensorFn = (i) => {
      const { value, grads } = tf.variableGrads(
        () =>
          tf.addN([
            weighted(conv.apply(i.x), 20),
            weighted(rect.apply(i.x), 21),
            weighted(depthwise.apply(i.x), 22),
            weighted(conv3.apply(i.v), 23),
          ]) as tf.Scalar,
        weights,
      );
      const dx = tf.grad((a: tf.Tensor) => weighted(conv.apply(depthwise.apply(a)), 24))(i.x);
      return [value, dx, ...weights.map((w) => grads[w.name])];
    };
    const kernels = kernelsOf(inputs, fn);
    for (const k of ['SpaceToBatchND', 'BatchToSpaceND', 'Conv2DBackpropFilter', 'Conv3D'])
      assert.ok(kernels.has(k), k);
    await assertCompiledMatches('dilated convs', inputs, fn);
    tf.dispose([x, v]);
    layers.forEach((l) => l.dispose());
  },
);
