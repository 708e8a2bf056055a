import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Adam, buildOptimizer } from '../../../src/train/optimizers/index.js';
import { assertClose } from '../../helpers.js';
import { adamRef, runOurs, runRef, runTfjs } from './reference.js';

await tf.setBackend('cpu');

const constant = () => 0.05;

test('Adam matches the Keras formula (epsilon hat, bias correction in lr_t) over 5 steps', () => {
  const ours = runOurs(new Adam({ epsilon: 0.01 }), 5, constant);
  const ref = runRef(adamRef(0.9, 0.999, 0.01), 5, constant);
  ours.forEach((p, k) => assertClose(p, ref[k], { rtol: 2e-5, msg: `step ${k + 1}` }));
});

test('with a negligible epsilon, Keras Adam and tf.train.adam agree', () => {
  // tfjs puts epsilon outside sqrt(v̂) and Keras outside sqrt(v); with ε → 0 both are m̂/sqrt(v̂).
  const ours = runOurs(new Adam({ epsilon: 1e-12, beta_1: 0.8, beta_2: 0.99 }), 5, constant);
  const theirs = runTfjs(tf.train.adam(0.05, 0.8, 0.99, 1e-12), 5);
  ours.forEach((p, k) =>
    assertClose(p, theirs[k], { rtol: 1e-5, atol: 1e-6, msg: `step ${k + 1}` }),
  );
});

test('epsilon placement is Keras', () => {
  // One step from zero moments: m = 0.1 g, v = 0.001 g², lr_t = lr·sqrt(0.001)/0.1, so
  // Δ = lr·sqrt(0.001)·g/(sqrt(0.001)|g| + ε). With g = 1, lr = 1, ε = 0.1: Δ = 0.0316228/0.1316228.
  const opt = new Adam({ epsilon: 0.1 });
  const out = opt.update({
    path: 'w',
    param: tf.scalar(0),
    grad: tf.scalar(1),
    slots: { m: tf.scalar(0), v: tf.scalar(0) },
    lr: tf.scalar(1),
    step: tf.scalar(1),
  });
  const s = Math.sqrt(0.001);
  assertClose(out.param.dataSync(), [-s / (s + 0.1)], { rtol: 1e-5 });
});

test('amsgrad keeps the running max of v and uses it', () => {
  const opt = new Adam({ amsgrad: true, epsilon: 0.001, beta_2: 0.5 });
  assert.deepEqual(opt.slotNames('x'), ['m', 'v', 'vhat']);
  const ours = runOurs(opt, 5, () => 0.3);
  const ref = runRef(adamRef(0.9, 0.5, 0.001, true), 5, () => 0.3);
  ours.forEach((p, k) => assertClose(p, ref[k], { rtol: 2e-5, msg: `step ${k + 1}` }));
  // The wobbling gradient makes v shrink at some step, so amsgrad differs from plain Adam.
  const plain = runRef(adamRef(0.9, 0.5, 0.001, false), 5, () => 0.3);
  assert.ok(plain[4].some((x, i) => Math.abs(x - ref[4][i]) > 1e-6));
});

test('Model Garden defaults fill missing fields', () => {
  const opt = buildOptimizer({ type: 'adam' }) as Adam;
  assert.equal(opt.name, 'Adam');
  assert.equal(opt.config.beta_1, 0.9);
  assert.equal(opt.config.beta_2, 0.999);
  assert.equal(opt.config.epsilon, 1e-7);
  assert.equal(opt.config.amsgrad, false);
  assert.equal(new Adam({ epsilon: 0 }).config.epsilon, 1e-7);
  assert.throws(() => new Adam({ beta_1: 'x' } as unknown as object), /optimizer\.adam\.beta_1/);
  assert.throws(
    () => new Adam({ beta1: 0.5 } as unknown as object),
    /optimizer\.adam\.beta1: unknown key 'beta1' \(did you mean 'beta_1'/,
  );
});
