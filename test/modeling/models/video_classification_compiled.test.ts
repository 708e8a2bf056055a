/**
 * A small R3D-RS (v1 stem, temporal kernels and a temporal stride, 3-D SE, self-gating, stochastic
 * depth, dropout) trains compiled (src/engine) with no eager fallback: one training forward
 * pass's losses and every gradient equal eager tfjs, and a step of the compiled step runner (SGD
 * momentum) equals an eager step (losses, logits, updated weights).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import type { CallArgs } from '../../../src/core/layer.js';
import { Rng, setGlobalSeed } from '../../../src/core/random.js';
import type { Batch, ForwardResult, InputPipeline, Task } from '../../../src/core/task.js';
import { EagerStepRunner } from '../../../src/core/eager_step.js';
import { compileFunction } from '../../../src/engine/compile.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';
import { softmaxCrossEntropy } from '../../../src/losses/classification.js';
import { modelL2Regularization } from '../../../src/losses/l2.js';
import {
  buildVideoClassificationModel,
  type VideoClassificationModel,
} from '../../../src/modeling/models/video_classification_model.js';
import { EmaState } from '../../../src/train/ema.js';
import { buildOptimizer, OptimizerState } from '../../../src/train/optimizers/index.js';
import { assertClose, assertTensorClose } from '../../helpers.js';
import { testOnEachBackend } from '../../engine/backends.js';

type VideoBatch = Batch & { images: tf.Tensor; labels: tf.Tensor };
/**
 * 8 frames of 32x32: after the stem (temporal stride 2) and group 3's temporal stride 2, the last
 * groups still normalise over 8+ values per channel. Smaller clips leave a training-mode batch
 * norm over 2 values, whose gradient is ill-conditioned enough that float32 rounding alone moves
 * it by percents.
 */
const CLIP = [8, 32, 32, 3];
/**
 * Gradients and updated weights agree to 2e-3 of each tensor's largest value: 16 blocks of
 * training-mode batch norm on a batch of 2 accumulate float32 rounding of 1e-4 to 1.1e-3 of scale
 * between two summation orders (measured), while a wrong lowering moves a gradient by its scale.
 */
const REL = 2e-3;

function assertCloseToScale(a: tf.Tensor, b: tf.Tensor, msg: string, floor = 1e-7): void {
  const want = b.dataSync();
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  assertClose(a.dataSync(), want, { rtol: 0, atol: REL * scale + floor, msg });
}
const NUM_CLASSES = 5;

const MODEL_CFG = {
  backbone: {
    type: 'resnet_3d_rs',
    resnet_3d_rs: {
      model_id: 50,
      stem_pool_temporal_stride: 1,
      se_ratio: 0.25,
      stochastic_depth_drop_rate: 0.2,
      block_filters: [2, 3, 4, 4],
      block_specs: [
        { temporal_kernel_sizes: [1], use_self_gating: true },
        { temporal_strides: 2, temporal_kernel_sizes: [3], use_self_gating: true },
        { temporal_kernel_sizes: [3], use_self_gating: true },
        { temporal_kernel_sizes: [1], use_self_gating: true },
      ],
    },
  },
  norm_activation: { norm_momentum: 0.9 },
  dropout_rate: 0.3,
};

class SmallVideoTask implements Task<VideoClassificationModel, VideoBatch, { logits: tf.Tensor }> {
  readonly type = 'r3d_compiled_test';

  buildModel(): VideoClassificationModel {
    return buildVideoClassificationModel(MODEL_CFG, NUM_CLASSES);
  }

  /** Clips ~ N(0, 1) and one-hot labels from `seed`. */
  batch(batchSize: number, seed = 1): VideoBatch {
    const rng = new Rng(seed);
    const shape = [batchSize, ...CLIP];
    const n = shape.reduce((a, b) => a * b, 1);
    const images = tf.tensor(
      Float32Array.from({ length: n }, () => rng.normal()),
      shape,
    );
    const ids = Int32Array.from({ length: batchSize }, () => rng.int(NUM_CLASSES));
    return { images, labels: tf.tidy(() => tf.cast(tf.oneHot(ids, NUM_CLASSES), 'float32')) };
  }

  dummyBatch(batchSize: number): VideoBatch {
    return this.batch(batchSize);
  }

  async buildInputs(): Promise<InputPipeline<VideoBatch>> {
    throw new Error('the test drives steps directly');
  }

  forward(
    model: VideoClassificationModel,
    batch: VideoBatch,
    args: CallArgs,
  ): ForwardResult<{ logits: tf.Tensor }> {
    const logits = model.apply(batch.images, args);
    const cls = tf.mean(softmaxCrossEntropy(logits, batch.labels, 0.1)) as tf.Scalar;
    const l2 = modelL2Regularization(model.weights(), 1e-4);
    return {
      losses: { total_loss: tf.add(cls, l2) as tf.Scalar, cls_loss: cls, l2_loss: l2 },
      outputs: { logits },
    };
  }

  buildMetrics(): [] {
    return [];
  }
}

function setup() {
  setGlobalSeed(3);
  const task = new SmallVideoTask();
  const model = task.buildModel();
  tf.tidy(() => void task.forward(model, task.batch(2), { training: false }));
  const optimizer = new OptimizerState(
    buildOptimizer({ type: 'sgd', sgd: { momentum: 0.9 } } as Parameters<typeof buildOptimizer>[0]),
  );
  optimizer.ensureSlots(
    model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable })),
  );
  const ema = new EmaState({ average_decay: 0.9 }, model.weights());
  return { task, model, optimizer, ema, rng: new Rng(11) };
}

testOnEachBackend('small R3D-RS: compiled losses and every gradient equal eager', async () => {
  const { task, model } = setup();
  const batch = task.batch(2, 7);
  const weights = model.trainableWeights();
  const inputs: Record<string, tf.Tensor> = { images: batch.images, labels: batch.labels };
  weights.forEach((w, i) => (inputs[`w${i}`] = w.variable));
  // Stochastic depth and dropout masks come from `stream`: equal streams for both runs.
  let stream = new Rng(1);
  const lossAndGrads = () => {
    let terms: tf.Tensor[] = [];
    const { grads } = tf.variableGrads(
      () => {
        const r = task.forward(model, batch, { training: true, stateUpdates: [], rng: stream });
        terms = [r.losses.total_loss, r.losses.cls_loss].map((t) => tf.keep(t));
        return r.losses.total_loss;
      },
      weights.map((w) => w.variable),
    );
    return [...terms, ...weights.map((w) => grads[w.variable.name])];
  };
  // compileFunction throws on any kernel without a lowering: compiling is the no-fallback check.
  const compiled = await compileFunction(inputs, lossAndGrads, { intraOpNumThreads: 1 });
  assert.ok(compiled.randomDraws >= 2, 'stochastic depth and dropout draw masks');
  const got = await compiled.run(inputs, new Rng(5));
  stream = new Rng(5);
  const want = lossAndGrads();
  assert.equal(got.length, 2 + weights.length);
  for (let i = 0; i < 2; i++) {
    assertClose(got[i].dataSync(), want[i].dataSync(), { rtol: 1e-4, atol: 0, msg: `loss ${i}` });
  }
  weights.forEach((w, i) => assertCloseToScale(got[2 + i], want[2 + i], `gradient of ${w.path}`));
  tf.dispose([...got, ...want, batch.images, batch.labels]);
  await compiled.dispose();
  model.dispose();
});

test('small R3D-RS: a compiled SGD step equals an eager step, with no eager fallback', async () => {
  await initBackend('cpu');
  const eagerParts = setup();
  const compiledParts = setup();
  const eager = new EagerStepRunner(eagerParts);
  const warnings: string[] = [];
  const compiled = createCompiledStepRunner(compiledParts, {
    intraOpNumThreads: 1,
    warn: (m) => warnings.push(m),
  });
  const batch = eagerParts.task.batch(2, 100);
  const e = await eager.trainStep(batch, 0.05, 1);
  const c = await compiled.trainStep(batch, 0.05, 1);
  for (const k of ['total_loss', 'cls_loss', 'l2_loss']) {
    assertClose([c.logs[k]], [e.logs[k]], { rtol: 1e-4, atol: 1e-7, msg: k });
  }
  assertTensorClose(c.outputs.logits, e.outputs.logits, 'logits');
  tf.dispose([c.outputs.logits, e.outputs.logits, batch.images, batch.labels]);
  assert.deepEqual(warnings, [], 'no eager fallback');
  assert.equal(compiled.modeFor('train', eagerParts.task.batch(2)), 'compiled');
  const wb = compiledParts.model.weights();
  eagerParts.model.weights().forEach((w, i) => {
    // Biases and betas start at 0, so after one step they are lr · update (an SE bias here moves by
    // about 3.5e-5): a floor of 1e-6 keeps their rounding from counting as a mismatch.
    assertCloseToScale(wb[i].variable, w.variable, `weight ${w.path}`, 1e-6);
  });
  compiled.dispose();
});

test('the compiled-step model config exercises SE, self-gating and stochastic depth', async () => {
  await initBackend('cpu');
  setGlobalSeed(3);
  const model = new SmallVideoTask().buildModel();
  tf.tidy(() => void model.apply(tf.zeros([1, ...CLIP])));
  const paths = model.weights().map((w) => w.objectPath);
  assert.ok(paths.some((p) => p.includes('/_squeeze_excitation/')));
  assert.ok(paths.some((p) => p.includes('/_self_gating/')));
  assert.ok(
    model.backbone.layers().some((l) => l.layers().some((c) => c.attr === '_stochastic_depth')),
  );
  model.dispose();
});
