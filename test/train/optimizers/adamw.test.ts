import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdamWeightDecay, buildOptimizer } from '../../../src/train/optimizers/index.js';
import { assertClose } from '../../helpers.js';
import { adamwRef, runOurs, runRef } from './reference.js';

await tf.setBackend('cpu');

const lr = (t: number) => 0.02 * t;

test('decoupled weight decay with the scheduled lr plus the Keras Adam step, 5 steps', () => {
  const cfg = { weight_decay_rate: 0.1, epsilon: 1e-3, gradient_clip_norm: 0 };
  const ours = runOurs(new AdamWeightDecay(cfg), 5, lr);
  const ref = runRef(adamwRef(0.9, 0.999, 1e-3, 0.1, true), 5, lr);
  ours.forEach((p, k) => assertClose(p, ref[k], { rtol: 2e-5, msg: `step ${k + 1}` }));
});

test('excluded weights get no decay; include patterns win over exclude patterns', () => {
  const cfg = {
    weight_decay_rate: 0.1,
    epsilon: 1e-3,
    gradient_clip_norm: 0,
    exclude_from_weight_decay: ['bias', 'batch_normalization'],
    include_in_weight_decay: ['special_bias'],
  };
  const opt = new AdamWeightDecay(cfg);
  assert.equal(opt.usesWeightDecay('model/dense/kernel'), true);
  assert.equal(opt.usesWeightDecay('model/dense/bias'), false);
  assert.equal(opt.usesWeightDecay('model/batch_normalization/gamma'), false);
  assert.equal(opt.usesWeightDecay('model/dense/special_bias'), true);
  // MG matches var.name, which ends in ':0'.
  assert.equal(
    new AdamWeightDecay({
      weight_decay_rate: 0.1,
      exclude_from_weight_decay: [':0$'],
    }).usesWeightDecay('a/b'),
    false,
  );
  const excluded = runOurs(opt, 4, lr, 'model/dense/bias');
  const ref = runRef(adamwRef(0.9, 0.999, 1e-3, 0.1, false), 4, lr);
  excluded.forEach((p, k) => assertClose(p, ref[k], { rtol: 2e-5, msg: `bias step ${k + 1}` }));
  // Zero rate: no weight decays at all.
  assert.equal(new AdamWeightDecay({}).usesWeightDecay('model/dense/kernel'), false);
});

test("a bare-string pattern field is its characters, searched in order (MG's legacy AdamWeightDecay)", () => {
  // Python's `for r in '.*(kernel|weight):0$'` gives '.', '*', '(', ...: re.search('.', name)
  // matches any non-empty name, so every weight decays, biases and norms included.
  const vit = new AdamWeightDecay({
    weight_decay_rate: 0.05,
    include_in_weight_decay: '.*(kernel|weight):0$',
    exclude_from_weight_decay: ['bias'],
  });
  for (const path of ['vit/dense/kernel', 'vit/dense/bias', 'vit/layer_norm/gamma']) {
    assert.equal(vit.usesWeightDecay(path), true, path);
  }
  // An exclude string 'qz': a name containing 'q' or 'z' is excluded, any other decays.
  const ex = new AdamWeightDecay({ weight_decay_rate: 0.1, exclude_from_weight_decay: 'qz' });
  assert.equal(ex.usesWeightDecay('model/squeeze/kernel'), false);
  assert.equal(ex.usesWeightDecay('model/dense/kernel'), true);
  // Characters are patterns only when reached: 'b(' excludes 'b' names; others reach '(' and
  // fail, as re.search('(') raises in Model Garden.
  const bad = new AdamWeightDecay({ weight_decay_rate: 0.1, exclude_from_weight_decay: 'b(' });
  assert.equal(bad.usesWeightDecay('model/dense/bias'), false);
  assert.throws(
    () => bad.usesWeightDecay('model/dense/kernel'),
    /optimizer\.adamw\.exclude_from_weight_decay \(a string: its character 1 is a pattern/,
  );
});

test('gradient_clip_norm (default 1.0) clips by global norm before the update', () => {
  const opt = buildOptimizer({ type: 'adamw', adamw: {} });
  const [a, b] = tf.tidy(() => opt.transformGradients([tf.tensor1d([3, 0]), tf.tensor1d([0, 4])]));
  // Global norm 5 → scale 1/5.
  assertClose(a.dataSync(), [0.6, 0]);
  assertClose(b.dataSync(), [0, 0.8]);
  const off = new AdamWeightDecay({ gradient_clip_norm: 0 });
  const g = tf.tensor1d([3, 4]);
  assertClose(off.transformGradients([g])[0].dataSync(), [3, 4]);
});

test('invalid regex in a pattern list names the field', () => {
  assert.throws(
    () => new AdamWeightDecay({ exclude_from_weight_decay: ['(unclosed'] }),
    /optimizer\.adamw\.exclude_from_weight_decay: invalid regular expression/,
  );
});
