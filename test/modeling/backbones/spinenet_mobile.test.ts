import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild, type Layer } from '../../../src/core/layer.js';
import { normActivationConfig } from '../../../src/core/config/vision_common.js';
import { backboneConfig } from '../../../src/modeling/backbones/config.js';
import { buildBackbone } from '../../../src/modeling/backbones/factory.js';
import { StochasticDepth } from '../../../src/modeling/layers/dropout.js';
import { sharedData } from '../../helpers.js';
import { assertMatchesReference } from './retinanet_reference.js';

await initBackend('cpu');

const REF = sharedData('model-garden-reference');
/** The seed YAML's norm_activation (coco_spinenet49_mobile_tpu.yaml). */
const NA = normActivationConfig.parse({ activation: 'hard_swish' });

interface ParamRow {
  id: string;
  backbone_type: string;
  backbone_config: Record<string, unknown>;
  params_backbone: number;
}

function build(
  spinenet_mobile: Record<string, unknown>,
): Layer<tf.Tensor, Record<string, tf.Tensor>> {
  return buildBackbone(backboneConfig.parse({ type: 'spinenet_mobile', spinenet_mobile }), NA);
}

function buildShapes(net: Layer<tf.Tensor, Record<string, tf.Tensor>>, size = 384): number[][] {
  return withShapeOnlyBuild(() =>
    tf.tidy(() => Object.values(net.apply(tf.zeros([0, size, size, 3]))).map((t) => t.shape)),
  );
}

test('Mobile SpineNet-49 counts exactly Model Garden parameters; endpoints at 384', () => {
  const rows = (
    JSON.parse(readFileSync(`${REF}/param_counts.json`, 'utf8')) as { rows: ParamRow[] }
  ).rows.filter((r) => r.backbone_type === 'spinenet_mobile');
  assert.deepEqual(
    rows.map((r) => [r.id, r.params_backbone]),
    [['retinanet_spinenet49mobile_i384', 2_313_892]],
  );
  const net = build(rows[0].backbone_config);
  assert.deepEqual(buildShapes(net), [
    [0, 48, 48, 48],
    [0, 24, 24, 48],
    [0, 12, 12, 48],
    [0, 6, 6, 48],
    [0, 3, 3, 48],
  ]);
  assert.equal(net.countParams(), rows[0].params_backbone);
  net.dispose();
});

interface RefVariable {
  name: string;
  shape: number[];
  keras_name: string | null;
}

test('the retinanet_spinenet_mobile reference backbone has the checkpoint variable list of Model Garden', () => {
  const net = build({ model_id: '49', se_ratio: 0.2, expand_ratio: 6 });
  buildShapes(net);
  const prefix = 'model/_backbone/';
  const suffix = '/.ATTRIBUTES/VARIABLE_VALUE';
  const ref = (
    JSON.parse(
      readFileSync(`${REF}/retinanet_spinenet_mobile/variables.json`, 'utf8'),
    ) as RefVariable[]
  )
    .filter((v) => v.name.startsWith(prefix))
    .map((v) => ({ ...v, path: v.name.slice(prefix.length, -suffix.length) }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  const ours = net
    .weights()
    .map((w) => ({ path: w.objectPath, shape: w.variable.shape }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  assert.equal(ref.length, 667);
  assert.equal(ours.length, ref.length);
  ours.forEach((w, i) => {
    assert.equal(w.path, ref[i].path);
    assert.deepEqual(w.shape, ref[i].shape, w.path);
  });
  for (const v of ref) {
    const attr = v.path.split('/')[0];
    assert.equal(net.child(attr).name, v.keras_name?.split('/')[0], v.path);
  }
  net.dispose();
});

test('Mobile SpineNet-49XS runs; Keras UpSampling2D gives the same variables and values', () => {
  const a = build({ model_id: '49XS', stochastic_depth_drop_rate: 0.2 });
  const b = build({
    model_id: '49XS',
    stochastic_depth_drop_rate: 0.2,
    use_keras_upsampling_2d: true,
  });
  const x = tf.randomNormal([1, 128, 128, 3], 0, 1, 'float32', 11);
  const ya = a.apply(x);
  tf.dispose(b.apply(x));
  // One UpSampling2D layer is shallower than MG's reshape/tile ops, so Keras numbers the
  // `layer_with_weights-N` differently; the Keras layer names (creation order) are the same.
  const byName = new Map(a.weights().map((w) => [w.path, w.variable]));
  assert.equal(byName.size, b.weights().length);
  for (const w of b.weights()) {
    const v = byName.get(w.path);
    assert.ok(v, w.path);
    w.variable.assign(v);
  }
  const yb = b.apply(x);
  assert.deepEqual(
    Object.entries(ya).map(([k, t]) => [k, t.shape]),
    [3, 4, 5, 6, 7].map((l) => [String(l), [1, 128 / 2 ** l, 128 / 2 ** l, 24]]),
  );
  for (const k of Object.keys(ya)) {
    assert.deepEqual(Array.from(ya[k].dataSync()), Array.from(yb[k].dataSync()), k);
  }
  // Stochastic depth: block i of 16 drops at 0.2 · i / 16; the two stem blocks have none.
  const rates = a
    .layers()
    .map(
      (l) =>
        (l.layers().find((c) => c instanceof StochasticDepth) as StochasticDepth | undefined)
          ?.dropRate,
    )
    .filter((r) => r !== undefined)
    .sort((p, q) => (p as number) - (q as number));
  assert.equal(rates.length, 16);
  rates.forEach((r, i) => assert.ok(Math.abs((r as number) - (0.2 * (i + 1)) / 16) < 1e-12));
  tf.dispose([x, ya, yb]);
  a.dispose();
  b.dispose();
});

test('bad Mobile SpineNet settings are rejected with a clear error', () => {
  assert.throws(
    () => build({ model_id: '96' }),
    /unknown model_id '96'; choose one of 49, 49S, 49XS/,
  );
  assert.throws(() => build({ min_level: 2 }), /needs an output block at level 2/);
  // MG lowers levels above max_level, so max_level 6 yields two level-6 outputs.
  assert.throws(() => build({ max_level: 6 }), /output level 6 twice/);
  const net = build({});
  assert.throws(() => net.apply(tf.zeros([1, 128, 96, 3])), /multiples of 128, got 128x96/);
  net.dispose();
});

test('the retinanet_spinenet_mobile reference checkpoint loads into our backbone and reproduces MG outputs', () => {
  const net = build({ model_id: '49', se_ratio: 0.2, expand_ratio: 6 });
  buildShapes(net);
  // Measured: box max |diff| 7e-5 (outputs up to 3.4), class 2.5e-4 (up to 21).
  assertMatchesReference(`${REF}/retinanet_spinenet_mobile`, net, {
    numConvs: 4,
    separable: true,
    activation: 'hard_swish',
  });
  net.dispose();
});
