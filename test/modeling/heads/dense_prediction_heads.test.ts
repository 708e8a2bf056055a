import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { RetinaNetHead } from '../../../src/modeling/heads/dense_prediction_heads.js';

await initBackend('cpu');

const REF = new URL('../../../../../shared/data/model-garden-reference/', import.meta.url);

function features(
  channels: number,
  minLevel = 3,
  maxLevel = 7,
  size = 32,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (let l = minLevel; l <= maxLevel; l++) {
    const s = Math.max(1, size >> (l - minLevel));
    out[String(l)] = tf.randomNormal([1, s, s, channels], 0, 1, 'float32', l);
  }
  return out;
}

function disposeAll(rec: Record<string, tf.Tensor>): void {
  for (const t of Object.values(rec)) t.dispose();
}

test('RetinaNet head of R50-FPN 640 (91 classes, 9 anchors) counts Model Garden parameters', () => {
  const rows = (
    JSON.parse(readFileSync(new URL('param_counts.json', REF), 'utf8')) as {
      rows?: unknown[];
    } & Record<string, unknown>
  ).rows as { id: string; params_components: Record<string, number> }[];
  const row = rows.find((r) => r.id === 'retinanet_r50fpn_i640');
  assert.ok(row, 'row retinanet_r50fpn_i640 in param_counts.json');
  const head = new RetinaNetHead({
    minLevel: 3,
    maxLevel: 7,
    numClasses: 91,
    numAnchorsPerLocation: 3 * 3,
  });
  const f = features(256, 3, 7, 4);
  withShapeOnlyBuild(() => tf.tidy(() => void head.apply(f)));
  disposeAll(f);
  assert.equal(head.countParams(), row.params_components.head);
  // BN moving statistics are the only non-trainable weights: 2 towers × 5 levels × 4 convs × 2 × 256.
  assert.equal(head.countParams() - head.countTrainableParams(), 2 * 5 * 4 * 2 * 256);
  head.dispose();
});

test('separable RetinaNet head has the variables of the retinanet_mobilenetv2 reference', () => {
  const vars = JSON.parse(
    readFileSync(new URL('retinanet_mobilenetv2/variables.json', REF), 'utf8'),
  ) as { name: string; shape: number[]; keras_name: string | null }[];
  const prefix = 'model/_head/';
  const suffix = '/.ATTRIBUTES/VARIABLE_VALUE';
  const expected = new Map(
    vars
      .filter((v) => v.name.startsWith(prefix))
      .map((v) => [v.name.slice(prefix.length, -suffix.length), v]),
  );
  assert.ok(expected.size > 100);
  // case.json / config.yaml: 10 classes, head 4 × 128 separable, anchors 3 scales × 3 ratios.
  const head = new RetinaNetHead({
    minLevel: 3,
    maxLevel: 7,
    numClasses: 10,
    numAnchorsPerLocation: 9,
    numConvs: 4,
    numFilters: 128,
    useSeparableConv: true,
  });
  const f = features(128, 3, 7, 4);
  withShapeOnlyBuild(() => tf.tidy(() => void head.apply(f)));
  disposeAll(f);
  const ours = head.weights();
  assert.equal(ours.length, expected.size);
  for (const w of ours) {
    const ref = expected.get(w.objectPath);
    assert.ok(ref, `no reference variable for ${w.objectPath}`);
    assert.deepEqual(w.variable.shape, ref.shape, w.objectPath);
    assert.equal(w.path, ref.keras_name, w.objectPath);
  }
  head.dispose();
});

test('RetinaNet head outputs [B, H, W, A·C] and [B, H, W, A·4] per level with the prior bias', () => {
  const head = new RetinaNetHead({
    minLevel: 3,
    maxLevel: 4,
    numClasses: 3,
    numAnchorsPerLocation: 2,
    numConvs: 2,
    numFilters: 8,
  });
  const f = features(5, 3, 4, 8);
  const { scores, boxes } = head.apply(f, { training: false });
  assert.deepEqual(scores['3'].shape, [1, 8, 8, 6]);
  assert.deepEqual(scores['4'].shape, [1, 4, 4, 6]);
  assert.deepEqual(boxes['3'].shape, [1, 8, 8, 8]);
  assert.deepEqual(boxes['4'].shape, [1, 4, 4, 8]);
  // Predictor kernels ~ N(0, 1e-5): the logits sit at the prior log(0.01 / 0.99).
  const prior = Math.log(0.01 / 0.99);
  for (const v of scores['3'].dataSync()) assert.ok(Math.abs(v - prior) < 1e-2, `${v}`);
  const bias = head.weights().find((w) => w.path.endsWith('scores/bias'));
  assert.ok(bias);
  for (const v of bias.variable.dataSync()) assert.ok(Math.abs(v - prior) < 1e-6);
  // Shared convs: levels 3 and 4 use the same tower conv but their own batch norms.
  const names = head.weights().map((w) => w.path);
  assert.ok(names.includes('retina_net_head/classnet-conv_0/kernel'));
  assert.ok(names.includes('retina_net_head/classnet-conv-norm_4_1/gamma'));
  disposeAll(f);
  disposeAll(scores);
  disposeAll(boxes);
  head.dispose();
});

test('RetinaNet head with share_level_convs false keeps one conv and predictor per level', () => {
  const head = new RetinaNetHead({
    minLevel: 3,
    maxLevel: 4,
    numClasses: 2,
    numAnchorsPerLocation: 1,
    numConvs: 1,
    numFilters: 4,
    shareLevelConvs: false,
  });
  const f = features(4, 3, 4, 4);
  const out = head.apply(f);
  const paths = head.weights().map((w) => `${w.objectPath}=${w.path}`);
  assert.ok(paths.includes('_cls_convs/1/0/kernel=retina_net_head/classnet-conv_4_0/kernel'));
  assert.ok(paths.includes('_classifier/1/bias=retina_net_head/scores-4/bias'));
  assert.ok(paths.includes('_box_regressor/0/kernel=retina_net_head/boxes-3/kernel'));
  // Per level: (conv 3·3·4·4 + 4, BN 16) per tower + predictors 3·3·4·2 + 2 and 3·3·4·4 + 4.
  const perLevel = 2 * (3 * 3 * 4 * 4 + 4 + 16) + (3 * 3 * 4 * 2 + 2) + (3 * 3 * 4 * 4 + 4);
  assert.equal(head.countParams(), 2 * perLevel);
  disposeAll(f);
  disposeAll(out.scores);
  disposeAll(out.boxes);
  head.dispose();
});

test('RetinaNet head rejects attribute heads and names a missing level', () => {
  assert.throws(
    () =>
      new RetinaNetHead({
        minLevel: 3,
        maxLevel: 4,
        numClasses: 2,
        numAnchorsPerLocation: 1,
        attributeHeads: [{ name: 'depth', type: 'regression', size: 1 }],
      }),
    /attribute_heads/,
  );
  const head = new RetinaNetHead({
    minLevel: 3,
    maxLevel: 4,
    numClasses: 2,
    numAnchorsPerLocation: 1,
  });
  const f = features(4, 3, 3, 4);
  assert.throws(() => head.apply(f), /level 4/);
  disposeAll(f);
});
