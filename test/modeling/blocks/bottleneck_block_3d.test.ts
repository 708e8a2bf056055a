/**
 * Model Garden's 3-D blocks (nn_blocks_3d.py): SelfGating against a hand computation, and
 * BottleneckBlock3D's shapes, shortcuts (projection, strided identity) and attribute / Keras names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import type { Layer } from '../../../src/core/layer.js';
import { SelfGating } from '../../../src/modeling/blocks/self_gating.js';
import { BottleneckBlock3D } from '../../../src/modeling/blocks/bottleneck_block_3d.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

function assign(layer: Layer<unknown, unknown>, objectPath: string, values: number[]): void {
  const w = layer.weights().find((x) => x.objectPath === objectPath);
  assert.ok(w, objectPath);
  w.variable.assign(tf.tensor(values, w.variable.shape));
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

test('SelfGating: y = x · sigmoid(W · mean_{t,h,w}(x) + b) (hand-computed)', () => {
  const sg = new SelfGating({ filters: 2 });
  // [1, t=2, h=1, w=2, c=2]: channel 0 = 1, 2, 3, 6 (mean 3); channel 1 = -2, 0, 2, 4 (mean 1).
  const values = [1, -2, 2, 0, 3, 2, 6, 4];
  const x = tf.tensor(values, [1, 2, 1, 2, 2]);
  sg.apply(x).dispose();
  assert.deepEqual(
    sg.weights().map((w) => [w.objectPath, w.variable.shape]),
    [
      ['_transformer_w/kernel', [1, 1, 1, 2, 2]],
      ['_transformer_w/bias', [2]],
    ],
  );
  // kernel [in, out]: [[0.5, -1], [0.25, 2]]; bias [0.1, -0.2].
  assign(sg, '_transformer_w/kernel', [0.5, -1, 0.25, 2]);
  assign(sg, '_transformer_w/bias', [0.1, -0.2]);
  const g0 = sigmoid(3 * 0.5 + 1 * 0.25 + 0.1);
  const g1 = sigmoid(3 * -1 + 1 * 2 - 0.2);
  const want = values.map((v, i) => v * (i % 2 === 0 ? g0 : g1));
  const y = sg.apply(x);
  assertClose(y.dataSync(), want, { rtol: 1e-6, atol: 1e-7 });
  tf.dispose([x, y]);
  sg.dispose();
});

test('BottleneckBlock3D: projection block shapes, attribute and Keras names as Model Garden', () => {
  const block = new BottleneckBlock3D({
    filters: 4,
    inFilters: 8,
    temporalKernelSize: 3,
    temporalStrides: 2,
    spatialStrides: 2,
    seRatio: 0.25,
    useSelfGating: true,
    stochasticDepthDropRate: 0.1,
  });
  const y = block.apply(tf.randomNormal([1, 5, 7, 7, 8], 0, 1, 'float32', 3));
  assert.deepEqual(y.shape, [1, 3, 4, 4, 16]);
  y.dispose();
  const byPath = new Map(block.weights().map((w) => [w.objectPath, w]));
  // Shapes and names of MG's checkpoint (../shared/data/model-garden-reference/r3d/variables.json).
  const expected: [string, string, number[]][] = [
    ['_shortcut_conv/kernel', 'conv3d/kernel', [1, 1, 1, 8, 16]],
    ['_norm0/gamma', 'batch_normalization/gamma', [16]],
    ['_temporal_conv/kernel', 'conv3d_1/kernel', [3, 1, 1, 8, 4]],
    ['_norm1/moving_variance', 'batch_normalization_1/moving_variance', [4]],
    ['_spatial_conv/kernel', 'conv3d_2/kernel', [1, 3, 3, 4, 4]],
    ['_expand_conv/kernel', 'conv3d_3/kernel', [1, 1, 1, 4, 16]],
    ['_norm3/beta', 'batch_normalization_3/beta', [16]],
    ['_squeeze_excitation/_se_reduce/kernel', 'squeeze_excitation/conv2d/kernel', [1, 1, 16, 4]],
    ['_squeeze_excitation/_se_expand/bias', 'squeeze_excitation/conv2d_1/bias', [16]],
    ['_self_gating/_transformer_w/kernel', 'self_gating/conv3d/kernel', [1, 1, 1, 16, 16]],
  ];
  for (const [objectPath, kerasTail, shape] of expected) {
    const w = byPath.get(objectPath);
    assert.ok(w, objectPath);
    assert.equal(w.path, `bottleneck_block3d/${kerasTail}`);
    assert.deepEqual(w.variable.shape, shape, objectPath);
  }
  assert.equal(block.stochasticDepthDropRate, 0.1);
  // l2 weight decay as MG's kernel_regularizer: every conv kernel but self-gating's.
  assert.deepEqual(
    block
      .weights()
      .filter((w) => w.regularize)
      .map((w) => w.objectPath),
    [
      '_shortcut_conv/kernel',
      '_temporal_conv/kernel',
      '_spatial_conv/kernel',
      '_expand_conv/kernel',
      '_squeeze_excitation/_se_reduce/kernel',
      '_squeeze_excitation/_se_expand/kernel',
    ],
  );
  block.dispose();
});

test('BottleneckBlock3D: zero residual branch leaves relu(shortcut) (strided identity, projection)', () => {
  // Zero conv kernels and BN beta 0 make the branch exactly 0, so the block returns
  // relu(shortcut): the input sampled at stride (t, s, s) when channels already equal 4·filters
  // (MG's 1×1×1 max pool), or BN(1×1×1 conv) for a projection.
  const x = tf.randomNormal([1, 4, 5, 5, 8], 0, 1, 'float32', 9);
  const identity = new BottleneckBlock3D({
    filters: 2,
    inFilters: 8,
    temporalKernelSize: 3,
    temporalStrides: 2,
    spatialStrides: 2,
  });
  identity.apply(x).dispose();
  assert.ok(!identity.weights().some((w) => w.objectPath.startsWith('_shortcut_conv')));
  for (const w of identity.weights()) {
    if (w.objectPath.endsWith('/kernel')) w.variable.assign(tf.zerosLike(w.variable));
  }
  const got = identity.apply(x, { training: false });
  const xs = x.arraySync() as number[][][][][];
  const want: number[] = [];
  for (let t = 0; t < 4; t += 2)
    for (let h = 0; h < 5; h += 2)
      for (let w = 0; w < 5; w += 2) for (const v of xs[0][t][h][w]) want.push(Math.max(0, v));
  assert.deepEqual(got.shape, [1, 2, 3, 3, 8]);
  assertClose(got.dataSync(), want, { rtol: 0, atol: 1e-6 });
  got.dispose();
  identity.dispose();

  const projection = new BottleneckBlock3D({
    filters: 3,
    inFilters: 8,
    temporalKernelSize: 1,
    temporalStrides: 1,
    spatialStrides: 1,
  });
  projection.apply(x).dispose();
  for (const w of projection.weights()) {
    if (w.objectPath.endsWith('/kernel')) w.variable.assign(tf.zerosLike(w.variable));
  }
  // Shortcut kernel: output channel o copies input channel o (o < 8), then BN with moving
  // variance 1 − ε (so the BN divides by 1), mean 0, gamma 2, beta 0 → 2·x.
  const eye = Array.from({ length: 8 * 12 }, (_, i) => (Math.floor(i / 12) === i % 12 ? 1 : 0));
  assign(projection, '_shortcut_conv/kernel', eye);
  assign(projection, '_norm0/gamma', new Array<number>(12).fill(2));
  assign(projection, '_norm0/moving_variance', new Array<number>(12).fill(1 - 0.001));
  const y = projection.apply(x, { training: false });
  const xv = x.dataSync();
  const wantP: number[] = [];
  for (let p = 0; p < xv.length / 8; p++)
    for (let o = 0; o < 12; o++) wantP.push(o < 8 ? Math.max(0, 2 * xv[p * 8 + o]) : 0);
  assertClose(y.dataSync(), wantP, { rtol: 1e-6, atol: 1e-6 });
  tf.dispose([x, y]);
  projection.dispose();
});

test('BottleneckBlock3D rejects a wrong input and bad sizes with a clear error', () => {
  const block = new BottleneckBlock3D({
    filters: 2,
    inFilters: 8,
    temporalKernelSize: 1,
    temporalStrides: 1,
    spatialStrides: 1,
  });
  assert.throws(() => block.apply(tf.zeros([1, 2, 2, 2, 4])), /expected \[batch, t, h, w, 8\]/);
  assert.throws(
    () =>
      new BottleneckBlock3D({
        filters: 2,
        inFilters: 8,
        temporalKernelSize: 0,
        temporalStrides: 1,
        spatialStrides: 1,
      }),
    /temporalKernelSize must be a positive integer/,
  );
});
