/**
 * DeepLab's SpatialPyramidPooling (MG layers/deeplab.py): the image-pooling branch by hand, and the
 * object paths of its Keras Sequential branches (MG checkpoint names).
 *
 * Hand derivation: all 1×1 kernels 1, batch norm in inference with its initial statistics
 * (y = x / √(1 + ε)), linear activation, and a projection kernel [0, 1] that keeps only the
 * image-pooling branch. On x = 0..15 in a 4×4 map, a 2×2 pooling window gives
 * a = [[2.5, 4.5], [10.5, 12.5]]; TF2's bilinear resize 2 → 4 (half-pixel centres) samples source
 * rows/cols at −0.25, 0.25, 0.75, 1.25, clamped: weights (1, 0), (0.75, 0.25), (0.25, 0.75), (0, 1).
 * The output is that resize of a, divided by √(1 + ε) twice. Global pooling gives the mean 7.5
 * everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { SpatialPyramidPooling } from '../../../src/modeling/layers/deeplab.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

const EPS = 0.001;

function spp(pool: number[] | null, rates: number[] = [], depthwise = false) {
  const layer = new SpatialPyramidPooling({
    outputChannels: 1,
    dilationRates: rates,
    poolKernelSize: pool,
    activation: 'linear',
    dropout: 0,
    normEpsilon: EPS,
    useDepthwiseConvolution: depthwise,
  });
  const x = tf.reshape(tf.range(0, 16, 1, 'float32'), [1, 4, 4, 1]);
  tf.tidy(() => void layer.apply(x, {}));
  for (const w of layer.weights()) {
    if (/kernel$/.test(w.objectPath)) w.variable.assign(tf.onesLike(w.variable));
  }
  const proj = layer
    .weights()
    .find((w) => w.objectPath === 'projection/layer_with_weights-0/kernel')!;
  const n = proj.variable.shape[2]!;
  // Keep only the last (image-pooling) branch.
  proj.variable.assign(
    tf.tensor4d(
      Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : 0)),
      [1, 1, n, 1],
    ),
  );
  return { layer, x };
}

test('image pooling with a 2×2 window: average, bilinear resize back (half-pixel centres)', () => {
  const { layer, x } = spp([2, 2]);
  const y = layer.apply(x, { training: false });
  const a = [
    [2.5, 4.5],
    [10.5, 12.5],
  ];
  const wts = [
    [1, 0],
    [0.75, 0.25],
    [0.25, 0.75],
    [0, 1],
  ];
  const want: number[] = [];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      let v = 0;
      for (let p = 0; p < 2; p++) for (let q = 0; q < 2; q++) v += wts[i][p] * wts[j][q] * a[p][q];
      want.push(v / (1 + EPS));
    }
  }
  assert.deepEqual(y.shape, [1, 4, 4, 1]);
  assertClose(y.dataSync(), want, { rtol: 1e-6, atol: 1e-6 });
  tf.dispose([x, y]);
  layer.dispose();
});

test('global image pooling broadcasts the mean', () => {
  const { layer, x } = spp(null, [2]);
  const y = layer.apply(x, { training: false });
  assertClose(y.dataSync(), Array(16).fill(7.5 / (1 + EPS)), { rtol: 1e-6, atol: 1e-6 });
  tf.dispose([x, y]);
  layer.dispose();
});

test("the branches' object paths are MG's Keras Sequential ones", () => {
  const { layer, x } = spp(null, [2], true);
  assert.deepEqual(
    layer.weights().map((w) => w.objectPath),
    [
      'aspp_layers/0/layer_with_weights-0/kernel',
      ...['gamma', 'beta', 'moving_mean', 'moving_variance'].map(
        (v) => `aspp_layers/0/layer_with_weights-1/${v}`,
      ),
      'aspp_layers/1/layer_with_weights-0/depthwise_kernel',
      'aspp_layers/1/layer_with_weights-1/kernel',
      ...['gamma', 'beta', 'moving_mean', 'moving_variance'].map(
        (v) => `aspp_layers/1/layer_with_weights-2/${v}`,
      ),
      'aspp_layers/2/layer_with_weights-0/layer_with_weights-0/kernel',
      ...['gamma', 'beta', 'moving_mean', 'moving_variance'].map(
        (v) => `aspp_layers/2/layer_with_weights-0/layer_with_weights-1/${v}`,
      ),
      'projection/layer_with_weights-0/kernel',
      ...['gamma', 'beta', 'moving_mean', 'moving_variance'].map(
        (v) => `projection/layer_with_weights-1/${v}`,
      ),
    ],
  );
  x.dispose();
  layer.dispose();
});

test('bad settings are refused with the field named', () => {
  assert.throws(
    () => new SpatialPyramidPooling({ outputChannels: 4, dilationRates: [0] }),
    /dilation_rates must be positive integers/,
  );
  assert.throws(
    () =>
      new SpatialPyramidPooling({ outputChannels: 4, dilationRates: [], poolKernelSize: [0, 2] }),
    /pool_kernel_size must be \[height, width\] of at least 1 feature pixel each/,
  );
});
