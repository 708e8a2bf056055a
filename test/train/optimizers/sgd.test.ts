import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildOptimizer, Sgd } from '../../../src/train/optimizers/index.js';
import { assertClose } from '../../helpers.js';
import { runOurs, runRef, runTfjs, sgdRef } from './reference.js';

await tf.setBackend('cpu');

const constant = () => 0.1;

function assertTrajectory(ours: number[][], expected: number[][], msg: string, rtol = 2e-5) {
  ours.forEach((p, k) =>
    assertClose(p, expected[k], { rtol, atol: 1e-6, msg: `${msg} step ${k + 1}` }),
  );
}

test('plain SGD matches p -= lr*g and tf.train.sgd', () => {
  const ours = runOurs(new Sgd({}), 4, constant);
  assertTrajectory(ours, runRef(sgdRef(0, false), 4, constant), 'reference');
  assertTrajectory(ours, runTfjs(tf.train.sgd(0.1), 4), 'tfjs');
});

test('momentum SGD matches the Keras formula and tf.train.momentum (constant lr)', () => {
  const ours = runOurs(new Sgd({ momentum: 0.9 }), 5, constant);
  assertTrajectory(ours, runRef(sgdRef(0.9, false), 5, constant), 'reference');
  assertTrajectory(ours, runTfjs(tf.train.momentum(0.1, 0.9, false), 5), 'tfjs');
});

test('nesterov SGD matches the Keras formula and tf.train.momentum(useNesterov)', () => {
  const ours = runOurs(new Sgd({ momentum: 0.8, nesterov: true }), 5, constant);
  assertTrajectory(ours, runRef(sgdRef(0.8, true), 5, constant), 'reference');
  assertTrajectory(ours, runTfjs(tf.train.momentum(0.1, 0.8, true), 5), 'tfjs');
});

test('Keras legacy decay divides lr by 1 + decay*(step-1); changing lr stays in the velocity', () => {
  const lr = (t: number) => 0.2 / t;
  const ours = runOurs(new Sgd({ momentum: 0.9, decay: 0.5 }), 4, lr);
  assertTrajectory(ours, runRef(sgdRef(0.9, false, 0.5), 4, lr), 'reference');
});

test('hand-computed first two momentum steps (Keras docstring example)', () => {
  // tf_keras gradient_descent.py docstring: lr 0.1, momentum 0.9, loss var²/2 from 1.0:
  // first step moves by 0.1, second by 0.18.
  const opt = new Sgd({ momentum: 0.9 });
  let p: tf.Tensor = tf.scalar(1.0);
  let v: tf.Tensor = tf.scalar(0);
  const moves: number[] = [];
  for (let t = 1; t <= 2; t++) {
    const out = opt.update({
      path: 'w',
      param: p,
      grad: p,
      slots: { momentum: v },
      lr: tf.scalar(0.1),
      step: tf.scalar(t),
    });
    moves.push(p.dataSync()[0] - out.param.dataSync()[0]);
    p = out.param;
    v = out.slots.momentum;
  }
  assertClose(moves, [0.1, 0.18], { rtol: 1e-6 });
});

test('slots: momentum only when momentum > 0; factory reads the sgd key', () => {
  assert.deepEqual(new Sgd({}).slotNames('a'), []);
  const opt = buildOptimizer({ type: 'sgd', sgd: { momentum: 0.9 }, adam: { beta_1: 0.5 } });
  assert.equal(opt.name, 'SGD');
  assert.deepEqual(opt.slotNames('a'), ['momentum']);
  assert.throws(() => new Sgd({ momentum: 1.5 }), /momentum must be in \[0, 1\]/);
  assert.throws(() => new Sgd({ clipnorm: 1, global_clipnorm: 1 }), /both clipnorm/);
});
