/**
 * Compiled steps (ONNX Runtime) against eager tfjs steps on a RetinaNet-style head: two feature
 * levels (8x8 and 4x4, 16 channels), shared class and box towers (2 conv + per-level batch norm +
 * swish), class logits (3 anchors x 4 classes) and box outputs (3 anchors x 4), Model Garden's
 * RetinaNet losses (focal α 0.25 γ 1.5 and Huber δ 0.1, both SUM and normalised by positives + 1,
 * box weight 50) against fixed random targets with ignored anchors (test/engine/models.ts).
 *
 *  - every loss term and every gradient of one training forward pass to 1e-4 relative;
 *  - 3 compiled SGD-momentum steps equal 3 eager steps: every step's loss terms, then the weights,
 *    slots, moving statistics and EMA shadows.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, setGlobalSeed } from '../../src/core/random.js';
import { compileFunction } from '../../src/engine/compile.js';
import { createCompiledStepRunner } from '../../src/engine/compiled_step.js';
import { EagerStepRunner } from '../../src/core/eager_step.js';
import { EmaState } from '../../src/train/ema.js';
import { buildOptimizer, OptimizerState } from '../../src/train/optimizers/index.js';
import { assertClose, assertTensorClose } from '../helpers.js';
import { testOnEachBackend } from './backends.js';
import { HeadTask } from './models.js';

const TOWER_BIAS = /(classnet|boxnet)-conv_\d+\/bias$/;
const LOSS_TERMS = ['total_loss', 'cls_loss', 'box_loss', 'model_loss', 'l2_loss'];

function setup() {
  setGlobalSeed(3);
  const task = new HeadTask();
  const model = task.buildModel();
  tf.tidy(() => void task.forward(model, task.batch(2), { training: false }));
  const opt = new OptimizerState(buildOptimizer({ type: 'sgd', sgd: { momentum: 0.9 } }));
  opt.ensureSlots(model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable })));
  const ema = new EmaState({ average_decay: 0.9 }, model.weights());
  return { task, model, optimizer: opt, ema, rng: new Rng(11) };
}

testOnEachBackend('RetinaNet head: every loss term and gradient equals eager', async () => {
  const { task, model } = setup();
  const batch = task.batch(2, 5);
  // The targets exercise every branch: positives, background and ignored anchors.
  const cls = batch.cls_targets.dataSync();
  assert.ok(cls.some((c) => c >= 0) && cls.includes(-1) && cls.includes(-2));
  const weights = model.trainableWeights();
  // 2 towers x 2 convs (kernel, bias) + 2 levels x 2 towers x 2 norms (gamma, beta) + 2 outputs.
  assert.equal(weights.length, 2 * 2 * 2 + 2 * 2 * 2 * 2 + 2 * 2);
  const inputs: Record<string, tf.Tensor> = { ...batch };
  weights.forEach((w, i) => (inputs[`w${i}`] = w.variable));
  const lossAndGrads = () => {
    let terms: tf.Tensor[] = [];
    const { grads } = tf.variableGrads(
      () => {
        const r = task.forward(model, batch, { training: true, stateUpdates: [] });
        terms = LOSS_TERMS.map((k) => tf.keep(r.losses[k]));
        return r.losses.total_loss;
      },
      weights.map((w) => w.variable),
    );
    return [...terms, ...weights.map((w) => grads[w.variable.name])];
  };
  const compiled = await compileFunction(inputs, lossAndGrads, { intraOpNumThreads: 1 });
  assert.equal(compiled.randomDraws, 0);
  const got = await compiled.run(inputs);
  const want = lossAndGrads();
  assert.equal(got.length, LOSS_TERMS.length + weights.length);
  LOSS_TERMS.forEach((name, i) => {
    assert.ok(Math.abs(want[i].dataSync()[0]) > 1e-3, `${name} is not trivially small`);
    assertClose(got[i].dataSync(), want[i].dataSync(), { rtol: 1e-4, atol: 0, msg: name });
  });
  weights.forEach((w, i) => {
    const g = want[LOSS_TERMS.length + i];
    // A tower conv's bias feeds a training-mode batch norm, which removes any constant shift:
    // its gradient is zero up to rounding. Every other gradient must be well above that.
    if (TOWER_BIAS.test(w.path)) {
      const kernel = weights.findIndex((v) => v.path === w.path.replace(/bias$/, 'kernel'));
      const scale = tf.max(tf.abs(want[LOSS_TERMS.length + kernel])).dataSync()[0];
      assertClose(got[LOSS_TERMS.length + i].dataSync(), new Float32Array(g.size), {
        rtol: 0,
        atol: 1e-4 * scale,
        msg: `gradient of ${w.path} (zero up to rounding)`,
      });
      assertClose(g.dataSync(), new Float32Array(g.size), { rtol: 0, atol: 1e-4 * scale });
      return;
    }
    assert.ok(tf.max(tf.abs(g)).dataSync()[0] > 1e-5, `gradient of ${w.path} is not ~0`);
    assertTensorClose(got[LOSS_TERMS.length + i], g, `gradient of ${w.path}`);
  });
  tf.dispose([...got, ...want]);
  await compiled.dispose();
});

testOnEachBackend(
  'RetinaNet head, sgd momentum: 3 compiled steps equal 3 eager steps',
  async () => {
    const eagerParts = setup();
    const compiledParts = setup();
    const eager = new EagerStepRunner(eagerParts);
    const warnings: string[] = [];
    const compiled = createCompiledStepRunner(compiledParts, {
      intraOpNumThreads: 1,
      warn: (m) => warnings.push(m),
    });
    for (let step = 1; step <= 3; step++) {
      const batch = eagerParts.task.batch(2, 100 + step);
      const e = await eager.trainStep(batch, 0.01, step);
      const c = await compiled.trainStep(batch, 0.01, step);
      for (const k of LOSS_TERMS) {
        assertClose([c.logs[k]], [e.logs[k]], { rtol: 1e-4, atol: 1e-7, msg: `step ${step} ${k}` });
      }
      assertTensorClose(c.outputs.cls_outputs, e.outputs.cls_outputs, `step ${step} cls_outputs`);
      assertTensorClose(c.outputs.box_outputs, e.outputs.box_outputs, `step ${step} box_outputs`);
      tf.dispose([c.outputs, e.outputs, batch] as unknown as tf.Tensor[]);
    }
    assert.deepEqual(warnings, []);
    assert.equal(compiled.modeFor('train', eagerParts.task.batch(2)), 'compiled');
    const wa = eagerParts.model.weights();
    const wb = compiledParts.model.weights();
    assert.ok(
      wa.some((w) => /moving_variance/.test(w.path)),
      'moving statistics are compared',
    );
    wa.forEach((w, i) => assertTensorClose(wb[i].variable, w.variable, `weight ${w.path}`));
    const sa = eagerParts.optimizer.slotVariables();
    const sb = compiledParts.optimizer.slotVariables();
    assert.ok(sa.length > 0);
    sa.forEach((s, i) => assertTensorClose(sb[i].variable, s.variable, `slot ${s.name}`));
    const ea = eagerParts.ema.variables();
    const eb = compiledParts.ema.variables();
    ea.forEach((s, i) => assertTensorClose(eb[i].variable, s.variable, `ema ${s.name}`));
    const evalBatch = eagerParts.task.batch(2, 999);
    const ee = await eager.evalStep(evalBatch);
    const ce = await compiled.evalStep(evalBatch);
    for (const k of LOSS_TERMS) {
      assertClose([ce.logs[k]], [ee.logs[k]], { rtol: 1e-4, atol: 1e-7, msg: `eval ${k}` });
    }
    compiled.dispose();
  },
);
