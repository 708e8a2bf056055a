import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildOptimizer, OptimizerState } from '../../../src/train/optimizers/index.js';
import { assertClose } from '../../helpers.js';

await tf.setBackend('cpu');

test('slot variables are named <path>/<slot> and created by ensureSlots', () => {
  const state = new OptimizerState(buildOptimizer({ type: 'adam', adam: { amsgrad: true } }));
  const k = tf.variable(tf.ones([2, 3]));
  const b = tf.variable(tf.zeros([3]));
  state.ensureSlots([
    { path: 'net/dense/kernel', variable: k },
    { path: 'net/dense/bias', variable: b },
  ]);
  assert.deepEqual(
    state.slotVariables().map((s) => [s.name, s.variable.shape]),
    [
      ['net/dense/kernel/m', [2, 3]],
      ['net/dense/kernel/v', [2, 3]],
      ['net/dense/kernel/vhat', [2, 3]],
      ['net/dense/bias/m', [3]],
      ['net/dense/bias/v', [3]],
      ['net/dense/bias/vhat', [3]],
    ],
  );
  assert.equal(state.slotVariables()[0].variable.trainable, false);
  state.dispose();
  k.dispose();
  b.dispose();
});

test('apply updates params and slots; two weights with global clipping', () => {
  const state = new OptimizerState(
    buildOptimizer({ type: 'sgd', sgd: { momentum: 0.5, global_clipnorm: 1 } }),
  );
  const a = tf.variable(tf.tensor1d([1, 1]));
  const b = tf.variable(tf.tensor1d([2]));
  const params = [
    { path: 'a', variable: a },
    { path: 'b', variable: b },
  ];
  const ga = tf.tensor1d([3, 0]);
  const gb = tf.tensor1d([4]);
  state.apply(params, [ga, gb], 0.1, 1);
  // global norm 5 → grads [0.6, 0], [0.8]; v = −lr·g; p += v.
  assertClose(a.dataSync(), [1 - 0.06, 1]);
  assertClose(b.dataSync(), [2 - 0.08]);
  assertClose((state.slot('b', 'momentum') as tf.Variable).dataSync(), [-0.08]);
  state.apply(params, [ga, gb], 0.1, 2);
  // v = 0.5·(−0.08) − 0.08 = −0.12
  assertClose(b.dataSync(), [2 - 0.08 - 0.12]);
  assert.throws(() => state.apply(params, [ga], 0.1, 3), /2 weights but 1 gradients/);
  assert.throws(() => state.apply(params, [gb, ga], 0.1, 3), /gradient of 'a' has shape/);
  assert.throws(() => state.apply(params, [ga, gb], 0.1, 0), /1-based/);
  tf.dispose([ga, gb, a, b]);
  state.dispose();
});

test('memory stays flat over 50 applies', () => {
  for (const type of ['sgd', 'adam', 'adamw', 'rmsprop', 'lamb', 'lars', 'adagrad']) {
    const cfg = {
      type,
      sgd: { momentum: 0.9, clipvalue: 0.5, clipnorm: 1 },
      adam: { amsgrad: true, global_clipnorm: 1 },
      adamw: { weight_decay_rate: 0.01 },
      rmsprop: { momentum: 0.9, centered: true },
      lamb: { weight_decay_rate: 0.01 },
      lars: { weight_decay_rate: 0.01, nesterov: true },
      adagrad: {},
    };
    const state = new OptimizerState(buildOptimizer(cfg));
    const w = tf.variable(tf.tensor2d([1, 2, 3, 4], [2, 2]));
    const params = [{ path: 'w/kernel', variable: w }];
    const g = tf.tensor2d([0.1, -0.2, 0.3, -0.4], [2, 2]);
    state.apply(params, [g], 0.01, 1);
    const before = tf.memory().numTensors;
    for (let t = 2; t <= 51; t++) state.apply(params, [g], 0.01, t);
    assert.equal(tf.memory().numTensors, before, `${type}: tensors leaked`);
    assert.ok(Array.from(w.dataSync()).every(Number.isFinite), `${type}: non-finite weights`);
    tf.dispose([g, w]);
    state.dispose();
  }
});

test('factory errors name the problem', () => {
  assert.throws(() => buildOptimizer({ type: null }), /optimizer\.type must be specified/);
  assert.throws(
    () => buildOptimizer({ type: 'slide' }),
    /'slide' is not supported; choose one of: sgd/,
  );
  assert.throws(
    () => buildOptimizer({ type: 'rmsprop', rmsprop: { rho: 'high' as unknown as number } }),
    /optimizer\.rmsprop\.rho: expected number, got string "high"/,
  );
});
