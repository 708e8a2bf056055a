import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { ResNet, RESNET_SPECS } from '../../../src/modeling/backbones/resnet.js';
import { ClassificationModel } from '../../../src/modeling/models/classification_model.js';
import { BottleneckBlock } from '../../../src/modeling/blocks/bottleneck_block.js';
import { StochasticDepth } from '../../../src/modeling/layers/dropout.js';

await initBackend('cpu');

/** Builds the variables with a tiny input (shapes do not depend on the spatial size). */
function buildCount(model: ResNet | ClassificationModel): number {
  withShapeOnlyBuild(() => tf.tidy(() => void model.apply(tf.zeros([1, 4, 4, 3]))));
  const n = model.countParams();
  model.dispose();
  return n;
}

test('ResNet backbones count exactly Model Garden parameters (BN statistics included)', () => {
  const expected: Record<number, number> = {
    18: 11_190_464,
    34: 21_306_048,
    50: 23_561_152,
    101: 42_605_504,
    152: 58_295_232,
  };
  for (const [depth, count] of Object.entries(expected)) {
    assert.equal(buildCount(new ResNet({ modelId: Number(depth) })), count, `ResNet-${depth}`);
  }
});

/**
 * Independent count from the spec table: conv kernels k·k·in·out, BN 4·channels (gamma, beta,
 * moving mean, moving variance), v0 stem, projection on the first block of each group.
 */
function referenceCount(depth: number): number {
  const bn = (c: number) => 4 * c;
  let n = 7 * 7 * 3 * 64 + bn(64);
  let inC = 64;
  for (const [fn, filters, repeats] of RESNET_SPECS[depth] ?? []) {
    for (let b = 0; b < repeats; b++) {
      if (fn === 'residual') {
        if (b === 0) n += inC * filters + bn(filters);
        n += 9 * inC * filters + bn(filters) + 9 * filters * filters + bn(filters);
        inC = filters;
      } else {
        const out = 4 * filters;
        if (b === 0) n += inC * out + bn(out);
        n += inC * filters + bn(filters) + 9 * filters * filters + bn(filters);
        n += filters * out + bn(out);
        inC = out;
      }
    }
  }
  return n;
}

test('every RESNET_SPECS depth builds with the count of an independent tally', () => {
  for (const depth of [10, 26, 200]) {
    assert.equal(buildCount(new ResNet({ modelId: depth })), referenceCount(depth), `${depth}`);
  }
  assert.deepEqual(
    Object.keys(RESNET_SPECS).map(Number),
    [10, 18, 26, 34, 50, 101, 152, 200, 270, 350, 420],
  );
});

test('the default (random) initialisation path builds ResNet-10 with the same count', () => {
  const r = new ResNet({ modelId: 10 });
  tf.tidy(() => void r.apply(tf.zeros([1, 8, 8, 3])));
  assert.equal(r.countParams(), referenceCount(10));
  const stemKernel = r.weights()[0];
  assert.equal(stemKernel.path.endsWith('conv2d/kernel'), true);
  assert.ok(tf.tidy(() => tf.moments(stemKernel.variable).variance.dataSync()[0]) > 0);
  r.dispose();
});

test('endpoints 2..5 on a 64x64 input have strides 4..32 and MG channels', () => {
  for (const [depth, channels] of [
    [18, [64, 128, 256, 512]],
    [50, [256, 512, 1024, 2048]],
  ] as const) {
    const r = new ResNet({ modelId: depth });
    const shapes = withShapeOnlyBuild(() =>
      tf.tidy(() => {
        const eps = r.apply(tf.zeros([2, 64, 64, 3]));
        return Object.fromEntries(Object.entries(eps).map(([k, v]) => [k, v.shape]));
      }),
    );
    assert.deepEqual(shapes, {
      2: [2, 16, 16, channels[0]],
      3: [2, 8, 8, channels[1]],
      4: [2, 4, 4, channels[2]],
      5: [2, 2, 2, channels[3]],
    });
    assert.deepEqual(r.outputSpecs['5'], { channels: channels[3], stride: 32 });
    r.dispose();
  }
});

test('output_stride 16 dilates the last group instead of striding', () => {
  const r = new ResNet({ modelId: 50, outputStride: 16 });
  const s5 = withShapeOnlyBuild(() => tf.tidy(() => r.apply(tf.zeros([1, 64, 64, 3]))['5']?.shape));
  assert.deepEqual(s5, [1, 4, 4, 2048]);
  assert.deepEqual(r.outputSpecs['5'], { channels: 2048, stride: 16 });
  r.dispose();
  assert.throws(() => new ResNet({ modelId: 18, outputStride: 8 }), /basic residual block/);
});

const RESNET_RS = {
  stemType: 'v1',
  resnetdShortcut: true,
  replaceStemMaxPool: true,
  seRatio: 0.25,
};

test('ResNet-RS classifiers match the seed table within 0.5%', () => {
  const seed: [number, number][] = [
    [50, 35.7e6],
    [101, 63.7e6],
    [152, 86.8e6],
    [200, 93.4e6],
    [270, 130.1e6],
    [350, 164.3e6],
  ];
  for (const [depth, params] of seed) {
    const model = new ClassificationModel({
      backbone: new ResNet({ modelId: depth, ...RESNET_RS }),
      numClasses: 1000,
    });
    const n = buildCount(model);
    assert.ok(Math.abs(n - params) / params < 0.005, `ResNet-RS-${depth}: ${n} vs ${params}`);
  }
});

test('stochastic depth rate scales per group as init * (i + 2) / 5', () => {
  const r = new ResNet({ modelId: 50, initStochasticDepthRate: 0.1, ...RESNET_RS });
  const rates = r
    .layers()
    .filter((l): l is BottleneckBlock => l instanceof BottleneckBlock)
    .map((b) => (b.child('_stochastic_depth') as StochasticDepth).dropRate);
  const want = [3, 4, 6, 3].flatMap((n, i) => Array<number>(n).fill((0.1 * (i + 2)) / 5));
  assert.equal(rates.length, want.length);
  rates.forEach((rate, i) => assert.ok(Math.abs((rate ?? -1) - want[i]!) < 1e-12, `block ${i}`));
  // Without a rate no stochastic depth layer is created.
  const plain = new ResNet({ modelId: 50 });
  assert.throws(() => (plain.layers()[3] as BottleneckBlock).child('_stochastic_depth'));
});

test('ResNet-D shortcut pools before a stride-1 projection (MG attribute names)', () => {
  const block = new BottleneckBlock({
    filters: 2,
    strides: 2,
    useProjection: true,
    resnetdShortcut: true,
  });
  const x = tf.tensor4d(
    Array.from({ length: 16 }, (_, i) => i),
    [1, 4, 4, 1],
  );
  const y = tf.tidy(() => block.apply(x));
  assert.deepEqual(y.shape, [1, 2, 2, 8]);
  const paths = block.weights().map((w) => w.objectPath);
  assert.ok(paths.includes('_shortcut1/kernel'));
  assert.deepEqual(
    block.weights().find((w) => w.objectPath === '_shortcut1/kernel')?.variable.shape,
    [1, 1, 1, 8],
  );
  block.dispose();
});

test('bad options name the field and value', () => {
  assert.throws(() => new ResNet({ modelId: 77 }), /model_id 77/);
  assert.throws(() => new ResNet({ modelId: 50, stemType: 'v2' }), /stem_type 'v2'/);
});
