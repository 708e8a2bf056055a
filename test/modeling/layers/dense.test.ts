import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Rng } from '../../../src/core/random.js';
import { constant } from '../../../src/core/initializers.js';
import { Dense } from '../../../src/modeling/layers/dense.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

test('Dense on a rank-3 input applies the kernel to the last axis', () => {
  const rng = new Rng(4);
  const [b, t, d, u] = [2, 3, 4, 5];
  const xv = Float32Array.from({ length: b * t * d }, () => rng.uniformRange(-1, 1));
  const x = tf.tensor(xv, [b, t, d]);
  const dense = new Dense({ units: u, biasInitializer: constant(0.5), activation: 'tanh' });
  const y = dense.apply(x);
  assert.deepEqual(y.shape, [b, t, u]);
  const [kernel, bias] = dense.weights();
  assert.equal(kernel.path, 'dense/kernel');
  assert.equal(bias.path, 'dense/bias');
  assert.deepEqual(kernel.variable.shape, [d, u]);
  assert.ok(kernel.regularize && !bias.regularize);
  const k = kernel.variable.dataSync();
  const expected: number[] = [];
  for (let r = 0; r < b * t; r++)
    for (let j = 0; j < u; j++) {
      let s = 0.5;
      for (let i = 0; i < d; i++) s += xv[r * d + i] * k[i * u + j];
      expected.push(Math.tanh(s));
    }
  assertClose(y.dataSync(), expected, { atol: 1e-6 });
  assert.equal(dense.countParams(), d * u + u);
  tf.dispose([x, y]);
});

test('Dense without bias and with bad input', () => {
  const dense = new Dense({ units: 3, useBias: false });
  const x = tf.ones([2, 4]);
  dense.apply(x).dispose();
  assert.deepEqual(
    dense.weights().map((w) => w.path),
    ['dense/kernel'],
  );
  const wrong = tf.ones([2, 5]);
  assert.throws(() => dense.apply(wrong), /input has 5 features, kernel expects 4/);
  const vec = tf.ones([4]);
  assert.throws(() => new Dense({ units: 2 }).apply(vec), /rank >= 2/);
  assert.throws(() => new Dense({ units: 0 }), /units must be a positive integer/);
  tf.dispose([x, wrong, vec]);
});
