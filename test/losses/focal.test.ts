import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { focalLoss, sigmoidFocalLoss } from '../../src/losses/focal.js';
import { assertClose } from '../helpers.js';

// initBackend also registers the gradients tf.grad needs.
await initBackend('cpu');

/** Independent float64 reference: the focal loss written from its definition with log σ. */
function focalRef(z: number, x: number, alpha: number, gamma: number): number {
  const p = 1 / (1 + Math.exp(-x));
  const positive = z === 1;
  const ce = -(z * Math.log(p) + (1 - z) * Math.log(1 - p));
  const pGt = positive ? p : 1 - p;
  return (positive ? alpha : 1 - alpha) * Math.pow(1 - pGt, gamma) * ce;
}

test('hand-worked values at alpha 0.25, gamma 1.5', () => {
  // x = 0: ce = ln 2, p_gt = 0.5, modulator 0.5^1.5 = 0.353553.
  //   positive: 0.25 · 0.353553 · 0.693147 = 0.0612656; negative: 0.75 · … = 0.183797.
  // x = 2, positive: ce = ln(1 + e^-2) = 0.126928, (1 − σ(2))^1.5 = 0.119203^1.5 = 0.0411558,
  //   0.25 · 0.0411558 · 0.126928 = 0.00130595.
  const got = sigmoidFocalLoss(tf.tensor1d([1, 0, 1]), tf.tensor1d([0, 0, 2])).dataSync();
  assertClose(got, [0.0612656, 0.183797, 0.00130595], { rtol: 1e-5, atol: 1e-8 });
});

test('elementwise loss equals a float64 reference over a grid of logits and targets', () => {
  const xs: number[] = [];
  const zs: number[] = [];
  for (let i = 0; i < 41; i++) {
    for (const z of [0, 1, 0.5]) {
      xs.push(-10 + i * 0.5);
      zs.push(z);
    }
  }
  for (const [alpha, gamma] of [
    [0.25, 1.5],
    [0.5, 0],
    [0.75, 2],
  ]) {
    const got = sigmoidFocalLoss(tf.tensor1d(zs), tf.tensor1d(xs), alpha, gamma).dataSync();
    // A soft target 0.5 is not "positive" (MG tests y_true == 1): it takes the negative branch.
    const want = xs.map((x, i) => focalRef(zs[i], x, alpha, gamma));
    assertClose(got, want, { rtol: 1e-4, atol: 1e-7, msg: `alpha ${alpha} gamma ${gamma}` });
  }
});

test('gradient with respect to the logits equals central differences of the reference', () => {
  const xs = [-3, -0.7, 0, 0.4, 2.5, -1.2, 1.1, 4];
  const zs = [1, 1, 1, 0, 0, 0, 1, 0];
  const g = tf
    .grad((x: tf.Tensor) => focalLoss(tf.tensor1d(zs), x))(tf.tensor1d(xs))
    .dataSync();
  const h = 1e-5;
  const want = xs.map(
    (x, i) => (focalRef(zs[i], x + h, 0.25, 1.5) - focalRef(zs[i], x - h, 0.25, 1.5)) / (2 * h),
  );
  assertClose(g, want, { rtol: 1e-3, atol: 1e-6 });
});

test('SUM reduction with per-anchor weights (MG build_losses shapes)', () => {
  // [batch 1, anchors 3, classes 2]; anchor weights [1, 0, 0.5] broadcast over the classes.
  const logits = [0.3, -1, 2, 0.1, -0.4, 1.5];
  const targets = [1, 0, 0, 0, 0, 1];
  const weights = [1, 0, 0.5];
  const got = focalLoss(tf.tensor3d(targets, [1, 3, 2]), tf.tensor3d(logits, [1, 3, 2]), {
    sampleWeight: tf.tensor2d(weights, [1, 3]),
  });
  let want = 0;
  logits.forEach(
    (x, i) => (want += weights[Math.floor(i / 2)] * focalRef(targets[i], x, 0.25, 1.5)),
  );
  assertClose(got.dataSync(), [want], { rtol: 1e-5 });
  assert.equal(got.rank, 0);
});

test('bad parameters and shapes name the field', () => {
  assert.throws(
    () => sigmoidFocalLoss(tf.zeros([2]), tf.zeros([2]), 1.5),
    /alpha must be in \[0, 1\]/,
  );
  assert.throws(() => sigmoidFocalLoss(tf.zeros([2]), tf.zeros([2]), 0.25, -1), /gamma/);
  assert.throws(() => focalLoss(tf.zeros([2]), tf.zeros([3])), /same shape/);
});
