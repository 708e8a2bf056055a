/**
 * The semantic segmentation task: MG's experiment defaults (schedules derived by hand from the
 * dataset sizes), the IoU metrics on hand-counted label maps, and the task loss on a tiny
 * DeepLabV3+ against the loss function and l2 term computed separately.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { getExperiment } from '../../../src/core/registry.js';
import { segmentationLoss } from '../../../src/losses/segmentation.js';
import {
  SegmentationIoUMetric,
  SemanticSegmentationTask,
  semanticSegmentationTaskConfig,
  type SemanticSegmentationExperimentConfig,
} from '../../../src/tasks/semantic_segmentation/index.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

const exp = (name: string) => getExperiment(name).factory() as SemanticSegmentationExperimentConfig;

test("experiments carry Model Garden's defaults and schedules", () => {
  const v3 = exp('seg_deeplabv3_pascal');
  // 10582 // 16 = 661 steps per epoch: 45 epochs, 5 warmup epochs; 1449 // 8 = 181.
  assert.equal(v3.trainer.train_steps, 29745);
  assert.equal(v3.trainer.validation_steps, 181);
  const oc = v3.trainer.optimizer_config as unknown as {
    learning_rate: { polynomial: { initial_learning_rate: number; decay_steps: number } };
    warmup: { linear: { warmup_steps: number } };
  };
  assert.equal(oc.learning_rate.polynomial.initial_learning_rate, 0.007);
  assert.equal(oc.learning_rate.polynomial.decay_steps, 29745);
  assert.equal(oc.warmup.linear.warmup_steps, 3305);
  assert.deepEqual(v3.task.model.decoder.aspp?.dilation_rates, [12, 24, 36]);
  assert.equal(v3.task.model.head.num_convs, 0);
  assert.equal(v3.task.validation_data.resize_eval_groundtruth, false);
  const v3p = exp('seg_deeplabv3plus_pascal');
  assert.deepEqual(v3p.task.model.decoder.aspp?.dilation_rates, [6, 12, 18]);
  assert.equal(v3p.task.model.head.feature_fusion, 'deeplabv3plus');
  const cs = exp('seg_deeplabv3plus_cityscapes');
  // 2975 // 16 = 185: 500 epochs = 92500 steps, warmup 925; 500 // 16 = 31.
  assert.equal(cs.trainer.train_steps, 92500);
  assert.equal(cs.trainer.validation_steps, 31);
  assert.deepEqual(cs.task.train_data.crop_size, [512, 1024]);
  assert.deepEqual(cs.task.model.decoder.aspp?.pool_kernel_size, [512, 1024]);
  assert.equal(cs.task.model.norm_activation.norm_momentum, 0.99);
  // The data default of the segmentation DataConfig differs from the base one.
  assert.equal(cs.task.train_data.aug_rand_hflip, true);
  assert.equal(cs.task.train_data.shuffle_buffer_size, 1000);
});

test('unported fields are refused when set', () => {
  for (const [path, patch] of [
    ['losses.gt_is_matting_map', { losses: { gt_is_matting_map: true } }],
    ['export_config.rescale_output', { export_config: { rescale_output: true } }],
    ['train_data.aug_policy', { train_data: { aug_policy: 'randaug' } }],
  ] as const) {
    const r = semanticSegmentationTaskConfig.safeParse(patch);
    assert.equal(r.success, false, path);
    assert.match(JSON.stringify(r.error?.issues), /not supported/, path);
  }
});

/** Logits [1, 1, n, C] that predict `pred` (argmax) per pixel. */
function logitsFor(pred: number[], C: number): tf.Tensor4D {
  return tf.reshape(tf.oneHot(tf.tensor1d(pred, 'int32'), C), [1, 1, pred.length, C]);
}

function batchOf(gt: number[]): Record<string, tf.Tensor> {
  const n = gt.length;
  return {
    masks: tf.tensor4d(gt, [1, 1, n, 1]),
    valid_masks: tf.tensor4d(
      gt.map((v) => (v === 255 ? 0 : 1)),
      [1, 1, n, 1],
    ),
    image_info: tf.tensor3d([1, n, 1, n, 1, 1, 0, 0], [1, 4, 2]),
  };
}

test('metrics: train mean over seen classes, eval per-class with 0 for unseen classes', async () => {
  // 3 classes; class 2 never appears. GT 0 0 1 1 255, prediction 0 1 1 1 0.
  // class 0: tp 1, gt 2, pred 1 -> 1 / 2; class 1: tp 2, gt 2, pred 3 -> 2 / 3.
  const gt = [0, 0, 1, 1, 255];
  const pred = [0, 1, 1, 1, 0];
  const train = new SegmentationIoUMetric(3, {
    ignoreLabel: 255,
    rescalePredictions: false,
    perClass: false,
    reportPerClass: false,
  });
  await train.update(logitsFor(pred, 3), batchOf(gt));
  assertClose([train.result().mean_iou], [(1 / 2 + 2 / 3) / 2]);
  const evalMetric = new SegmentationIoUMetric(3, {
    ignoreLabel: 255,
    rescalePredictions: true,
    perClass: true,
    reportPerClass: true,
  });
  await evalMetric.update(logitsFor(pred, 3), batchOf(gt));
  const r = evalMetric.result();
  assertClose([r['iou/0'], r['iou/1'], r['iou/2']], [1 / 2, 2 / 3, 0]);
  assertClose([r.mean_iou], [(1 / 2 + 2 / 3) / 3]);
  evalMetric.reset();
  assert.deepEqual(evalMetric.result(), { 'iou/0': 0, 'iou/1': 0, 'iou/2': 0, mean_iou: 0 });
});

const TINY = {
  num_classes: 3,
  input_size: [32, 32, 3],
  backbone: {
    type: 'dilated_resnet',
    dilated_resnet: {
      model_id: 50,
      output_stride: 16,
      block_specs: [
        ['bottleneck', 4, 1],
        ['bottleneck', 4, 1],
        ['bottleneck', 8, 1],
        ['bottleneck', 8, 1],
      ],
    },
  },
  decoder: { type: 'aspp', aspp: { level: 4, dilation_rates: [2], num_filters: 8 } },
  head: {
    level: 4,
    num_convs: 1,
    num_filters: 8,
    feature_fusion: 'deeplabv3plus',
    low_level: 2,
    low_level_num_filters: 4,
  },
};

test('task loss = loss_weight * (segmentation loss + l2) on a tiny DeepLabV3+', () => {
  const cfg = semanticSegmentationTaskConfig.parse({
    model: TINY,
    losses: { l2_weight_decay: 1e-2, loss_weight: 2, label_smoothing: 0.1 },
    train_data: { output_size: [32, 32] },
  });
  const task = new SemanticSegmentationTask(cfg);
  const model = task.buildModel();
  const batch = task.dummyBatch(2);
  batch.image = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3);
  batch.masks = tf.tensor4d(
    Array.from({ length: 2 * 32 * 32 }, (_, i) => (i % 7 === 0 ? 255 : i % 3)),
    [2, 32, 32, 1],
  );
  const { losses, outputs } = task.forward(model, batch, { training: true });
  // V3+ logits at the low level's stride 4.
  assert.deepEqual(outputs.shape, [2, 8, 8, 3]);
  const seg = segmentationLoss(outputs as tf.Tensor4D, batch.masks as tf.Tensor4D, {
    labelSmoothing: 0.1,
  }).dataSync()[0];
  let sq = 0;
  for (const w of model.trainableWeights().filter((w) => w.regularize)) {
    for (const v of w.variable.dataSync()) sq += v * v;
  }
  assert.ok(sq > 0, 'some kernels are regularised');
  assertClose([losses.total_loss.dataSync()[0]], [2 * (seg + (1e-2 / 2) * sq)], { rtol: 1e-5 });
  // Evaluation on original-size labels: MG reports loss 0.
  const evalTask = new SemanticSegmentationTask(
    semanticSegmentationTaskConfig.parse({
      model: TINY,
      train_data: { output_size: [32, 32] },
      validation_data: { resize_eval_groundtruth: false, groundtruth_padded_size: [40, 40] },
    }),
  );
  assert.equal(
    evalTask.forward(model, batch, { training: false }).losses.total_loss.dataSync()[0],
    0,
  );
});

test('config errors name the field', () => {
  assert.throws(
    () =>
      new SemanticSegmentationTask(
        semanticSegmentationTaskConfig.parse({ model: TINY, losses: { class_weights: [1, 2] } }),
      ),
    /losses\.class_weights has 2 values; it must be empty or one per class \(3\)/,
  );
  assert.throws(
    () =>
      new SemanticSegmentationTask(
        semanticSegmentationTaskConfig.parse({ model: TINY, allow_image_summary: true }),
      ),
    /task\.allow_image_summary: image summaries are not supported/,
  );
  const task = new SemanticSegmentationTask(semanticSegmentationTaskConfig.parse({ model: TINY }));
  assert.throws(
    () => task.parserOptionsFor(task.config.train_data, 'train_data'),
    /task\.train_data\.output_size must be set/,
  );
});
