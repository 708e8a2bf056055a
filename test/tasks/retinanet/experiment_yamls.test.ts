/**
 * Every seed RetinaNet row (the seed's three RetinaNet tables, 7 rows) resolves through its
 * registered experiment and YAML under configs/experiments/retinanet, and builds a model with
 * Model Garden's exact total and trainable parameter counts (`param_counts.json` of
 * ../shared/data/model-garden-reference: MG's `count_params()` on the same experiment + YAML).
 * Weights are zeros (withShapeOnlyBuild); each architecture is built once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { setGlobalSeed } from '../../../src/core/random.js';
import { resolveExperiment } from '../../../src/train/run_experiment.js';
import { RetinaNetTask } from '../../../src/tasks/retinanet/task.js';
import type { RetinaNetExperimentConfig } from '../../../src/tasks/retinanet/config.js';
import { REPO_ROOT, sharedData } from '../../helpers.js';

// wasm: the shape-only build still runs the forward convolutions, ~7x faster than on 'cpu'.
await initBackend('wasm');

const DIR = join(REPO_ROOT, 'configs', 'experiments', 'retinanet');

interface MgRow {
  id: string;
  exp: string;
  kind: string;
  input_size: number[];
  params_total: number;
  params_trainable: number;
}

const MG = new Map(
  (
    JSON.parse(readFileSync(sharedData('model-garden-reference', 'param_counts.json'), 'utf8')) as {
      rows: MgRow[];
    }
  ).rows
    .filter((r) => r.kind === 'retinanet')
    .map((r) => [r.id, r]),
);

/** Seed row YAML → its param_counts.json id, experiment and backbone type. */
const ROWS: [string, string, string, string][] = [
  ['resnet50fpn_12ep_coco.yaml', 'retinanet_r50fpn_i640', 'retinanet_resnetfpn_coco', 'resnet'],
  ['resnet50fpn_72ep_coco.yaml', 'retinanet_r50fpn_i640', 'retinanet_resnetfpn_coco', 'resnet'],
  ['coco_spinenet49_tpu.yaml', 'retinanet_spinenet49_i640', 'retinanet_spinenet_coco', 'spinenet'],
  ['coco_spinenet96_tpu.yaml', 'retinanet_spinenet96_i1024', 'retinanet_spinenet_coco', 'spinenet'],
  [
    'coco_spinenet143_tpu.yaml',
    'retinanet_spinenet143_i1280',
    'retinanet_spinenet_coco',
    'spinenet',
  ],
  ['coco_mobilenetv2_tpu.yaml', 'retinanet_mobilenetv2_i256', 'retinanet_mobile_coco', 'mobilenet'],
  [
    'coco_spinenet49_mobile_tpu.yaml',
    'retinanet_spinenet49mobile_i384',
    'retinanet_mobile_coco',
    'spinenet_mobile',
  ],
];

test('every seed RetinaNet row builds with Model Garden parameter counts', () => {
  assert.equal(MG.size, 6, 'param_counts.json lists 6 RetinaNet architectures');
  const counted = new Map<string, [number, number]>();
  for (const [file, id, experiment, backbone] of ROWS) {
    const mg = MG.get(id)!;
    assert.equal(mg.exp, experiment, `${file}: param_counts.json builds ${id} from ${mg.exp}`);
    const c = resolveExperiment({ experiment, configFiles: [join(DIR, file)] })
      .config as RetinaNetExperimentConfig;
    assert.equal(c.task.model.backbone.type, backbone, file);
    assert.deepEqual(c.task.model.input_size, mg.input_size, file);
    assert.equal(c.task.model.num_classes, 91, file);
    let counts = counted.get(id);
    if (!counts) {
      setGlobalSeed(0);
      const model = new RetinaNetTask(c.task).buildModel();
      // The smallest input with a level-7 feature; parameter shapes do not depend on it.
      withShapeOnlyBuild(() =>
        tf.tidy(() => void model.apply(tf.zeros([1, 128, 128, 3]), { training: true })),
      );
      counts = [model.countParams(), model.countTrainableParams()];
      model.dispose();
      counted.set(id, counts);
    }
    assert.equal(counts[0], mg.params_total, `${file}: total parameters`);
    assert.equal(counts[1], mg.params_trainable, `${file}: trainable parameters`);
  }
  assert.equal(counted.size, MG.size, 'every RetinaNet row of param_counts.json is checked');
});

test('the experiments carry Model Garden defaults', () => {
  const r50 = resolveExperiment({ experiment: 'retinanet_resnetfpn_coco' })
    .config as RetinaNetExperimentConfig;
  assert.equal(r50.task.model.decoder.type, 'fpn');
  assert.equal(r50.task.model.anchor.anchor_size, 4);
  assert.equal(r50.task.losses.l2_weight_decay, 1e-4);
  assert.equal(r50.task.init_checkpoint_modules, 'backbone');
  assert.equal(r50.task.train_data.parser.aug_scale_min, 0.8);
  assert.equal(r50.trainer.train_steps, 72 * 462);
  const mobile = resolveExperiment({ experiment: 'retinanet_mobile_coco' })
    .config as RetinaNetExperimentConfig;
  assert.equal(mobile.task.model.head.num_filters, 48);
  assert.equal(mobile.task.model.head.use_separable_conv, true);
  assert.equal(mobile.task.model.decoder.type, 'identity');
  assert.deepEqual(mobile.task.model.input_size, [384, 384, 3]);
  assert.throws(
    () =>
      resolveExperiment({
        experiment: 'retinanet_spinenet_coco',
        paramsOverrides: ['task.per_category_metrics=true'],
      }),
    /per_category_metrics.*not supported/s,
  );
});

test("Model Garden's detection_generator section (a reference case's params dump) parses; TFLite fields off their defaults are refused", () => {
  const dump = parse(
    readFileSync(sharedData('model-garden-reference', 'retinanet_spinenet', 'config.yaml'), 'utf8'),
  ) as { task: { model: { detection_generator: Record<string, unknown> } } };
  const generator = dump.task.model.detection_generator;
  const tflite = generator.tflite_post_processing as Record<string, unknown>;
  for (const k of [
    'omit_nms',
    'detections_per_class',
    'y_scale',
    'x_scale',
    'w_scale',
    'h_scale',
  ]) {
    assert.ok(k in tflite, `the dump has tflite_post_processing.${k}`);
  }
  const c = resolveExperiment({
    experiment: 'retinanet_spinenet_coco',
    paramsOverrides: [JSON.stringify({ task: { model: { detection_generator: generator } } })],
  }).config as RetinaNetExperimentConfig;
  assert.equal(c.task.model.detection_generator.tflite_post_processing.detections_per_class, 5);
  assert.throws(
    () =>
      resolveExperiment({
        experiment: 'retinanet_spinenet_coco',
        paramsOverrides: ['task.model.detection_generator.tflite_post_processing.omit_nms=true'],
      }),
    /tflite_post_processing.*not supported/s,
  );
});
