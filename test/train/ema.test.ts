import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { emaDecay, emaUpdate, resolveEmaConfig } from '../../src/core/step_parts.js';
import { EmaState } from '../../src/train/ema.js';
import { assertClose } from '../helpers.js';

await tf.setBackend('cpu');

test('dynamic decay = min(average_decay, (1+t)/(10+t)) with t = step − start_step', () => {
  const cfg = {}; // MG defaults: average_decay 0.99, start_step 0, dynamic_decay true
  assertClose([emaDecay(cfg, 1)], [2 / 11]);
  assertClose([emaDecay(cfg, 89)], [90 / 99]);
  assertClose([emaDecay(cfg, 1000)], [0.99]);
  const delayed = { start_step: 10, average_decay: 0.9 };
  assert.equal(emaDecay(delayed, 9), 0);
  assertClose([emaDecay(delayed, 10)], [0.1]);
  assertClose([emaDecay(delayed, 12)], [3 / 12]);
  assertClose([emaDecay(delayed, 500)], [0.9]);
  assert.equal(emaDecay({ dynamic_decay: false, average_decay: 0.95 }, 1), 0.95);
  const d = resolveEmaConfig(null);
  assert.deepEqual(
    [d.trainable_weights_only, d.average_decay, d.start_step, d.dynamic_decay],
    [true, 0.99, 0, true],
  );
});

test('emaUpdate = average − (1 − decay)(average − value)', () => {
  assertClose(emaUpdate(tf.tensor1d([1, 2]), tf.tensor1d([3, -2]), 0.75).dataSync(), [1.5, 1]);
});

test('EmaState: averages start at zero (MG slot), update, swap in and out', () => {
  const w = tf.variable(tf.tensor1d([2, 4]));
  const ema = new EmaState({}, [{ path: 'net/dense/kernel', variable: w }]);
  const [avg] = ema.variables();
  assert.equal(avg.name, 'net/dense/kernel');
  assertClose(avg.variable.dataSync(), [0, 0]);
  ema.update(1); // decay 2/11: avg = 9/11 · w
  assertClose(avg.variable.dataSync(), [18 / 11, 36 / 11]);
  w.assign(tf.tensor1d([1, 1]));
  ema.update(2); // decay 3/12: avg = 0.25·avg + 0.75·w
  const expected = [0.25 * (18 / 11) + 0.75, 0.25 * (36 / 11) + 0.75];
  assertClose(avg.variable.dataSync(), expected);
  ema.swapIn();
  assertClose(w.dataSync(), expected);
  assert.throws(() => ema.swapIn(), /swapIn\(\) called twice/);
  assert.throws(() => ema.update(3), /swapped in/);
  ema.swapOut();
  assertClose(w.dataSync(), [1, 1]);
  assertClose(ema.variables()[0].variable.dataSync(), expected);
  ema.dispose();
  w.dispose();
});

test('before start_step the average copies the weight; memory is flat', () => {
  const w = tf.variable(tf.tensor1d([5, -1]));
  const ema = new EmaState({ start_step: 3, dynamic_decay: false, average_decay: 0.5 }, [
    { path: 'w', variable: w },
  ]);
  ema.update(1);
  assertClose(ema.variables()[0].variable.dataSync(), [5, -1]);
  ema.update(2);
  w.assign(tf.tensor1d([1, 1]));
  const before = tf.memory().numTensors;
  for (let t = 3; t < 20; t++) {
    ema.update(t);
    ema.swapIn();
    ema.swapOut();
  }
  assert.equal(tf.memory().numTensors, before);
  ema.dispose();
  w.dispose();
});
