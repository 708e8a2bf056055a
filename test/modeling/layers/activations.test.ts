import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import {
  Activation,
  ACTIVATION_NAMES,
  getActivation,
} from '../../../src/modeling/layers/activations.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

/** erf by its Maclaurin series (converges quickly for |x| <= 5 in double precision). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const relu6 = (x: number) => Math.min(Math.max(x, 0), 6);

const FORMULAS: Record<string, (x: number) => number> = {
  relu: (x) => Math.max(x, 0),
  relu6,
  swish: (x) => x * sigmoid(x),
  hard_swish: (x) => (x * relu6(x + 3)) / 6,
  hard_sigmoid: (x) => relu6(x + 3) * 0.16667,
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_approximate: (x) =>
    0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  mish: (x) => x * Math.tanh(Math.log1p(Math.exp(x))),
  sigmoid,
  tanh: Math.tanh,
  elu: (x) => (x > 0 ? x : Math.exp(x) - 1),
  leaky_relu: (x) => (x > 0 ? x : 0.2 * x),
  linear: (x) => x,
  identity: (x) => x,
};

const POINTS = [-5, -3.5, -2, -1, -0.5, -0.1, 0.2, 0.7, 1, 2.5, 4, 7];

test('activations match their formulas at chosen points', () => {
  for (const [name, f] of Object.entries(FORMULAS)) {
    const x = tf.tensor1d(POINTS);
    const y = getActivation(name)(x);
    assertClose(y.dataSync(), POINTS.map(f), { atol: 2e-6, rtol: 1e-5, msg: name });
    tf.dispose([x, y]);
  }
});

test('gelu equals Φ(x)·x at published normal CDF values', () => {
  // Φ(1) = 0.8413447460685429, Φ(-1) = 0.15865525393145707, Φ(2) = 0.9772498680518208.
  const x = tf.tensor1d([1, -1, 2]);
  const y = getActivation('gelu')(x);
  assertClose(y.dataSync(), [0.8413447460685429, -0.15865525393145707, 2 * 0.9772498680518208], {
    atol: 1e-6,
  });
  tf.dispose([x, y]);
});

test('activations are differentiable and their gradients match finite differences', () => {
  // Points away from the kinks of relu (0), relu6 (0, 6) and the hard functions (±3).
  const pts = [-4.2, -2.2, -0.7, 0.4, 1.3, 2.7, 5.1];
  for (const [name, f] of Object.entries(FORMULAS)) {
    const g = tf.grad((t: tf.Tensor) => tf.sum(getActivation(name)(t)))(tf.tensor1d(pts));
    const h = 1e-5;
    const numeric = pts.map((p) => (f(p + h) - f(p - h)) / (2 * h));
    assertClose(g.dataSync(), numeric, { atol: 1e-4, rtol: 1e-3, msg: name });
    g.dispose();
  }
});

test('names are case-insensitive, null is identity, unknown names are listed', () => {
  const x = tf.tensor1d([-1, 2]);
  for (const id of [null, undefined, 'None', 'Linear']) {
    const y = getActivation(id)(x);
    assert.deepEqual(Array.from(y.dataSync()), [-1, 2]);
    y.dispose();
  }
  const r = getActivation('ReLU')(x);
  assert.deepEqual(Array.from(r.dataSync()), [0, 2]);
  r.dispose();
  assert.throws(
    () => getActivation('swishy'),
    /unknown activation 'swishy'; valid names: .*hard_swish/,
  );
  assert.ok(ACTIVATION_NAMES.includes('gelu'));
  const layer = new Activation({ activation: 'relu6' });
  assert.equal(layer.name, 'activation');
  const y = layer.apply(tf.tensor1d([-1, 3, 9]));
  assert.deepEqual(Array.from(y.dataSync()), [0, 3, 6]);
  assert.equal(layer.countParams(), 0);
  tf.dispose([x, y]);
});
