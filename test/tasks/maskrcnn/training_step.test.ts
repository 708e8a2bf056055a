/**
 * The Mask R-CNN training forward (RoI generator at training settings, ROI sampler drawing from
 * the step's stream, box targets, mask sampler and targets, MG's losses) runs as one compiled ONNX
 * training step with no eager fallback, equal to eager tfjs steps on the same backend (losses each
 * step, then the weights); and a few steps on one batch make the losses fall.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { CallArgs } from '../../../src/core/layer.js';
import { Rng, setGlobalSeed } from '../../../src/core/random.js';
import type { ForwardResult, InputPipeline, Task } from '../../../src/core/task.js';
import { EagerStepRunner } from '../../../src/core/eager_step.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';
import { l2Regularization } from '../../../src/losses/l2.js';
import { buildBackbone } from '../../../src/modeling/backbones/factory.js';
import { buildDecoder } from '../../../src/modeling/decoders/factory.js';
import {
  buildMaskRCNN,
  type MaskRCNNModel,
  type MaskRCNNModelConfig,
  type MaskRCNNOutputs,
} from '../../../src/modeling/models/maskrcnn_model.js';
import { maskrcnnModelConfig } from '../../../src/tasks/maskrcnn/config.js';
import { maskrcnnLossesConfig, maskrcnnTaskLosses } from '../../../src/tasks/maskrcnn/losses.js';
import { EmaState } from '../../../src/train/ema.js';
import { buildOptimizer, OptimizerState } from '../../../src/train/optimizers/index.js';
import { assertClose, assertTensorClose } from '../../helpers.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { test } from 'node:test';

const SIZE = 32;
const LEVELS = ['1', '2', '3'];
type Batch = Record<string, tf.Tensor>;

const MODEL = maskrcnnModelConfig.parse({
  num_classes: 3,
  input_size: [SIZE, SIZE, 3],
  min_level: 1,
  max_level: 3,
  anchor: { num_scales: 1, aspect_ratios: [1.0], anchor_size: 2 },
  backbone: { type: 'compact_resnet', compact_resnet: { model_id: 'xs' } },
  decoder: { type: 'fpn', fpn: { num_filters: 8 } },
  rpn_head: { num_convs: 1, num_filters: 8 },
  detection_head: { num_convs: 0, num_filters: 8, num_fcs: 1, fc_dims: 16 },
  roi_generator: {
    pre_nms_top_k: 64,
    num_proposals: 24,
    test_pre_nms_top_k: 64,
    test_num_proposals: 12,
  },
  roi_sampler: { num_sampled_rois: 16 },
  roi_aligner: { crop_size: 4 },
  detection_generator: { pre_nms_top_k: 32, max_num_detections: 6 },
  mask_head: { num_convs: 1, num_filters: 8 },
  mask_sampler: { num_sampled_masks: 4 },
  mask_roi_aligner: { crop_size: 4 },
  norm_activation: { use_sync_bn: false, norm_momentum: 0.9, norm_epsilon: 1e-3 },
});
const LOSSES = maskrcnnLossesConfig.parse({ l2_weight_decay: 1e-4 });

/** Two images with 2 and 1 squares (class = square index + 1), masks = discs in their boxes. */
function batchOf(seed: number): Batch {
  const rng = new Rng(seed);
  const img = new Float32Array(2 * SIZE * SIZE * 3).map(() => rng.uniform() - 0.5);
  const boxes = [
    [
      [2, 3, 14, 15],
      [16, 12, 30, 28],
      [-1, -1, -1, -1],
      [-1, -1, -1, -1],
    ],
    [
      [5, 5, 25, 20],
      [-1, -1, -1, -1],
      [-1, -1, -1, -1],
      [-1, -1, -1, -1],
    ],
  ];
  const classes = [
    [1, 2, -1, -1],
    [3, -1, -1, -1],
  ];
  const disc = Array.from({ length: 8 }, (_, y) =>
    Array.from({ length: 8 }, (_, x) => ((y - 3.5) ** 2 + (x - 3.5) ** 2 <= 12 ? 1 : 0)),
  );
  const batch: Batch = {
    image: tf.tensor4d(img, [2, SIZE, SIZE, 3]),
    image_shape: tf.tensor2d([
      [SIZE, SIZE],
      [SIZE, SIZE],
    ]),
    gt_boxes: tf.tensor3d(boxes),
    gt_classes: tf.tensor2d(classes, undefined, 'int32'),
    gt_masks: tf.tensor4d(
      classes.map((row) => row.map((c) => (c > 0 ? disc : disc.map((r) => r.map(() => 0))))),
    ),
  };
  // RPN targets: a fixed pattern of positives (with small box codes), negatives and ignored.
  for (const [i, l] of LEVELS.entries()) {
    const hw = SIZE >> (i + 1);
    const s = new Int32Array(2 * hw * hw).map((_, k) => (k % 7 === 0 ? 1 : k % 3 === 0 ? -1 : 0));
    const bx = new Float32Array(2 * hw * hw * 4).map((_, k) =>
      s[k >> 2] === 1 ? 0.1 * ((k % 4) - 1.5) : 0,
    );
    batch[`rpn_score_targets/${l}`] = tf.tensor4d(s, [2, hw, hw, 1]);
    batch[`rpn_box_targets/${l}`] = tf.tensor4d(bx, [2, hw, hw, 4]);
  }
  return batch;
}

class TinyMaskRCNNTask implements Task<MaskRCNNModel, Batch, MaskRCNNOutputs> {
  readonly type = 'maskrcnn_test';
  buildModel(): MaskRCNNModel {
    const backbone = buildBackbone(MODEL.backbone, MODEL.norm_activation);
    const decoder = buildDecoder(MODEL.decoder, {
      inputSpecs: backbone.outputSpecs,
      minLevel: MODEL.min_level,
      maxLevel: MODEL.max_level,
      normActivation: MODEL.norm_activation,
    });
    return buildMaskRCNN(backbone, decoder, MODEL as unknown as MaskRCNNModelConfig);
  }
  dummyBatch(): Batch {
    return batchOf(1);
  }
  async buildInputs(): Promise<InputPipeline<Batch>> {
    throw new Error('not used');
  }
  forward(model: MaskRCNNModel, batch: Batch, args: CallArgs): ForwardResult<MaskRCNNOutputs> {
    const outputs = model.apply(
      {
        images: batch.image,
        image_shape: batch.image_shape,
        gt_boxes: batch.gt_boxes,
        gt_classes: batch.gt_classes,
        gt_masks: batch.gt_masks,
      },
      args,
    );
    const per = (p: string) => Object.fromEntries(LEVELS.map((l) => [l, batch[`${p}/${l}`]]));
    const l2 = l2Regularization(
      model
        .trainableWeights()
        .filter((w) => w.regularize)
        .map((w) => w.variable),
      LOSSES.l2_weight_decay,
    );
    const losses = maskrcnnTaskLosses(
      {
        outputs: outputs as Record<string, tf.Tensor | Record<string, tf.Tensor>>,
        rpnScoreTargets: per('rpn_score_targets'),
        rpnBoxTargets: per('rpn_box_targets'),
        regularization: l2,
        numStages: 1,
        includeMask: true,
        classAgnosticBboxPred: false,
      },
      LOSSES,
    );
    l2.dispose();
    return { losses, outputs: { class_targets: outputs.class_targets } as MaskRCNNOutputs };
  }
  buildMetrics(): [] {
    return [];
  }
}

const KEYS = [
  'total_loss',
  'rpn_score_loss',
  'rpn_box_loss',
  'frcnn_cls_loss',
  'frcnn_box_loss',
  'mask_loss',
];

function setup() {
  setGlobalSeed(3);
  const task = new TinyMaskRCNNTask();
  const model = task.buildModel();
  tf.tidy(() => {
    task.forward(model, task.dummyBatch(), { training: true, rng: new Rng(99) });
  });
  const cfg = { type: 'sgd', sgd: { momentum: 0.9 } };
  const optimizer = new OptimizerState(buildOptimizer(cfg as Parameters<typeof buildOptimizer>[0]));
  optimizer.ensureSlots(
    model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable })),
  );
  const ema = new EmaState({ average_decay: 0 }, model.weights());
  return { task, model, optimizer, ema, rng: new Rng(11) };
}

// On the cpu backend (the engine's reference recording), to keep the test short.
test('Mask R-CNN training step: compiled equals eager, no fallback, losses fall [cpu]', async () => {
  await initBackend('cpu');
  const eagerParts = setup();
  const compiledParts = setup();
  const eager = new EagerStepRunner(eagerParts);
  const warnings: string[] = [];
  const compiled = createCompiledStepRunner(compiledParts, {
    intraOpNumThreads: 1,
    warn: (m) => warnings.push(m),
  });
  const batch = batchOf(5);
  const first: Record<string, number> = {};
  let last: Record<string, number> = {};
  for (let step = 1; step <= 4; step++) {
    const e = await eager.trainStep(batch, 0.02, step);
    const c = await compiled.trainStep(batch, 0.02, step);
    for (const k of KEYS) {
      assert.ok(Number.isFinite(c.logs[k]), `step ${step} ${k} finite`);
      assertClose([c.logs[k]], [e.logs[k]], { rtol: 2e-3, atol: 1e-5, msg: `step ${step} ${k}` });
    }
    assertTensorClose(
      c.outputs.class_targets as tf.Tensor,
      e.outputs.class_targets as tf.Tensor,
      `step ${step} class targets`,
    );
    if (step === 1) Object.assign(first, c.logs);
    last = c.logs;
    tf.dispose([c.outputs.class_targets, e.outputs.class_targets]);
  }
  assert.deepEqual(warnings, [], 'no eager fallback');
  assert.equal(compiled.modeFor('train', batch), 'compiled');
  for (const k of ['total_loss', 'rpn_score_loss', 'frcnn_cls_loss', 'mask_loss']) {
    assert.ok(last[k] < first[k], `${k} falls: ${first[k]} → ${last[k]}`);
  }
  compiled.dispose();
});
