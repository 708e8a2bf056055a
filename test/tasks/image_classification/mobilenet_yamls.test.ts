/**
 * Model Garden's 13 MobileNet ImageNet YAMLs (official/vision/configs/experiments/
 * image_classification/imagenet_mobilenet*.yaml) parse strictly on `mobilenet_imagenet`, carry
 * MG's values, and build; the V1/V2/V3 classifiers count as Keras applications' published totals
 * with the 1000-class top swapped for MG's 1001 classes, the others as MG's mobilenet_test.py
 * backbone counts plus the head.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { resolveExperiment } from '../../../src/train/run_experiment.js';
import { ImageClassificationTask } from '../../../src/tasks/image_classification/task.js';
import type { ImageClassificationExperimentConfig } from '../../../src/tasks/image_classification/config.js';
import { REPO_ROOT } from '../../helpers.js';

await initBackend('cpu');

const DIR = join(REPO_ROOT, 'configs', 'experiments', 'image_classification');

/** Keras applications total (1000 classes); the 1001st class adds a kernel column and a bias. */
const keras1001 = (total1000: number, width: number) => total1000 + width + 1;
/** A Model Garden backbone count (mobilenet_test.py) plus the 1001-class dense head on 1280. */
const mg1001 = (backbone: number) => backbone + 1280 * 1001 + 1001;

/** file → [model_id, input side, train steps, exact params with the 1001-class head or null]. */
const ROWS: Record<string, [string, number, number, number]> = {
  'imagenet_mobilenetv1_tpu.yaml': ['MobileNetV1', 224, 156000, keras1001(4_253_864, 1024)],
  'imagenet_mobilenetv2_gpu.yaml': ['MobileNetV2', 224, 625500, keras1001(3_538_984, 1280)],
  'imagenet_mobilenetv2_tpu.yaml': ['MobileNetV2', 224, 156000, keras1001(3_538_984, 1280)],
  'imagenet_mobilenetv3.5_avg_tpu.yaml': ['MobileNetMultiAVG', 224, 156000, mg1001(3704416)],
  'imagenet_mobilenetv3.5_avgseg_tpu.yaml': ['MobileNetMultiAVGSeg', 224, 156000, mg1001(2239840)],
  'imagenet_mobilenetv3large_tpu.yaml': [
    'MobileNetV3Large',
    224,
    218000,
    keras1001(5_507_432, 1280),
  ],
  'imagenet_mobilenetv3small_tpu.yaml': [
    'MobileNetV3Small',
    224,
    312000,
    keras1001(2_554_968, 1024),
  ],
  'imagenet_mobilenetv4_conv_large_tpu.yaml': [
    'MobileNetV4ConvLarge',
    384,
    39000,
    mg1001(31459416),
  ],
  'imagenet_mobilenetv4_conv_medium_seg_tpu.yaml': [
    'MobileNetV4ConvMediumSeg',
    256,
    156000,
    mg1001(3787024),
  ],
  'imagenet_mobilenetv4_conv_medium_tpu.yaml': [
    'MobileNetV4ConvMedium',
    256,
    156000,
    mg1001(8502416),
  ],
  'imagenet_mobilenetv4_conv_small_tpu.yaml': [
    'MobileNetV4ConvSmall',
    224,
    3002368,
    mg1001(2518112),
  ],
  'imagenet_mobilenetv4_hybrid_large_tpu.yaml': [
    'MobileNetV4HybridLarge',
    384,
    39000,
    mg1001(36648024),
  ],
  'imagenet_mobilenetv4_hybrid_medium_tpu.yaml': [
    'MobileNetV4HybridMedium',
    256,
    39000,
    mg1001(9869488),
  ],
};

function resolve(file: string): ImageClassificationExperimentConfig {
  return resolveExperiment({
    experiment: 'mobilenet_imagenet',
    configFiles: [join(DIR, file)],
    paramsOverrides: [],
  }).config as unknown as ImageClassificationExperimentConfig;
}

test('the directory holds the 13 Model Garden MobileNet YAMLs', () => {
  const files = readdirSync(DIR).filter((f) => f.startsWith('imagenet_mobilenet'));
  assert.deepEqual(files.sort(), Object.keys(ROWS).sort());
});

test("each MobileNet YAML parses on mobilenet_imagenet with Model Garden's values", () => {
  for (const [file, [modelId, side, steps]] of Object.entries(ROWS)) {
    const c = resolve(file);
    const m = c.task.model;
    assert.equal(m.backbone.type, 'mobilenet', file);
    assert.equal(m.backbone.mobilenet.model_id, modelId, file);
    assert.deepEqual(m.input_size, [side, side, 3], file);
    assert.equal(m.num_classes, 1001, file);
    assert.equal(c.trainer.train_steps, steps, file);
  }
  // Spot values from the files and from the experiment defaults they do not override.
  const v2 = resolve('imagenet_mobilenetv2_tpu.yaml');
  assert.equal(v2.trainer.optimizer_config.optimizer.type, 'rmsprop');
  assert.equal(v2.trainer.optimizer_config.learning_rate.exponential.decay_rate, 0.96);
  assert.equal(v2.task.model.norm_activation.norm_momentum, 0.997);
  assert.equal(v2.task.model.dropout_rate, 0.2);
  const v3l = resolve('imagenet_mobilenetv3large_tpu.yaml');
  assert.equal(v3l.trainer.optimizer_config.optimizer.adamw.weight_decay_rate, 0.1);
  assert.equal(v3l.task.train_data.aug_type?.type, 'autoaug');
  const v4m = resolve('imagenet_mobilenetv4_conv_medium_tpu.yaml');
  assert.equal(v4m.task.model.backbone.mobilenet.flat_stochastic_depth_drop_rate, false);
  assert.equal(v4m.task.model.backbone.mobilenet.stochastic_depth_drop_rate, 0.075);
});

test('all 13 rows build with exact parameter counts', () => {
  for (const [file, [, , , params]] of Object.entries(ROWS)) {
    const task = new ImageClassificationTask(resolve(file).task);
    const model = task.buildModel();
    withShapeOnlyBuild(() => tf.tidy(() => void model.apply(tf.zeros([1, 32, 32, 3]))));
    assert.equal(model.countParams(), params, file);
    model.dispose();
  }
});

test('mobilenet_imagenet defaults are Model Garden’s', () => {
  const c = resolveExperiment({ experiment: 'mobilenet_imagenet' })
    .config as unknown as ImageClassificationExperimentConfig;
  const spe = Math.floor(1281167 / 4096);
  assert.equal(c.task.model.backbone.mobilenet.model_id, 'MobileNetV2');
  assert.equal(c.task.losses.l2_weight_decay, 1e-5);
  assert.equal(c.trainer.train_steps, 500 * spe);
  const lr = c.trainer.optimizer_config.learning_rate.exponential;
  assert.deepEqual(
    [lr.initial_learning_rate, lr.decay_steps, lr.decay_rate, lr.staircase],
    [0.256, Math.trunc(2.5 * spe), 0.98, true],
  );
  assert.equal(c.trainer.optimizer_config.optimizer.rmsprop.epsilon, 0.002);
});
