import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Rng } from '../../../src/core/random.js';
import { constant } from '../../../src/core/initializers.js';
import type { StateUpdate } from '../../../src/core/layer.js';
import {
  BatchNormalization,
  LayerNormalization,
} from '../../../src/modeling/layers/normalization.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

function randomTensor(seed: number, shape: number[], scale = 1, shift = 0): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => shift + scale * rng.uniformRange(-1, 1)),
    shape,
  );
}

/** Per-channel (last axis) biased mean and variance by plain loops. */
function channelStats(v: ArrayLike<number>, c: number) {
  const n = v.length / c;
  const mean = new Array<number>(c).fill(0);
  const variance = new Array<number>(c).fill(0);
  for (let i = 0; i < v.length; i++) mean[i % c] += v[i] / n;
  for (let i = 0; i < v.length; i++) variance[i % c] += (v[i] - mean[i % c]) ** 2 / n;
  return { mean, variance };
}

function weight(layer: BatchNormalization | LayerNormalization, name: string): tf.Variable {
  const w = layer.weights().find((x) => x.path.endsWith(`/${name}`));
  assert.ok(w, name);
  return w.variable;
}

test('BatchNormalization weights follow Keras names, shapes and trainability', () => {
  const bn = new BatchNormalization();
  const x = tf.zeros([2, 3, 3, 5]);
  bn.apply(x).dispose();
  assert.deepEqual(
    bn.weights().map((w) => [w.path, w.variable.shape, w.trainable, w.regularize]),
    [
      ['batch_normalization/gamma', [5], true, false],
      ['batch_normalization/beta', [5], true, false],
      ['batch_normalization/moving_mean', [5], false, false],
      ['batch_normalization/moving_variance', [5], false, false],
    ],
  );
  assert.equal(bn.momentum, 0.99);
  assert.equal(bn.epsilon, 0.001);
  assert.equal(bn.countTrainableParams(), 10);
  x.dispose();
});

test('BatchNormalization training normalises by batch stats and updates moving stats by formula', () => {
  const c = 3;
  const bn = new BatchNormalization({
    momentum: 0.9,
    epsilon: 0.01,
    gammaInitializer: constant(2),
    betaInitializer: constant(0.5),
    movingMeanInitializer: constant(0.1),
    movingVarianceInitializer: constant(1.5),
  });
  const x = randomTensor(1, [2, 4, 3, c], 3, 1);
  const xv = x.dataSync();
  const { mean, variance } = channelStats(xv, c);
  const y = bn.apply(x, { training: true });
  const expected = Array.from(
    xv,
    (v, i) => ((v - mean[i % c]) / Math.sqrt(variance[i % c] + 0.01)) * 2 + 0.5,
  );
  assertClose(y.dataSync(), expected, { atol: 1e-5 });
  // Keras: moving = moving * momentum + batch * (1 - momentum), biased batch variance.
  assertClose(
    weight(bn, 'moving_mean').dataSync(),
    mean.map((m) => 0.1 * 0.9 + m * 0.1),
    { atol: 1e-6 },
  );
  assertClose(
    weight(bn, 'moving_variance').dataSync(),
    variance.map((v) => 1.5 * 0.9 + v * 0.1),
    {
      atol: 1e-6,
    },
  );
  tf.dispose([x, y]);
});

test('BatchNormalization inference uses moving stats and updates nothing', () => {
  const bn = new BatchNormalization({
    epsilon: 0.001,
    movingMeanInitializer: constant(0.3),
    movingVarianceInitializer: constant(4),
    gammaInitializer: constant(1.5),
  });
  const x = randomTensor(2, [3, 2, 2, 2]);
  const y = bn.apply(x, { training: false });
  const expected = Array.from(x.dataSync(), (v) => ((v - 0.3) / Math.sqrt(4.001)) * 1.5);
  assertClose(y.dataSync(), expected, { atol: 1e-6 });
  assertClose(weight(bn, 'moving_mean').dataSync(), [0.3, 0.3]);
  assertClose(weight(bn, 'moving_variance').dataSync(), [4, 4]);
  // A frozen layer runs in inference mode even when training (Keras V2 behaviour).
  bn.trainable = false;
  const frozen = bn.apply(x, { training: true });
  assertClose(frozen.dataSync(), expected, { atol: 1e-6 });
  assertClose(weight(bn, 'moving_mean').dataSync(), [0.3, 0.3]);
  tf.dispose([x, y, frozen]);
});

test('BatchNormalization pushes updates to stateUpdates instead of assigning', () => {
  const bn = new BatchNormalization();
  const x = randomTensor(3, [4, 2, 2, 3], 2, 1);
  const updates: StateUpdate[] = [];
  const before = tf.memory().numTensors;
  const y = tf.tidy(() => bn.apply(x, { training: true, stateUpdates: updates }));
  assert.equal(updates.length, 2);
  assert.equal(updates[0].variable, weight(bn, 'moving_mean'));
  assert.equal(updates[1].variable, weight(bn, 'moving_variance'));
  assertClose(weight(bn, 'moving_mean').dataSync(), [0, 0, 0]);
  const { mean } = channelStats(x.dataSync(), 3);
  assertClose(
    updates[0].value.dataSync(),
    mean.map((m) => m * 0.01),
    { atol: 1e-6 },
  );
  // Kept out of tidy: y plus two update values (plus the four weights built in this call).
  assert.equal(tf.memory().numTensors, before + 1 + 2 + 4);
  tf.dispose([x, y, ...updates.map((u) => u.value)]);
});

test('BatchNormalization on rank-5 input and on axis 1', () => {
  const bn5 = new BatchNormalization({ momentum: 0.5 });
  const x5 = randomTensor(4, [2, 2, 3, 2, 4], 2);
  const y5 = bn5.apply(x5, { training: true });
  const s = channelStats(x5.dataSync(), 4);
  const e5 = Array.from(
    x5.dataSync(),
    (v, i) => (v - s.mean[i % 4]) / Math.sqrt(s.variance[i % 4] + 1e-3),
  );
  assertClose(y5.dataSync(), e5, { atol: 1e-5 });
  assertClose(
    weight(bn5, 'moving_variance').dataSync(),
    s.variance.map((v) => 0.5 + 0.5 * v),
    { atol: 1e-6 },
  );

  const bn1 = new BatchNormalization({ axis: 1 });
  const x1 = randomTensor(5, [3, 2, 4], 2); // channels on axis 1
  const y1 = bn1.apply(x1, { training: true });
  // Move channels last for the reference.
  const xt = tf.transpose(x1, [0, 2, 1]);
  const st = channelStats(xt.dataSync(), 2);
  const yt = tf.transpose(y1, [0, 2, 1]);
  const e1 = Array.from(
    xt.dataSync(),
    (v, i) => (v - st.mean[i % 2]) / Math.sqrt(st.variance[i % 2] + 1e-3),
  );
  assertClose(yt.dataSync(), e1, { atol: 1e-5 });
  assert.deepEqual(weight(bn1, 'gamma').shape, [2]);
  tf.dispose([x5, y5, x1, y1, xt, yt]);
});

test('BatchNormalization without center/scale has only moving statistics', () => {
  const bn = new BatchNormalization({ center: false, scale: false });
  const x = tf.ones([1, 2, 2, 3]);
  bn.apply(x).dispose();
  assert.deepEqual(
    bn.weights().map((w) => w.path.split('/').pop()),
    ['moving_mean', 'moving_variance'],
  );
  assert.equal(bn.countTrainableParams(), 0);
  x.dispose();
  assert.throws(() => new BatchNormalization({ momentum: 1.5 }), /momentum must be in \[0, 1\]/);
  const bad = new BatchNormalization({ axis: 4 });
  const x4 = tf.ones([1, 2, 2, 3]);
  assert.throws(() => bad.apply(x4), /axis 4 is out of range/);
  x4.dispose();
});

test('LayerNormalization normalises each example over the last axis', () => {
  const ln = new LayerNormalization({
    epsilon: 1e-6,
    gammaInitializer: constant(3),
    betaInitializer: constant(-1),
  });
  const d = 6;
  const x = randomTensor(6, [2, 3, d], 2, 0.5);
  const y = ln.apply(x);
  const xv = x.dataSync();
  const expected = new Float32Array(xv.length);
  for (let r = 0; r < xv.length / d; r++) {
    const row = Array.from(xv.slice(r * d, (r + 1) * d));
    const m = row.reduce((a, b) => a + b, 0) / d;
    const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / d;
    row.forEach((val, j) => (expected[r * d + j] = ((val - m) / Math.sqrt(v + 1e-6)) * 3 - 1));
  }
  assertClose(y.dataSync(), expected, { atol: 1e-5 });
  assert.deepEqual(
    ln.weights().map((w) => [w.path, w.variable.shape]),
    [
      ['layer_normalization/gamma', [d]],
      ['layer_normalization/beta', [d]],
    ],
  );
  assert.equal(new LayerNormalization().epsilon, 0.001);
  tf.dispose([x, y]);
});

test('LayerNormalization over several axes has parameters of those axes', () => {
  const ln = new LayerNormalization({ axis: [1, 2], center: false });
  const x = randomTensor(7, [2, 3, 4]);
  const y = ln.apply(x);
  const xv = x.dataSync();
  const expected = new Float32Array(xv.length);
  for (let b = 0; b < 2; b++) {
    const row = Array.from(xv.slice(b * 12, (b + 1) * 12));
    const m = row.reduce((a, c) => a + c, 0) / 12;
    const v = row.reduce((a, c) => a + (c - m) ** 2, 0) / 12;
    row.forEach((val, j) => (expected[b * 12 + j] = (val - m) / Math.sqrt(v + 1e-3)));
  }
  assertClose(y.dataSync(), expected, { atol: 1e-5 });
  assert.deepEqual(
    ln.weights().map((w) => w.variable.shape),
    [[3, 4]],
  );
  tf.dispose([x, y]);
});
