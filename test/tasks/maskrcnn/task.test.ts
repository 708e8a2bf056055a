/**
 * MaskRCNNTask's config handling: Model Garden's experiment defaults (configs/maskrcnn.py),
 * fields this port does not implement rejected by name, inconsistent sections and unusable inputs
 * refused with one-line errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../src/tasks/index.js';
import { getExperiment } from '../../../src/core/registry.js';
import {
  MaskRCNNTask,
  maskrcnnExperimentConfig,
  type MaskRCNNExperimentConfig,
} from '../../../src/tasks/maskrcnn/index.js';

const exp = (name: string) => getExperiment(name).factory() as MaskRCNNExperimentConfig;

test("the registered experiments carry Model Garden's defaults", () => {
  const r50 = exp('maskrcnn_resnetfpn_coco');
  assert.equal(r50.task.model.include_mask, true);
  assert.deepEqual(r50.task.model.input_size, [1024, 1024, 3]);
  assert.equal(r50.task.train_data.global_batch_size, 64);
  assert.equal(r50.task.train_data.parser.aug_scale_max, 1.25);
  assert.equal(r50.trainer.train_steps, 22500);
  assert.equal(r50.task.init_checkpoint_modules, 'backbone');
  const faster = exp('fasterrcnn_resnetfpn_coco');
  assert.equal(faster.task.model.include_mask, false);
  assert.equal(faster.task.model.mask_head, null);
  const spine = exp('maskrcnn_spinenet_coco');
  assert.equal(spine.trainer.train_steps, 463 * 350);
  assert.deepEqual(spine.trainer.optimizer_config.learning_rate.stepwise?.boundaries, [
    463 * 320,
    463 * 340,
  ]);
  const cascade = exp('cascadercnn_spinenet_coco');
  assert.deepEqual(cascade.task.model.roi_sampler.cascade_iou_thresholds, [0.6, 0.7]);
  assert.equal(new MaskRCNNTask(cascade.task).numStages, 3);
  assert.equal(cascade.task.train_data.parser.aug_scale_min, 0.1);
});

test('unimplemented fields are rejected by name', () => {
  for (const [section, value] of [
    [{ losses: { class_weights: [1, 2] } }, /class_weights/],
    [{ per_category_metrics: true }, /per_category_metrics/],
    [{ train_data: { parser: { aug_rand_vflip: true } } }, /aug_rand_vflip/],
    [{ model: { roi_generator: { use_batched_nms: true } } }, /use_batched_nms/],
  ] as const) {
    assert.throws(() => maskrcnnExperimentConfig.parse({ task: section }), value);
  }
});

test('inconsistent sections and unusable inputs are refused with clear errors', async () => {
  const base = exp('maskrcnn_resnetfpn_coco').task;
  assert.throws(
    () => new MaskRCNNTask({ ...base, model: { ...base.model, mask_head: null } }),
    /include_mask is true but mask_head/,
  );
  assert.throws(
    () => new MaskRCNNTask({ ...base, model: { ...base.model, num_classes: 1 } }),
    /num_classes must be > 1/,
  );
  const task = new MaskRCNNTask({
    ...base,
    train_data: { ...base.train_data, input_path: '' },
  });
  await assert.rejects(
    task.buildInputs('train', { training: true, seed: 0 }),
    /task\.train_data\.input_path: set it to TFRecord files/,
  );
  const noKeep = new MaskRCNNTask({
    ...base,
    validation_data: {
      ...base.validation_data,
      parser: { ...base.validation_data.parser, keep_aspect_ratio: false },
    },
  });
  await assert.rejects(
    noKeep.buildInputs('validation', { training: false, seed: 0 }),
    /parser\.keep_aspect_ratio/,
  );
});
