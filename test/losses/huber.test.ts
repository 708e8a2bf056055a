import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { huber, huberLoss, reduceWeightedLoss } from '../../src/losses/huber.js';
import { assertClose } from '../helpers.js';

// initBackend also registers the gradients tf.grad needs.
await initBackend('cpu');

// The example of the tf.keras.losses.Huber docstring (delta 1):
// y_true [[0, 1], [0, 0]], y_pred [[0.6, 0.4], [0.4, 0.6]] → per sample [0.18, 0.13],
// 0.155 (sum over batch size), 0.09 with sample_weight [1, 0], 0.31 summed.
const yTrue = () =>
  tf.tensor2d([
    [0, 1],
    [0, 0],
  ]);
const yPred = () =>
  tf.tensor2d([
    [0.6, 0.4],
    [0.4, 0.6],
  ]);

test('Huber matches the Keras docstring example for every reduction', () => {
  assertClose(huber(yTrue(), yPred()).dataSync(), [0.18, 0.13]);
  assertClose(huberLoss(yTrue(), yPred()).dataSync(), [0.155]);
  assertClose(
    huberLoss(yTrue(), yPred(), { sampleWeight: tf.tensor1d([1, 0]) }).dataSync(),
    [0.09],
  );
  assertClose(huberLoss(yTrue(), yPred(), { reduction: 'sum' }).dataSync(), [0.31]);
  assertClose(huberLoss(yTrue(), yPred(), { reduction: 'none' }).dataSync(), [0.18, 0.13]);
});

test('delta 0.1 (Model Garden RetinaNet): quadratic inside, linear outside, equal at the knee', () => {
  // errors 0.05 → 0.5·0.05² = 0.00125; 0.1 → 0.005 (either branch); −0.5 → 0.1·0.5 − 0.005 = 0.045;
  // 2 → 0.2 − 0.005 = 0.195. Mean over the last axis of [[a, b], [c, d]].
  const t = tf.zeros([2, 2]);
  const p = tf.tensor2d([
    [0.05, 0.1],
    [-0.5, 2],
  ]);
  const perSample = huber(t, p, 0.1).dataSync();
  assertClose(perSample, [(0.00125 + 0.005) / 2, (0.045 + 0.195) / 2]);
  // Keras sample weights [B] on a [B, A, 4] box loss: one weight per anchor, summed.
  const weights = tf.tensor1d([2, 0.5]);
  const summed = huberLoss(t, p, { delta: 0.1, sampleWeight: weights, reduction: 'sum' });
  assertClose(summed.dataSync(), [2 * perSample[0] + 0.5 * perSample[1]]);
});

test('Huber gradient is e inside the knee and delta·sign(e) outside (mean over 2 values)', () => {
  const t = tf.zeros([1, 2]);
  const g = tf.grad((p: tf.Tensor) => huberLoss(t, p, { delta: 0.1, reduction: 'sum' }))(
    tf.tensor2d([[0.04, -0.3]]),
  );
  assertClose(g.dataSync(), [0.04 / 2, -0.1 / 2]);
});

test('per-anchor weights get a trailing axis; bad inputs name the problem', () => {
  const loss = tf.ones([2, 3, 4]);
  const w = tf.tensor2d([
    [1, 0, 2],
    [0, 0, 1],
  ]);
  assertClose(reduceWeightedLoss(loss, w, 'sum').dataSync(), [4 * 4]);
  assert.throws(
    () => reduceWeightedLoss(loss, tf.ones([5]), 'sum', 'box loss'),
    /box loss: sample_weight of shape \[5\] does not broadcast/,
  );
  assert.throws(() => huber(tf.zeros([2]), tf.zeros([3])), /same shape/);
  assert.throws(() => huber(tf.zeros([2]), tf.zeros([2]), 0), /delta must be/);
});
