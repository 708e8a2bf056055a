import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildOptimizer, Lars } from '../../../src/train/optimizers/index.js';
import { assertClose } from '../../helpers.js';
import { larsRef, runOurs, runRef } from './reference.js';

await tf.setBackend('cpu');

const constant = () => 0.5;

function check(ours: number[][], ref: number[][], msg: string) {
  ours.forEach((p, k) =>
    assertClose(p, ref[k], { rtol: 2e-5, atol: 1e-7, msg: `${msg} step ${k + 1}` }),
  );
}

test('LARS classic momentum (MG default) with weight decay, 5 steps', () => {
  const opt = buildOptimizer({ type: 'lars', lars: { weight_decay_rate: 1e-4 } });
  assert.equal(opt.name, 'LARS');
  check(
    runOurs(opt, 5, constant),
    runRef(larsRef(0.9, 0.001, 1e-4, false, true, true, true), 5, constant),
    'classic',
  );
});

test('LARS nesterov and popular momentum variants', () => {
  const nest = new Lars({ nesterov: true, eeta: 0.01 });
  check(
    runOurs(nest, 5, constant),
    runRef(larsRef(0.9, 0.01, 0, true, true, false, true), 5, constant),
    'nesterov',
  );
  const popular = new Lars({ classic_momentum: false, eeta: 0.01, weight_decay_rate: 1e-3 });
  check(
    runOurs(popular, 5, constant),
    runRef(larsRef(0.9, 0.01, 1e-3, false, false, true, true), 5, constant),
    'popular',
  );
  const popNest = new Lars({ classic_momentum: false, nesterov: true, eeta: 0.01 });
  check(
    runOurs(popNest, 5, constant),
    runRef(larsRef(0.9, 0.01, 0, true, false, false, true), 5, constant),
    'popular nesterov',
  );
});

test('first LARS step by hand: trust ratio eeta·‖w‖/‖g‖', () => {
  // w = [3, 4], g = [0, 2]: ratio = 0.001·5/2 = 0.0025; v = lr·ratio·g; w − v.
  const out = new Lars({}).update({
    path: 'conv/kernel',
    param: tf.tensor1d([3, 4]),
    grad: tf.tensor1d([0, 2]),
    slots: { momentum: tf.zeros([2]) },
    lr: tf.scalar(2),
    step: tf.scalar(1),
  });
  assertClose(out.param.dataSync(), [3, 4 - 2 * 0.0025 * 2]);
  assertClose(out.slots.momentum.dataSync(), [0, 0.01]);
});

test('exclusions (regex on the TF variable name) and the zero-rate rule', () => {
  const opt = new Lars({
    weight_decay_rate: 1e-3,
    exclude_from_weight_decay: ['batch_normalization', 'bias'],
  });
  assert.equal(opt.usesWeightDecay('m/conv2d/kernel'), true);
  assert.equal(opt.usesWeightDecay('m/batch_normalization/beta'), false);
  assert.equal(opt.usesLayerAdaptation('m/conv2d/bias'), false);
  assert.equal(new Lars({}).usesWeightDecay('m/conv2d/kernel'), false);
  const ours = runOurs(opt, 4, constant, 'm/dense/bias');
  check(
    ours,
    runRef(larsRef(0.9, 0.001, 1e-3, false, true, false, false), 4, constant),
    'excluded',
  );
});
