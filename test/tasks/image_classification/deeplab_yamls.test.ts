/**
 * Model Garden's ImageNet pretraining YAMLs of DeepLab's dilated backbone
 * (configs/experiments/image_classification/imagenet_resnet{50,101}_deeplab_tpu.yaml) resolve
 * strictly on `resnet_imagenet` and build a classification model on the `dilated_resnet`
 * backbone. Expected parameter counts (not rows of param_counts.json) are independent sums:
 * - ResNet-50, v0 stem, no SE: dilation adds no variables, so the backbone is Model Garden's plain
 *   ResNet-50 (23,561,152, param_counts.json `resnet50_i224`);
 * - ResNet-101, v1 stem 64/64/128, SE 0.25: the same backbone config as Model Garden's Cityscapes
 *   YAML row (`deeplabv3plus_dilatedresnet101_cityscapes_tfds_yaml`, backbone 61,742,976);
 * plus the 1001-class dense head 2048 · 1001 + 1001.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { resolveExperiment } from '../../../src/train/run_experiment.js';
import { ImageClassificationTask } from '../../../src/tasks/image_classification/task.js';
import type { ImageClassificationExperimentConfig } from '../../../src/tasks/image_classification/config.js';
import { DilatedResNet } from '../../../src/modeling/backbones/dilated_resnet.js';
import { REPO_ROOT, sharedData } from '../../helpers.js';

await initBackend('cpu');

const DIR = join(REPO_ROOT, 'configs', 'experiments', 'image_classification');
const HEAD = 2048 * 1001 + 1001;

const backboneCount = (id: string): number =>
  (
    JSON.parse(readFileSync(sharedData('model-garden-reference', 'param_counts.json'), 'utf8')) as {
      rows: { id: string; params_backbone: number }[];
    }
  ).rows.find((r) => r.id === id)!.params_backbone;

test("the DeepLab backbones' ImageNet YAMLs resolve on resnet_imagenet and build with the expected counts", () => {
  const rows: [string, number, string, number][] = [
    ['imagenet_resnet50_deeplab_tpu.yaml', 50, 'v0', backboneCount('resnet50_i224')],
    [
      'imagenet_resnet101_deeplab_tpu.yaml',
      101,
      'v1',
      backboneCount('deeplabv3plus_dilatedresnet101_cityscapes_tfds_yaml'),
    ],
  ];
  for (const [file, depth, stem, backbone] of rows) {
    const c = resolveExperiment({ experiment: 'resnet_imagenet', configFiles: [join(DIR, file)] })
      .config as ImageClassificationExperimentConfig;
    const m = c.task.model;
    assert.equal(m.backbone.type, 'dilated_resnet', file);
    const d = m.backbone.dilated_resnet;
    assert.equal(d.model_id, depth, file);
    assert.equal(d.output_stride, 16, file);
    assert.equal(d.stem_type, stem, file);
    assert.equal(m.norm_activation.activation, 'swish', file);
    const model = new ImageClassificationTask(c.task).buildModel();
    try {
      assert.ok(model.backbone instanceof DilatedResNet, file);
      let logits: number[] = [];
      withShapeOnlyBuild(() =>
        tf.tidy(() => {
          logits = (model.apply(tf.zeros([0, 224, 224, 3]), { training: true }) as tf.Tensor).shape;
        }),
      );
      assert.deepEqual(logits, [0, 1001], file);
      assert.equal(model.backbone.countParams(), backbone, `${file}: backbone`);
      assert.equal(model.countParams(), backbone + HEAD, `${file}: total`);
    } finally {
      model.dispose();
    }
  }
});
