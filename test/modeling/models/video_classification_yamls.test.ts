/**
 * The 12 ResNet-3D rows of the seed's Kinetics tables (configs/experiments/video_classification):
 * each YAML's `task.model`, over the model defaults of Model Garden's experiment
 * (video_classification_kinetics400/600 set norm momentum 0.9, epsilon 1e-5), parses strictly,
 * equals the backbone config Model Garden built, and builds a model with Model Garden's exact
 * total, trainable and backbone parameter counts (`param_counts.json` of
 * ../shared/data/model-garden-reference, `model.count_params()` of MG's own build on the same
 * YAML). The seed's clip length × stride of each row is checked on the training data section.
 * The experiments themselves are registered by the video task.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';
import { initBackend } from '../../../src/core/backend/index.js';
import { deepMerge } from '../../../src/core/config/merge.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { videoClassificationModelConfig } from '../../../src/modeling/models/video_classification_config.js';
import { buildVideoClassificationModel } from '../../../src/modeling/models/video_classification_model.js';
import { REPO_ROOT, sharedData } from '../../helpers.js';

await initBackend('cpu');

const DIR = join(REPO_ROOT, 'configs', 'experiments', 'video_classification');

interface MgRow {
  id: string;
  num_classes: number;
  backbone_type: string;
  backbone_config: Record<string, unknown>;
  params_total: number;
  params_trainable: number;
  params_backbone: number;
}

const MG_ROWS: ReadonlyMap<string, MgRow> = (() => {
  const json = JSON.parse(
    readFileSync(sharedData('model-garden-reference', 'param_counts.json'), 'utf8'),
  ) as { rows: MgRow[] };
  return new Map(json.rows.map((r) => [r.id, r]));
})();

/** YAML → [param_counts.json row, seed frames, seed temporal stride]. */
const ROWS: Record<string, [string, number, number]> = {
  'k400_slowonly8x8_tpu.yaml': ['k400_slowonly8x8', 8, 8],
  'k400_slowonly16x4_tpu.yaml': ['k400_slowonly16x4', 16, 4],
  'k400_3d-resnet50_tpu.yaml': ['k400_r3d50', 32, 2],
  'k400_resnet3drs_50_tpu.yaml': ['k400_r3drs50', 32, 2],
  'k400_resnet3drs_101_tpu.yaml': ['k400_r3drs101', 32, 2],
  'k400_resnet3drs_152_tpu.yaml': ['k400_r3drs152', 32, 2],
  'k400_resnet3drs_200_tpu.yaml': ['k400_r3drs200', 32, 2],
  // MG's table: the 48x2 row has the 32x2 row's parameters (clip length adds none).
  'k400_resnet3drs_200_48x2_tpu.yaml': ['k400_r3drs200', 48, 2],
  'k600_slowonly8x8_tpu.yaml': ['k600_slowonly8x8', 8, 8],
  'k600_3d-resnet50_tpu.yaml': ['k600_r3d50', 32, 2],
  'k600_resnet3drs_200_tpu.yaml': ['k600_r3drs200', 32, 2],
  'k600_resnet3drs_200_48x2_tpu.yaml': ['k600_r3drs200', 48, 2],
};

/** The model section of MG's video_classification_kinetics400/600 experiments. */
const EXPERIMENT_MODEL = {
  backbone: { type: 'resnet_3d' },
  norm_activation: { norm_momentum: 0.9, norm_epsilon: 1e-5, use_sync_bn: false },
};

test('the ResNet-3D video YAMLs are exactly the 12 ResNet-3D seed rows', () => {
  // MoViNet's YAMLs (movinet_*.yaml) share the folder; movinet_model.test.ts counts those.
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && !f.startsWith('movinet_'));
  assert.deepEqual(files.sort(), Object.keys(ROWS).sort());
});

for (const [file, [rowId, frames, stride]] of Object.entries(ROWS)) {
  test(`${file}: Model Garden's backbone config and parameter counts (${rowId})`, () => {
    const row = MG_ROWS.get(rowId);
    assert.ok(row, `param_counts.json has no row ${rowId}`);
    const yaml = parse(readFileSync(join(DIR, file), 'utf8')) as {
      task: {
        model: unknown;
        train_data: { num_classes?: number; feature_shape: number[]; temporal_stride: number };
        validation_data: { feature_shape: number[]; temporal_stride: number };
      };
    };
    const { train_data: train, validation_data: valid } = yaml.task;
    assert.deepEqual([train.feature_shape[0], train.temporal_stride], [frames, stride]);
    assert.deepEqual([valid.feature_shape[0], valid.temporal_stride], [frames, stride]);
    const cfg = videoClassificationModelConfig.parse(deepMerge(EXPERIMENT_MODEL, yaml.task.model));
    assert.equal(cfg.backbone.type, row.backbone_type);
    const branch = cfg.backbone[row.backbone_type as 'resnet_3d' | 'resnet_3d_rs'];
    const { block_filters: blockFilters, ...mgFields } = branch;
    assert.equal(blockFilters, null, 'no vision-garden extension in a seed YAML');
    assert.deepEqual(mgFields, row.backbone_config);
    // MG's experiments take num_classes from the dataset (kinetics400: 400, kinetics600: 600).
    const numClasses = train.num_classes ?? (file.startsWith('k400') ? 400 : 600);
    assert.equal(numClasses, row.num_classes);
    const model = buildVideoClassificationModel(cfg, numClasses);
    withShapeOnlyBuild(() => tf.tidy(() => void model.apply(tf.zeros([0, 4, 32, 32, 3]))));
    assert.equal(model.countParams(), row.params_total, 'total');
    assert.equal(model.countTrainableParams(), row.params_trainable, 'trainable');
    assert.equal(model.backbone.countParams(), row.params_backbone, 'backbone');
    model.dispose();
  });
}
