import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rmsprop } from '../../../src/train/optimizers/index.js';
import { assertClose } from '../../helpers.js';
import { rmspropRef, runOurs, runRef, runTfjs } from './reference.js';

await tf.setBackend('cpu');

const constant = () => 0.01;

function check(ours: number[][], expected: number[][], msg: string) {
  ours.forEach((p, k) =>
    assertClose(p, expected[k], { rtol: 2e-5, atol: 1e-6, msg: `${msg} step ${k + 1}` }),
  );
}

test('RMSprop without momentum: epsilon outside the root (Keras)', () => {
  const ours = runOurs(new Rmsprop({ epsilon: 0.01 }), 5, constant);
  check(ours, runRef(rmspropRef(0.9, 0, 0.01, false), 5, constant), 'reference');
  assert.deepEqual(new Rmsprop({}).slotNames('w'), ['rms']);
});

test('RMSprop with momentum matches the reference and tf.train.rmsprop (epsilon inside the root)', () => {
  const opt = new Rmsprop({ momentum: 0.9, rho: 0.8, epsilon: 1e-3 });
  assert.deepEqual(opt.slotNames('w'), ['rms', 'momentum']);
  const ours = runOurs(opt, 5, constant);
  check(ours, runRef(rmspropRef(0.8, 0.9, 1e-3, false), 5, constant), 'reference');
  check(ours, runTfjs(tf.train.rmsprop(0.01, 0.8, 0.9, 1e-3, false), 5), 'tfjs');
});

test('centered RMSprop, with and without momentum', () => {
  const a = new Rmsprop({ centered: true, epsilon: 1e-3 });
  assert.deepEqual(a.slotNames('w'), ['rms', 'mg']);
  check(
    runOurs(a, 5, constant),
    runRef(rmspropRef(0.9, 0, 1e-3, true), 5, constant),
    'no momentum',
  );
  const b = new Rmsprop({ centered: true, momentum: 0.5, epsilon: 1e-3 });
  check(runOurs(b, 5, constant), runRef(rmspropRef(0.9, 0.5, 1e-3, true), 5, constant), 'momentum');
});

test('hand-computed first step', () => {
  // rms = 0.1·g² = 0.4 for g = 2; Δ = lr·g/(sqrt(0.4) + ε) with lr 0.1; ε = 0 means the Keras
  // backend epsilon 1e-7 (`epsilon or backend_config.epsilon()`).
  const out = new Rmsprop({ epsilon: 0 }).update({
    path: 'w',
    param: tf.scalar(1),
    grad: tf.scalar(2),
    slots: { rms: tf.scalar(0) },
    lr: tf.scalar(0.1),
    step: tf.scalar(1),
  });
  assertClose(out.param.dataSync(), [1 - 0.2 / (Math.sqrt(0.4) + 1e-7)]);
  assertClose(out.slots.rms.dataSync(), [0.4]);
});
