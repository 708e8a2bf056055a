import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Adagrad, buildOptimizer } from '../../../src/train/optimizers/index.js';
import { assertClose } from '../../helpers.js';
import { adagradRef, runOurs, runRef, runTfjs } from './reference.js';

await tf.setBackend('cpu');

const constant = () => 0.1;

test('Adagrad matches the Keras formula and tf.train.adagrad (accumulator starts at 0.1)', () => {
  const opt = buildOptimizer({ type: 'adagrad' });
  assert.deepEqual(opt.slotNames('w'), ['accumulator']);
  assert.deepEqual(
    Array.from(opt.initSlot('accumulator', tf.zeros([2])).dataSync()),
    [0.10000000149011612, 0.10000000149011612],
  );
  const ours = runOurs(new Adagrad({ epsilon: 1e-12 }), 5, constant);
  const ref = runRef(adagradRef(0.1, 1e-12), 5, constant);
  ours.forEach((p, k) => assertClose(p, ref[k], { rtol: 2e-5, msg: `step ${k + 1}` }));
  // tfjs's adagrad adds the backend epsilon (1e-7) inside the root instead of a Keras epsilon
  // outside it; with accumulators >= 0.1 the two agree to about 1e-6 relative.
  const theirs = runTfjs(tf.train.adagrad(0.1, 0.1), 5);
  ours.forEach((p, k) =>
    assertClose(p, theirs[k], { rtol: 1e-4, atol: 1e-5, msg: `tfjs step ${k + 1}` }),
  );
});
