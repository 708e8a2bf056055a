import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild, type Layer, type StateUpdate } from '../../../src/core/layer.js';
import { Rng } from '../../../src/core/random.js';
import { normActivationConfig } from '../../../src/core/config/vision_common.js';
import { backboneConfig } from '../../../src/modeling/backbones/config.js';
import { buildBackbone } from '../../../src/modeling/backbones/factory.js';
import {
  SpineNet,
  SPINENET_BLOCK_SPECS,
  type SpineNetOptions,
} from '../../../src/modeling/backbones/spinenet.js';
import { nearestUpsampling } from '../../../src/modeling/backbones/functional_graph.js';
import { StochasticDepth } from '../../../src/modeling/layers/dropout.js';
import { sharedData } from '../../helpers.js';
import { assertMatchesReference } from './retinanet_reference.js';

await initBackend('cpu');

const REF = sharedData('model-garden-reference');

/** Builds the variables with an empty batch: every shape, no arithmetic. */
function buildShapes(net: Layer<tf.Tensor, Record<string, tf.Tensor>>, size = 128): number[][] {
  return withShapeOnlyBuild(() =>
    tf.tidy(() => Object.values(net.apply(tf.zeros([0, size, size, 3]))).map((t) => t.shape)),
  );
}

interface ParamRow {
  id: string;
  backbone_type: string;
  backbone_config: Record<string, unknown>;
  params_backbone: number;
}

test('SpineNet-49/96/143 count exactly Model Garden parameters (param_counts.json rows)', () => {
  const rows = (
    JSON.parse(readFileSync(`${REF}/param_counts.json`, 'utf8')) as { rows: ParamRow[] }
  ).rows.filter((r) => r.backbone_type === 'spinenet' && r.id.startsWith('retinanet_'));
  assert.deepEqual(
    rows.map((r) => [r.id, r.params_backbone]),
    [
      ['retinanet_spinenet49_i640', 21_920_192],
      ['retinanet_spinenet96_i1024', 36_385_728],
      ['retinanet_spinenet143_i1280', 60_413_888],
    ],
  );
  for (const row of rows) {
    const cfg = backboneConfig.parse({ type: 'spinenet', spinenet: row.backbone_config });
    // The seed YAMLs use swish (it adds no variables, so the count does not depend on it).
    const net = buildBackbone(cfg, normActivationConfig.parse({ activation: 'swish' }));
    buildShapes(net);
    assert.equal(net.countParams(), row.params_backbone, row.id);
    net.dispose();
  }
});

/** SCALING_MAP['49S'] as patched by the retinanet_spinenet reference case (case.json). */
const REFERENCE_CASE_OPTS: SpineNetOptions = {
  endpointsNumFilters: 64,
  filterSizeScale: 0.25,
  resampleAlpha: 0.5,
  blockRepeats: 1,
  activation: 'swish',
};

interface RefVariable {
  name: string;
  shape: number[];
  keras_name: string | null;
}

test('the retinanet_spinenet reference backbone has the checkpoint variable list of Model Garden', () => {
  const net = new SpineNet(REFERENCE_CASE_OPTS);
  buildShapes(net);
  const prefix = 'model/_backbone/';
  const suffix = '/.ATTRIBUTES/VARIABLE_VALUE';
  const ref = (
    JSON.parse(readFileSync(`${REF}/retinanet_spinenet/variables.json`, 'utf8')) as RefVariable[]
  )
    .filter((v) => v.name.startsWith(prefix))
    .map((v) => ({ ...v, path: v.name.slice(prefix.length, -suffix.length) }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  const ours = net
    .weights()
    .map((w) => ({ path: w.objectPath, shape: w.variable.shape }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  assert.equal(ours.length, ref.length);
  assert.equal(ref.length, 645);
  ours.forEach((w, i) => {
    assert.equal(w.path, ref[i].path);
    assert.deepEqual(w.shape, ref[i].shape, w.path);
  });
  // Each `layer_with_weights-N` is the Keras layer of the same default name (creation order).
  for (const v of ref) {
    const attr = v.path.split('/')[0];
    assert.equal(net.child(attr).name, v.keras_name?.split('/')[0], v.path);
  }
  assert.equal(net.countParams(), 1_411_776);
  net.dispose();
});

test('endpoints min_level..max_level: [batch, H/2^l, W/2^l, endpoints_num_filters]', () => {
  const net = new SpineNet({ ...REFERENCE_CASE_OPTS, minLevel: 2, maxLevel: 6 });
  // A non-square input (the real forward pass is checked against Model Garden below).
  const shapes = withShapeOnlyBuild(() =>
    tf.tidy(() => Object.values(net.apply(tf.zeros([0, 128, 256, 3]))).map((t) => t.shape)),
  );
  assert.deepEqual(shapes, [
    [0, 32, 64, 64],
    [0, 16, 32, 64],
    [0, 8, 16, 64],
    [0, 4, 8, 64],
    [0, 2, 4, 64],
  ]);
  assert.deepEqual(net.outputSpecs, {
    2: { channels: 64, stride: 4 },
    3: { channels: 64, stride: 8 },
    4: { channels: 64, stride: 16 },
    5: { channels: 64, stride: 32 },
    6: { channels: 64, stride: 64 },
  });
  net.dispose();
});

test('stochastic depth: scale-permuted block i (1-based) drops at rate · i / 16; stem blocks none', () => {
  const net = buildBackbone(
    backboneConfig.parse({
      type: 'spinenet',
      spinenet: { model_id: '49S', stochastic_depth_drop_rate: 0.2 },
    }),
    normActivationConfig.parse({}),
  );
  buildShapes(net);
  const rates = new Map<string, number | null>();
  for (const block of net.layers()) {
    if (!/^(bottleneck|residual)_block/.test(block.name)) continue;
    const sd = block.layers().find((l) => l instanceof StochasticDepth) as
      StochasticDepth | undefined;
    rates.set(block.name, sd ? sd.dropRate : null);
  }
  // Keras names count blocks of each kind in creation order: two stem bottlenecks, then the specs.
  const expected = new Map<string, number | null>([
    ['bottleneck_block', null],
    ['bottleneck_block_1', null],
  ]);
  const counts = { bottleneck: 2, residual: 0 };
  SPINENET_BLOCK_SPECS.forEach(([level, fn, , isOutput], i) => {
    const n = counts[fn]++;
    // The level-2 output block feeds no endpoint of levels 3..7, so Keras drops it.
    if (!(isOutput && level === 2))
      expected.set(n ? `${fn}_block_${n}` : `${fn}_block`, (0.2 * (i + 1)) / 16);
  });
  assert.equal(rates.size, expected.size);
  for (const [name, rate] of expected) {
    const got = rates.get(name);
    if (rate === null) assert.equal(got, null, name);
    else assert.ok(got !== null && got !== undefined && Math.abs(got - rate) < 1e-12, name);
  }
  net.dispose();
});

test('training mode: every batch norm of the graph reports its moving statistics', () => {
  const net = new SpineNet({ ...REFERENCE_CASE_OPTS, initStochasticDepthRate: 0.2 });
  buildShapes(net);
  const stateUpdates: StateUpdate[] = [];
  const shapes = tf.tidy(() =>
    Object.values(
      net.apply(tf.zeros([0, 128, 128, 3]), { training: true, stateUpdates, rng: new Rng(1) }),
    ).map((t) => t.shape),
  );
  assert.equal(shapes.length, 5);
  const moving = net.weights().filter((w) => /moving_(mean|variance)$/.test(w.path));
  // 129 batch norms in the reference backbone (169 in case.json, less the head's 40).
  assert.equal(moving.length, 2 * 129);
  assert.deepEqual(
    stateUpdates.map((u) => u.variable.name).sort(),
    moving.map((w) => w.variable.name).sort(),
  );
  tf.dispose(stateUpdates.map((u) => u.value));
  net.dispose();
});

test('nearest upsampling repeats each pixel scale x scale times', () => {
  const y = tf.tidy(() => nearestUpsampling(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]), 2));
  assert.deepEqual(Array.from(y.dataSync()), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  y.dispose();
});

test('bad SpineNet settings are rejected with a clear error', () => {
  const na = normActivationConfig.parse({});
  const build = (spinenet: Record<string, unknown>) =>
    buildBackbone(backboneConfig.parse({ type: 'spinenet', spinenet }), na);
  assert.throws(() => build({ model_id: '50' }), /unknown model_id '50'; choose one of .*49S/);
  assert.throws(() => build({ min_level: 1 }), /needs an output block at level 1/);
  assert.throws(() => build({ max_level: 8 }), /needs an output block at level 8/);
  assert.throws(
    () => buildBackbone(backboneConfig.parse({ type: 'spinenet' }), { ...na, activation: 'gelu' }),
    /activation 'gelu' is not implemented/,
  );
  // model_id may be written as a YAML number.
  const net = build({ model_id: 49 });
  assert.throws(
    () => tf.tidy(() => void net.apply(tf.zeros([1, 192, 128, 3]))),
    /multiples of 128, got 192x128/,
  );
  net.dispose();
});

test('the retinanet_spinenet reference checkpoint loads into our backbone and reproduces MG outputs', () => {
  const net = new SpineNet(REFERENCE_CASE_OPTS);
  buildShapes(net);
  // Through ~50 layers: measured max differences are ~4e-5 of each output's largest magnitude
  // (box 7e-5, class 6e-4).
  assertMatchesReference(`${REF}/retinanet_spinenet`, net, {
    numConvs: 4,
    separable: false,
    activation: 'swish',
  });
  net.dispose();
});
