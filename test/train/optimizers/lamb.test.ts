import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Lamb, trustRatio } from '../../../src/train/optimizers/index.js';
import { assertClose } from '../../helpers.js';
import { lambRef, runOurs, runRef } from './reference.js';

await tf.setBackend('cpu');

const constant = () => 0.01;

test('LAMB matches the reference with weight decay and layer adaptation, 5 steps', () => {
  const opt = new Lamb({ weight_decay_rate: 0.01 });
  const ours = runOurs(opt, 5, constant);
  const ref = runRef(lambRef(0.9, 0.999, 1e-6, 0.01, true, true), 5, constant);
  ours.forEach((p, k) => assertClose(p, ref[k], { rtol: 2e-5, msg: `step ${k + 1}` }));
});

test('first LAMB step by hand: trust ratio ‖w‖/‖u‖', () => {
  // From zero moments, m̂ = g and v̂ = g², so u = g/(|g| + ε) ≈ sign(g) = [1, -1]; ‖u‖ = √2.
  // w = [3, 4]: ‖w‖ = 5, ratio 5/√2, new w = w − lr·(5/√2)·u.
  const opt = new Lamb({ epsilon: 0 });
  const out = opt.update({
    path: 'dense/kernel',
    param: tf.tensor1d([3, 4]),
    grad: tf.tensor1d([0.5, -2]),
    slots: { m: tf.zeros([2]), v: tf.zeros([2]) },
    lr: tf.scalar(0.1),
    step: tf.scalar(1),
  });
  const r = 5 / Math.SQRT2;
  assertClose(out.param.dataSync(), [3 - 0.1 * r, 4 + 0.1 * r], { rtol: 1e-5 });
});

test('exclusions: decay and adaptation; adaptation falls back to the decay list', () => {
  const opt = new Lamb({ weight_decay_rate: 0.01, exclude_from_weight_decay: ['bias'] });
  assert.equal(opt.usesWeightDecay('dense/bias'), false);
  assert.equal(opt.usesLayerAdaptation('dense/bias'), false);
  assert.equal(opt.usesLayerAdaptation('dense/kernel'), true);
  const both = new Lamb({
    weight_decay_rate: 0.01,
    exclude_from_weight_decay: ['bias'],
    exclude_from_layer_adaptation: ['norm'],
  });
  assert.equal(both.usesLayerAdaptation('dense/bias'), true);
  assert.equal(both.usesLayerAdaptation('layer_norm/gamma'), false);
  const ours = runOurs(opt, 4, constant, 'dense/bias');
  const ref = runRef(lambRef(0.9, 0.999, 1e-6, 0.01, false, false), 4, constant);
  ours.forEach((p, k) => assertClose(p, ref[k], { rtol: 2e-5, msg: `bias step ${k + 1}` }));
});

test('trust ratio is 1 when either norm is zero', () => {
  assert.equal(trustRatio(tf.zeros([3]), tf.ones([3])).dataSync()[0], 1);
  assert.equal(trustRatio(tf.ones([3]), tf.zeros([3])).dataSync()[0], 1);
  assertClose(trustRatio(tf.tensor1d([3, 4]), tf.tensor1d([0, 2]), 0.5).dataSync(), [1.25]);
});
