import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import {
  makeDivisible,
  SqueezeExcitation,
} from '../../../src/modeling/layers/squeeze_excitation.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

test('makeDivisible follows MG make_divisible (values worked by hand)', () => {
  // new = max(min, int(v + d/2) // d * d); +d when new < 0.9 v and round-down protection is on.
  assert.equal(makeDivisible(8, 8), 8);
  assert.equal(makeDivisible(37, 8), 40); // int(41)//8*8 = 40
  assert.equal(makeDivisible(35.9, 8), 40); // 32 < 0.9*35.9 = 32.31 -> 40
  assert.equal(makeDivisible(3, 8), 8); // 0 -> min_value 8
  assert.equal(makeDivisible(12, 8), 16); // int(16)//8*8 = 16
  assert.equal(makeDivisible(11.9, 8), 16); // 8 < 10.71 -> 16
  assert.equal(makeDivisible(11.9, 8, undefined, false), 8);
  assert.equal(makeDivisible(2, 8, 4, false), 4);
  assert.equal(makeDivisible(24, 1), 24);
});

function assignWeight(layer: SqueezeExcitation, path: string, values: number[]): void {
  const w = layer.weights().find((x) => x.path === path);
  assert.ok(w, path);
  w.variable.assign(tf.tensor(values, w.variable.shape));
}

test('SqueezeExcitation computes x * sigmoid(expand(relu(reduce(mean(x))))) (hand-computed)', () => {
  const se = new SqueezeExcitation({ inFilters: 2, outFilters: 2, seRatio: 0.5 });
  assert.equal(se.numReducedFilters, 1);
  // Channel 0: 1, 2, 3, 4 (mean 2.5); channel 1: -1, 0, 1, 2 (mean 0.5).
  const x = tf.tensor4d(
    [
      [
        [
          [1, -1],
          [2, 0],
        ],
        [
          [3, 1],
          [4, 2],
        ],
      ],
    ],
    [1, 2, 2, 2],
  );
  se.apply(x).dispose();
  assert.deepEqual(
    se.weights().map((w) => [w.path, w.objectPath, w.variable.shape]),
    [
      ['squeeze_excitation/conv2d/kernel', '_se_reduce/kernel', [1, 1, 2, 1]],
      ['squeeze_excitation/conv2d/bias', '_se_reduce/bias', [1]],
      ['squeeze_excitation/conv2d_1/kernel', '_se_expand/kernel', [1, 1, 1, 2]],
      ['squeeze_excitation/conv2d_1/bias', '_se_expand/bias', [2]],
    ],
  );
  assignWeight(se, 'squeeze_excitation/conv2d/kernel', [0.4, -0.2]);
  assignWeight(se, 'squeeze_excitation/conv2d/bias', [0.1]);
  assignWeight(se, 'squeeze_excitation/conv2d_1/kernel', [2, -1]);
  assignWeight(se, 'squeeze_excitation/conv2d_1/bias', [0, 0.5]);
  // reduce: 0.4*2.5 - 0.2*0.5 + 0.1 = 1.0, relu -> 1.0
  // expand: gate0 = sigmoid(2) = 0.8807970779778823, gate1 = sigmoid(-0.5) = 0.3775406687981454
  const g0 = 0.8807970779778823;
  const g1 = 0.3775406687981454;
  const y = se.apply(x);
  assertClose(y.dataSync(), [1 * g0, -1 * g1, 2 * g0, 0, 3 * g0, 1 * g1, 4 * g0, 2 * g1], {
    atol: 1e-6,
  });
  assert.equal(se.countParams(), 7);
  tf.dispose([x, y]);
});

test('SqueezeExcitation options: divisibleBy, 3-D input, activations, bad input', () => {
  const se = new SqueezeExcitation({
    inFilters: 24,
    outFilters: 24,
    seRatio: 0.25,
    divisibleBy: 8,
  });
  assert.equal(se.numReducedFilters, 8); // int(6) -> make_divisible(6, 8) = 8
  const se3 = new SqueezeExcitation({
    inFilters: 4,
    outFilters: 4,
    seRatio: 0.25,
    use3dInput: true,
    activation: 'swish',
    gatingActivation: 'hard_sigmoid',
  });
  const x = tf.ones([2, 2, 3, 3, 4]);
  const y = se3.apply(x);
  assert.deepEqual(y.shape, [2, 2, 3, 3, 4]);
  assert.throws(() => se3.apply(tf.ones([2, 3, 3, 4])), /expected a rank-5 input with 4 channels/);
  assert.throws(
    () => new SqueezeExcitation({ inFilters: 4, outFilters: 4, seRatio: 0 }),
    /seRatio/,
  );
  tf.dispose([x, y]);
});
