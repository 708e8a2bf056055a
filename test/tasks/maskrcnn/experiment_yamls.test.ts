/**
 * Every seed Mask R-CNN / Cascade RCNN-RS row (7 rows) builds from its YAML under
 * configs/experiments/maskrcnn with Model Garden's exact total and trainable parameter counts
 * (`param_counts.json` of ../shared/data/model-garden-reference: MG's `count_params()` on the same
 * experiment + YAML). The Mask R-CNN task is not registered yet, so each YAML's `task.model` is
 * read over its experiment's model section (src/tasks/maskrcnn/model_defaults.ts) and built with
 * the backbone factory and `buildMaskRCNN`; weights are zeros (withShapeOnlyBuild), created from
 * small inputs by `buildWeights`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { backboneConfig } from '../../../src/modeling/backbones/config.js';
import { buildBackbone } from '../../../src/modeling/backbones/factory.js';
import { buildDecoder } from '../../../src/modeling/decoders/factory.js';
import { buildMaskRCNN } from '../../../src/modeling/models/maskrcnn_model.js';
import { experimentModelConfig } from '../../../src/tasks/maskrcnn/model_defaults.js';
import { REPO_ROOT, sharedData } from '../../helpers.js';

// wasm: the shape-only build still runs the forward convolutions, faster than on 'cpu'.
await initBackend('wasm');

const DIR = join(REPO_ROOT, 'configs', 'experiments', 'maskrcnn');

interface MgRow {
  id: string;
  exp: string;
  yaml: string;
  kind: string;
  input_size: number[];
  params_total: number;
  params_trainable: number;
  overrides: unknown;
}

const ROWS = (
  JSON.parse(readFileSync(sharedData('model-garden-reference', 'param_counts.json'), 'utf8')) as {
    rows: MgRow[];
  }
).rows.filter((r) => r.kind === 'maskrcnn' && r.overrides === null);

test('every seed Mask R-CNN and Cascade RCNN-RS row builds with Model Garden parameter counts', () => {
  assert.equal(ROWS.length, 7, 'param_counts.json lists the 7 seed rows');
  for (const row of ROWS) {
    const file = row.yaml.slice(row.yaml.lastIndexOf('/') + 1);
    const text = readFileSync(join(DIR, file), 'utf8');
    assert.ok(text.startsWith(`# --experiment_type=${row.exp}`), `${file} names ${row.exp}`);
    const yaml = parse(text) as { task: { model: Record<string, unknown> } };
    const cfg = experimentModelConfig(row.exp, yaml.task.model);
    assert.deepEqual(cfg.input_size, row.input_size, file);
    const backbone = buildBackbone(cfg.backbone, cfg.norm_activation);
    const decoder = buildDecoder(cfg.decoder, {
      inputSpecs: backbone.outputSpecs,
      minLevel: cfg.min_level,
      maxLevel: cfg.max_level,
      normActivation: cfg.norm_activation,
    });
    const model = buildMaskRCNN(backbone, decoder, cfg);
    try {
      // The smallest input with a level-7 feature; parameter shapes do not depend on it.
      withShapeOnlyBuild(() => model.buildWeights([128, 128]));
      assert.equal(model.countParams(), row.params_total, `${file}: total parameters`);
      assert.equal(
        model.countTrainableParams(),
        row.params_trainable,
        `${file}: trainable parameters`,
      );
    } finally {
      model.dispose();
    }
  }
});

test('the cascade experiment default has 3 box heads, its seed YAMLs 2', () => {
  const dflt = experimentModelConfig('cascadercnn_spinenet_coco');
  assert.deepEqual(dflt.roi_sampler.cascade_iou_thresholds, [0.6, 0.7]);
  const yaml = parse(readFileSync(join(DIR, 'coco_spinenet96_cascadercnn_tpu.yaml'), 'utf8')) as {
    task: { model: Record<string, unknown> };
  };
  const cfg = experimentModelConfig('cascadercnn_spinenet_coco', yaml.task.model);
  assert.deepEqual(cfg.roi_sampler.cascade_iou_thresholds, [0.7]);
  const heads = (c: typeof cfg) => {
    const backbone = buildBackbone(
      backboneConfig.parse({ type: 'spinenet', spinenet: { model_id: '49S' } }),
      c.norm_activation,
    );
    const m = buildMaskRCNN(backbone, null, c);
    const n = m.detectionHeads.map((h) => h.name);
    m.dispose();
    return n;
  };
  assert.deepEqual(heads(dflt), ['detection_head', 'detection_head_1', 'detection_head_2']);
  assert.deepEqual(heads(cfg), ['detection_head', 'detection_head_1']);
});
