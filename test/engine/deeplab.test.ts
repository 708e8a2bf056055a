/**
 * DeepLab trains compiled: small DeepLabV3+ models built by `buildSegmentationModel` (dilated
 * ResNet at output stride 16 / 8 with multigrid, ASPP with atrous rates and image pooling, the
 * V3+ fusion head) give, compiled, every loss and gradient of a training pass equal to eager
 * (wasm), and train two SGD-momentum steps through the compiled step runner with no eager
 * fallback (any warning fails the test). The loss is the per-pixel softmax cross-entropy of the
 * logits bilinearly resized to the labels (as Model Garden's segmentation loss resizes them) + l2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import type { CallArgs } from '../../src/core/layer.js';
import { Rng, setGlobalSeed } from '../../src/core/random.js';
import type { Batch, ForwardResult, InputPipeline, Task } from '../../src/core/task.js';
import { EagerStepRunner } from '../../src/core/eager_step.js';
import { compileFunction } from '../../src/engine/compile.js';
import { createCompiledStepRunner } from '../../src/engine/compiled_step.js';
import { Trace } from '../../src/engine/trace.js';
import { softmaxCrossEntropy } from '../../src/losses/classification.js';
import { modelL2Regularization } from '../../src/losses/l2.js';
import { resizeBilinearTf2 } from '../../src/modeling/layers/deeplab.js';
import {
  buildSegmentationModel,
  type SegmentationModel,
} from '../../src/modeling/models/segmentation_model.js';
import { EmaState } from '../../src/train/ema.js';
import { buildOptimizer, OptimizerState } from '../../src/train/optimizers/index.js';
import { assertClose } from '../helpers.js';

const SIZE = 32;
const NUM_CLASSES = 4;

type SegBatch = Batch & { images: tf.Tensor; labels: tf.Tensor };

/** Tiny widths: the four block groups have 2, 3, 4, 4 filters (8..16 output channels). */
const BLOCK_SPECS = [
  ['bottleneck', 2, 2],
  ['bottleneck', 3, 1],
  ['bottleneck', 4, 2],
  ['bottleneck', 4, 3],
];

/** seg_deeplabv3plus_pascal's model, narrowed; `extra` is laid over it. */
const V3PLUS = {
  num_classes: NUM_CLASSES,
  backbone: {
    type: 'dilated_resnet',
    dilated_resnet: {
      model_id: 50,
      output_stride: 16,
      multigrid: [1, 2, 4],
      stem_type: 'v1',
      block_specs: BLOCK_SPECS,
    },
  },
  decoder: {
    type: 'aspp',
    aspp: { level: 4, dilation_rates: [2, 3], num_filters: 6, dropout_rate: 0.1 },
  },
  head: {
    level: 4,
    num_convs: 1,
    num_filters: 6,
    feature_fusion: 'deeplabv3plus',
    low_level: 2,
    low_level_num_filters: 5,
  },
  norm_activation: { activation: 'swish', norm_momentum: 0.9, norm_epsilon: 1e-3 },
};

class SegTask implements Task<SegmentationModel, SegBatch, { logits: tf.Tensor }> {
  readonly type = 'engine_test_deeplab';
  constructor(private readonly modelCfg: object) {}

  buildModel(): SegmentationModel {
    return buildSegmentationModel(this.modelCfg as never);
  }

  batch(batchSize: number, seed = 1): SegBatch {
    const rng = new Rng(seed);
    const n = batchSize * SIZE * SIZE;
    const images = tf.tensor(
      Float32Array.from({ length: n * 3 }, () => rng.normal()),
      [batchSize, SIZE, SIZE, 3],
    );
    const ids = tf.tensor(
      Int32Array.from({ length: n }, () => rng.int(NUM_CLASSES)),
      [batchSize, SIZE, SIZE],
      'int32',
    );
    const labels = tf.cast(tf.oneHot(ids, NUM_CLASSES), 'float32');
    ids.dispose();
    return { images, labels };
  }

  dummyBatch(batchSize: number): SegBatch {
    return this.batch(batchSize);
  }

  async buildInputs(): Promise<InputPipeline<SegBatch>> {
    throw new Error('the engine test drives steps directly');
  }

  forward(model: SegmentationModel, batch: SegBatch, args: CallArgs) {
    const logits = model.apply(batch.images, args);
    const resized = resizeBilinearTf2(logits, [SIZE, SIZE]);
    const cls = tf.mean(softmaxCrossEntropy(resized, batch.labels)) as tf.Scalar;
    const l2 = modelL2Regularization(model.weights(), 1e-4);
    const result: ForwardResult<{ logits: tf.Tensor }> = {
      losses: { total_loss: tf.add(cls, l2) as tf.Scalar, cls_loss: cls, l2_loss: l2 },
      outputs: { logits },
    };
    return result;
  }

  buildMetrics(): [] {
    return [];
  }
}

function setup(cfg: object) {
  setGlobalSeed(7);
  const task = new SegTask(cfg);
  const model = task.buildModel();
  tf.tidy(() => void task.forward(model, task.batch(2), { training: false }));
  const optimizer = new OptimizerState(buildOptimizer({ type: 'sgd', sgd: { momentum: 0.9 } }));
  optimizer.ensureSlots(
    model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable })),
  );
  const ema = new EmaState({ average_decay: 0.9 }, model.weights());
  return { task, model, optimizer, ema, rng: new Rng(11) };
}

/** The dilation of every traced 2-D (depthwise) convolution of one eager forward pass. */
function tracedDilations(task: SegTask, model: SegmentationModel): number[] {
  const trace = new Trace();
  tf.tidy(() => {
    trace.run(() => task.forward(model, task.batch(2), { training: false }));
  });
  return trace.calls
    .filter((c) => c.kernelName === 'Conv2D' || c.kernelName === 'DepthwiseConv2dNative')
    .map((c) => (c.attrs.dilations as number[] | number | undefined) ?? 1)
    .map((d) => (Array.isArray(d) ? d[0] : d))
    .filter((d) => d > 1);
}

/**
 * Compiled loss and gradients of one training pass equal eager wasm, each gradient to 3e-4 of its
 * largest entry: float32 rounding alone parts eager tfjs-cpu from eager wasm by 2.2e-4 of scale on
 * the OS-16 model's pass (batch-norm gammas, whose gradients sum products that cancel); the
 * compiled pass stayed within 9.6e-5 there and 6.5e-5 on the variants (measured once).
 */
async function assertGradientsMatch(task: SegTask, model: SegmentationModel): Promise<void> {
  const batch = task.batch(2, 3);
  const weights = model.trainableWeights();
  const inputs: Record<string, tf.Tensor> = { images: batch.images, labels: batch.labels };
  weights.forEach((w, i) => (inputs[`w${i}`] = w.variable));
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
  const fn = await compileFunction(inputs, lossAndGrads, { intraOpNumThreads: 1 });
  const got = await fn.run(inputs, new Rng(5));
  stream = new Rng(5);
  const want = lossAndGrads();
  assertClose(got[0].dataSync(), want[0].dataSync(), { rtol: 1e-4, atol: 0, msg: 'total_loss' });
  assertClose(got[1].dataSync(), want[1].dataSync(), { rtol: 1e-4, atol: 0, msg: 'cls_loss' });
  weights.forEach((w, i) => {
    const reference = want[2 + i].dataSync();
    let scale = 0;
    for (const v of reference) scale = Math.max(scale, Math.abs(v));
    assert.ok(scale > 0, `gradient of ${w.path} is zero`);
    assertClose(got[2 + i].dataSync(), reference, {
      rtol: 0,
      atol: 3e-4 * scale,
      msg: `gradient of ${w.path}`,
    });
  });
  tf.dispose([...got, ...want, batch.images, batch.labels]);
  await fn.dispose();
}

test('DeepLabV3+ (dilated ResNet OS 16, multigrid, ASPP + image pooling): compiled gradients equal eager; compiled steps, no eager fallback', async () => {
  await initBackend('wasm');
  const eagerParts = setup(V3PLUS);
  const compiledParts = setup(V3PLUS);
  const { task, model } = compiledParts;
  // Last stage 2·[1, 2, 4]; ASPP 2, 3 (each a 3×3 conv).
  assert.deepEqual(tracedDilations(task, model), [2, 4, 8, 2, 3]);
  await assertGradientsMatch(task, model);

  const eager = new EagerStepRunner(eagerParts);
  const warnings: string[] = [];
  const compiled = createCompiledStepRunner(compiledParts, {
    intraOpNumThreads: 1,
    warn: (m) => warnings.push(m),
  });
  for (let step = 1; step <= 2; step++) {
    const b = task.batch(2, 100 + step);
    const e = await eager.trainStep(b, 0.01, step);
    const c = await compiled.trainStep(b, 0.01, step);
    assert.deepEqual(warnings, [], 'no eager fallback');
    for (const k of ['total_loss', 'cls_loss', 'l2_loss']) {
      assertClose([c.logs[k]], [e.logs[k]], { rtol: 1e-4, atol: 1e-7, msg: `step ${step} ${k}` });
    }
    tf.dispose([c.outputs.logits, e.outputs.logits, b.images, b.labels]);
  }
  const probe = task.batch(2);
  assert.equal(compiled.modeFor('train', probe), 'compiled');
  tf.dispose([probe.images, probe.labels]);
  compiled.dispose();
  eagerParts.model.dispose();
  model.dispose();
});

test('DeepLab variants (OS 8, separable ASPP with a pooling window, sum-to-merge fusion, upsampling): compiled gradients equal eager', async () => {
  await initBackend('wasm');
  const cfg = {
    ...V3PLUS,
    backbone: {
      type: 'dilated_resnet',
      dilated_resnet: { ...V3PLUS.backbone.dilated_resnet, output_stride: 8 },
    },
    decoder: {
      type: 'aspp',
      aspp: {
        level: 3,
        dilation_rates: [2],
        num_filters: 5,
        use_depthwise_convolution: true,
        // 16 input pixels / 2^3 = a 2×2 window on the 4×4 level-3 map → 2×2, resized back.
        pool_kernel_size: [16, 16],
      },
    },
    head: {
      level: 3,
      num_convs: 1,
      num_filters: 5,
      use_depthwise_convolution: true,
      feature_fusion: 'deeplabv3plus_sum_to_merge',
      low_level: 2,
      low_level_num_filters: 5,
      upsample_factor: 2,
    },
  };
  const { task, model } = setup(cfg);
  // OS 8: group 2 at dilation 2, group 3 at 4·[1, 2, 4]; the ASPP depthwise conv at 2.
  assert.deepEqual(tracedDilations(task, model), [2, 2, 4, 8, 16, 2]);
  const out = tf.tidy(() => model.apply(task.batch(1).images, { training: false }).shape);
  assert.deepEqual(out, [1, SIZE / 2, SIZE / 2, NUM_CLASSES]);
  await assertGradientsMatch(task, model);
  model.dispose();
});
