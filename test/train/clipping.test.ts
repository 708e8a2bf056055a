import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { clipByGlobalNorm, clipByNorm, clipByValue, globalNorm } from '../../src/train/clipping.js';
import { Sgd } from '../../src/train/optimizers/index.js';
import { assertClose } from '../helpers.js';

await tf.setBackend('cpu');

test('clipByGlobalNorm scales by clip/max(norm, clip) and reports the norm', () => {
  const a = tf.tensor1d([3, 4]);
  const b = tf.tensor2d([[12]]);
  assertClose(globalNorm([a, b]).dataSync(), [13]);
  const { grads, globalNorm: n } = clipByGlobalNorm([a, b], 6.5);
  assertClose(n.dataSync(), [13]);
  assertClose(grads[0].dataSync(), [1.5, 2]);
  assertClose(grads[1].dataSync(), [6]);
  assert.deepEqual(grads[1].shape, [1, 1]);
  // Below the threshold (and at norm 0) nothing changes.
  assertClose(clipByGlobalNorm([a, b], 20).grads[0].dataSync(), [3, 4]);
  assertClose(clipByGlobalNorm([tf.zeros([2])], 1).grads[0].dataSync(), [0, 0]);
  // An infinite norm poisons every entry, as in TF.
  const poisoned = clipByGlobalNorm([tf.tensor1d([Infinity, 1]), tf.tensor1d([2])], 1).grads;
  assert.ok(Number.isNaN(poisoned[0].dataSync()[1]) && Number.isNaN(poisoned[1].dataSync()[0]));
});

test('clipByNorm is per tensor; clipByValue clamps', () => {
  assertClose(clipByNorm(tf.tensor1d([3, 4]), 1).dataSync(), [0.6, 0.8]);
  assertClose(clipByNorm(tf.tensor1d([0.3, 0.4]), 1).dataSync(), [0.3, 0.4]);
  assertClose(clipByNorm(tf.zeros([3]), 1).dataSync(), [0, 0, 0]);
  assertClose(clipByValue(tf.tensor1d([-3, 0.2, 5]), 1).dataSync(), [-1, 0.2, 1]);
  assert.throws(() => clipByValue(tf.zeros([1]), -1), /clipValue must be a number >= 0/);
});

test('Keras order: clipvalue before clipnorm before global_clipnorm', () => {
  // [3, 4] → clipvalue 1 → [1, 1] → clipnorm 1 → [1/√2, 1/√2] (the other order would give [0.6, 0.8]).
  const opt = new Sgd({ clipvalue: 1, clipnorm: 1 });
  const [g] = opt.transformGradients([tf.tensor1d([3, 4])]);
  assertClose(g.dataSync(), [Math.SQRT1_2, Math.SQRT1_2]);
  // clipvalue then global norm over two tensors: [1, 1], [1] → norm √3, clip 1.
  const opt2 = new Sgd({ clipvalue: 1, global_clipnorm: 1 });
  const out = opt2.transformGradients([tf.tensor1d([3, 4]), tf.tensor1d([-9])]);
  const s = 1 / Math.sqrt(3);
  assertClose(out[0].dataSync(), [s, s]);
  assertClose(out[1].dataSync(), [-s]);
});
