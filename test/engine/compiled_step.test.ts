/**
 * Compiled steps (ONNX Runtime) against eager tfjs-cpu steps (src/core/eager_step.ts, the
 * reference) on four blocks: a ResNet bottleneck, an SE + depthwise block, a ViT encoder block and
 * a Conv3D block, each with batch norm or layer norm, dropout, softmax cross-entropy and l2.
 *
 *  - every loss and every gradient of one step to 1e-4 relative;
 *  - 20 optimizer steps (SGD momentum, AdamW) with EMA: every step's losses, and the final
 *    weights, slots, moving statistics and EMA shadows, to 1e-4 relative to each tensor's scale;
 *  - a kernel without a lowering: one warning naming it, eager fallback with eager results.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, setGlobalSeed } from '../../src/core/random.js';
import { compileFunction } from '../../src/engine/compile.js';
import { createCompiledStepRunner } from '../../src/engine/compiled_step.js';
import { registerKernelLowering } from '../../src/engine/kernels/index.js';
import { EagerStepRunner } from '../../src/core/eager_step.js';
import { EmaState } from '../../src/train/ema.js';
import { buildOptimizer, OptimizerState } from '../../src/train/optimizers/index.js';
import { assertClose, assertTensorClose } from '../helpers.js';
import { testOnEachBackend } from './backends.js';
import { BlockTask, type ModelKind } from './models.js';

const KINDS: ModelKind[] = ['bottleneck', 'se_depthwise', 'vit', 'conv3d'];

/** A task, its built model, optimizer state with slots, EMA and a step stream. */
function setup(kind: ModelKind, optimizer: 'sgd' | 'adamw') {
  setGlobalSeed(7);
  const task = new BlockTask(kind);
  const model = task.buildModel();
  tf.tidy(() => {
    task.forward(model, task.batch(4), { training: false });
  });
  const cfg =
    optimizer === 'sgd'
      ? { type: 'sgd', sgd: { momentum: 0.9 } }
      : { type: 'adamw', adamw: { weight_decay_rate: 0.01, gradient_clip_norm: 1.0 } };
  const opt = new OptimizerState(buildOptimizer(cfg as Parameters<typeof buildOptimizer>[0]));
  opt.ensureSlots(model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable })));
  const ema = new EmaState({ average_decay: 0.9 }, model.weights());
  return { task, model, optimizer: opt, ema, rng: new Rng(11) };
}

for (const kind of KINDS) {
  testOnEachBackend(
    `${kind}: every loss and gradient of a training forward pass equals eager`,
    async () => {
      const { task, model } = setup(kind, 'sgd');
      const batch = task.batch(4, 3);
      const weights = model.trainableWeights();
      const inputs: Record<string, tf.Tensor> = { images: batch.images, labels: batch.labels };
      weights.forEach((w, i) => (inputs[`w${i}`] = w.variable));
      // Dropout masks come from `stream`: the trace draws from one stream, the eager reference and
      // the compiled run from two equal ones.
      let stream = new Rng(1);
      const lossAndGrads = () => {
        let terms: tf.Tensor[] = [];
        const { grads } = tf.variableGrads(
          () => {
            const r = task.forward(model, batch, { training: true, stateUpdates: [], rng: stream });
            terms = [r.losses.total_loss, r.losses.cls_loss, r.losses.l2_loss].map((t) =>
              tf.keep(t),
            );
            return r.losses.total_loss;
          },
          weights.map((w) => w.variable),
        );
        return [...terms, ...weights.map((w) => grads[w.variable.name])];
      };
      const compiled = await compileFunction(inputs, lossAndGrads, { intraOpNumThreads: 1 });
      assert.ok(compiled.randomDraws >= 1, 'the classifier dropout draws a mask');
      const got = await compiled.run(inputs, new Rng(5));
      stream = new Rng(5);
      const want = lossAndGrads();
      assert.equal(got.length, 3 + weights.length);
      for (let i = 0; i < 3; i++) {
        assertClose(got[i].dataSync(), want[i].dataSync(), {
          rtol: 1e-4,
          atol: 0,
          msg: `loss ${i}`,
        });
      }
      weights.forEach((w, i) =>
        assertTensorClose(got[3 + i], want[3 + i], `gradient of ${w.path}`),
      );
      tf.dispose([...got, ...want]);
      await compiled.dispose();
    },
  );
}

/**
 * The key bias of dot-product attention has an identically zero gradient (it shifts every score
 * of a query by the same amount, which softmax ignores); under Adam its update is the ratio of
 * two rounding noises, so it is compared only where the optimizer does not amplify noise (SGD).
 */
const NOISE_ONLY = /multi_head_attention\/key\/bias$/;

for (const optimizer of ['sgd', 'adamw'] as const) {
  for (const kind of KINDS) {
    testOnEachBackend(`${kind}, ${optimizer}: 20 compiled steps equal 20 eager steps`, async () => {
      const eagerParts = setup(kind, optimizer);
      const compiledParts = setup(kind, optimizer);
      const eager = new EagerStepRunner(eagerParts);
      const warnings: string[] = [];
      const compiled = createCompiledStepRunner(compiledParts, {
        intraOpNumThreads: 1,
        warn: (m) => warnings.push(m),
      });
      for (let step = 1; step <= 20; step++) {
        const batch = eagerParts.task.batch(4, 100 + step);
        const lr = 0.05 * (1 - step / 40);
        const e = await eager.trainStep(batch, lr, step);
        const c = await compiled.trainStep(batch, lr, step);
        for (const k of ['total_loss', 'cls_loss', 'l2_loss']) {
          assertClose([c.logs[k]], [e.logs[k]], {
            rtol: 1e-4,
            atol: 1e-7,
            msg: `step ${step} ${k}`,
          });
        }
        assertTensorClose(c.outputs.logits, e.outputs.logits, `step ${step} logits`);
        tf.dispose([c.outputs.logits, e.outputs.logits, batch.images, batch.labels]);
      }
      assert.deepEqual(warnings, []);
      assert.equal(compiled.modeFor('train', eagerParts.task.batch(4)), 'compiled');
      const skip = (name: string) => optimizer === 'adamw' && NOISE_ONLY.test(name);
      const wa = eagerParts.model.weights();
      const wb = compiledParts.model.weights();
      wa.forEach((w, i) => {
        if (!skip(w.path)) assertTensorClose(wb[i].variable, w.variable, `weight ${w.path}`);
      });
      const sa = eagerParts.optimizer.slotVariables();
      const sb = compiledParts.optimizer.slotVariables();
      assert.ok(sa.length > 0);
      sa.forEach((s, i) => {
        if (!skip(s.name)) assertTensorClose(sb[i].variable, s.variable, `slot ${s.name}`);
      });
      const ea = eagerParts.ema.variables();
      const eb = compiledParts.ema.variables();
      ea.forEach((s, i) => {
        if (!skip(s.name)) assertTensorClose(eb[i].variable, s.variable, `ema ${s.name}`);
      });
      // Both runs consumed the same random numbers (dropout masks drawn from the step stream).
      assert.deepEqual(compiledParts.rng.getState(), eagerParts.rng.getState());
      const evalBatch = eagerParts.task.batch(4, 999);
      const ee = await eager.evalStep(evalBatch);
      const ce = await compiled.evalStep(evalBatch);
      assertClose([ce.logs.total_loss], [ee.logs.total_loss], { rtol: 1e-4, msg: 'eval loss' });
      compiled.dispose();
    });
  }
}

testOnEachBackend(
  'a kernel without a lowering: one warning naming it, then eager steps with eager results',
  async () => {
    const previous = registerKernelLowering('Relu', undefined);
    try {
      const eagerParts = setup('bottleneck', 'sgd');
      const compiledParts = setup('bottleneck', 'sgd');
      const eager = new EagerStepRunner(eagerParts);
      const warnings: string[] = [];
      const runner = createCompiledStepRunner(compiledParts, {
        fallback: 'warn',
        warn: (m) => warnings.push(m),
      });
      for (let step = 1; step <= 3; step++) {
        const batch = eagerParts.task.batch(4, step);
        const e = await eager.trainStep(batch, 0.1, step);
        const c = await runner.trainStep(batch, 0.1, step);
        assert.equal(c.logs.total_loss, e.logs.total_loss);
        tf.dispose([e.outputs.logits, c.outputs.logits]);
      }
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /Relu/);
      assert.match(warnings[0], /eager/);
      assert.equal(runner.modeFor('train', eagerParts.task.batch(4)), 'eager');
      eagerParts.model.weights().forEach((w, i) => {
        assert.deepEqual(
          compiledParts.model.weights()[i].variable.dataSync(),
          w.variable.dataSync(),
          w.path,
        );
      });
    } finally {
      registerKernelLowering('Relu', previous);
    }
  },
);

testOnEachBackend('evaluation reuses fed weights only while they are unchanged', async () => {
  const parts = setup('bottleneck', 'sgd');
  const runner = createCompiledStepRunner(parts);
  const eagerParts = setup('bottleneck', 'sgd');
  const eager = new EagerStepRunner(eagerParts);
  const evalBatch = parts.task.batch(4, 5);
  const logits = async (r: typeof runner | typeof eager) => {
    const out = await r.evalStep(evalBatch);
    const v = Array.from(out.outputs.logits.dataSync());
    out.outputs.logits.dispose();
    return v;
  };
  const first = await logits(runner);
  assert.deepEqual(await logits(runner), first, 'a second eval step gives the same logits');
  // Change one weight: the next eval step must see it (as eager does).
  for (const r of [parts, eagerParts]) {
    const w = r.model.trainableWeights()[0].variable;
    w.assign(tf.tidy(() => tf.mul(w, tf.scalar(1.5))));
  }
  const changed = await logits(runner);
  assert.notDeepEqual(changed, first);
  assertClose(changed, await logits(eager), { rtol: 1e-4, atol: 1e-5 });
});
