import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { setGlobalSeed } from '../../../src/core/random.js';
import {
  decodeMobileNetSpecs,
  MobileNet,
  type MobileNetOptions,
} from '../../../src/modeling/backbones/mobilenet.js';
import { InvertedBottleneckBlock } from '../../../src/modeling/blocks/inverted_bottleneck_block.js';
import { sharedData } from '../../helpers.js';

await initBackend('cpu');

const MG = sharedData('model-garden-reference');

/** Builds at 64×64 with shape-only weights; returns the model and its endpoint shapes. */
function build(opts: MobileNetOptions): { m: MobileNet; shapes: Record<string, number[]> } {
  const m = new MobileNet(opts);
  const shapes: Record<string, number[]> = {};
  withShapeOnlyBuild(() =>
    tf.tidy(() => {
      for (const [k, v] of Object.entries(m.apply(tf.zeros([1, 64, 64, 3])))) shapes[k] = v.shape;
    }),
  );
  return { m, shapes };
}

/** Keras applications' published totals with a 1000-class top, less that top (units·1000+1000). */
const KERAS_TOTAL_LESS_TOP: [string, number, number][] = [
  ['MobileNetV1', 4_253_864, 1024],
  ['MobileNetV2', 3_538_984, 1280],
  ['MobileNetV3Large', 5_507_432, 1280],
  ['MobileNetV3Small', 2_554_968, 1024],
];

test('MobileNet V1/V2/V3 backbones count as Keras applications without their top', () => {
  for (const [id, total, lastWidth] of KERAS_TOTAL_LESS_TOP) {
    const { m, shapes } = build({ modelId: id });
    assert.equal(m.countParams(), total - (lastWidth * 1000 + 1000), id);
    assert.equal(shapes[m.finalEndpoint].at(-1), lastWidth, `${id} final width`);
    m.dispose();
  }
});

test('MobileNetV2 equals the RetinaNet backbone count in param_counts.json', () => {
  const json = JSON.parse(readFileSync(`${MG}/param_counts.json`, 'utf8')) as {
    rows: { id: string; params_backbone: number }[];
  };
  const row = json.rows.find((r) => r.id === 'retinanet_mobilenetv2_i256');
  const { m } = build({ modelId: 'MobileNetV2' });
  assert.equal(m.countParams(), row?.params_backbone);
  assert.equal(m.countParams(), 2_257_984);
  m.dispose();
});

test('MobileNetV2 object paths and Keras names equal the Model Garden checkpoint', () => {
  const vars = JSON.parse(readFileSync(`${MG}/retinanet_mobilenetv2/variables.json`, 'utf8')) as {
    name: string;
    keras_name: string;
  }[];
  const prefix = 'model/_backbone/';
  const mg = vars
    .filter((v) => v.name.startsWith(prefix))
    .map((v) => [
      v.name.slice(prefix.length).replace('/.ATTRIBUTES/VARIABLE_VALUE', ''),
      v.keras_name,
    ])
    .sort();
  const { m } = build({ modelId: 'MobileNetV2' });
  const ours = m
    .weights()
    .map((w) => [
      w.objectPath.slice(w.objectPath.indexOf('layer_with_weights')),
      w.path.split('/').slice(1).join('/'),
    ])
    .sort();
  assert.deepEqual(ours, mg);
  m.dispose();
});

test('endpoints: pyramid levels 2..5 at strides 4..32 plus the final block one level up', () => {
  const { m, shapes } = build({ modelId: 'MobileNetV2' });
  assert.deepEqual(m.outputSpecs, {
    '2': { channels: 24, stride: 4 },
    '3': { channels: 32, stride: 8 },
    '4': { channels: 96, stride: 16 },
    '5': { channels: 320, stride: 32 },
  });
  for (const [k, s] of Object.entries(m.outputSpecs)) {
    assert.deepEqual(shapes[k], [
      1,
      64 / (s.stride as number),
      64 / (s.stride as number),
      s.channels,
    ]);
  }
  assert.equal(m.finalEndpoint, '6');
  assert.deepEqual(shapes['6'], [1, 2, 2, 1280]);
  m.dispose();
});

test('output_stride 16 keeps stride 16 with dilation and stops advancing the level', () => {
  const { m, shapes } = build({ modelId: 'MobileNetV2', outputStride: 16 });
  // Levels 2, 3 and 4 (stride 16 reached); the 320-wide output stays at stride 16 and reuses
  // level 4's key, then the final block is level 5 (MG's counter).
  assert.deepEqual(m.outputSpecs['4'], { channels: 320, stride: 16 });
  assert.deepEqual(shapes['4'], [1, 4, 4, 320]);
  assert.deepEqual(shapes[m.finalEndpoint], [1, 4, 4, 1280]);
  assert.equal(m.countParams(), 2_257_984);
  m.dispose();
});

test('filter_size_scale rounds to multiples of 8 and keeps the last layer wide (finegrain)', () => {
  const specs = decodeMobileNetSpecs('MobileNetV2', 0.35, 8, true);
  assert.deepEqual(
    specs.map((s) => s.filters),
    // make_divisible(f · 0.35, 8, min 8), with the 10% round-down guard; last = 1280.
    [16, 8, 8, 8, 16, 16, 16, 24, 24, 24, 24, 32, 32, 32, 56, 56, 56, 112, 1280],
  );
  const v1 = decodeMobileNetSpecs('MobileNetV1', 0.25, 1, true);
  assert.deepEqual(
    v1.map((s) => s.filters),
    [8, 16, 32, 32, 64, 64, 128, 128, 128, 128, 128, 128, 256, 256],
  );
});

test('inverted bottleneck: residual only at stride 1 with equal widths, SE on the expansion', () => {
  const block = new InvertedBottleneckBlock({
    inFilters: 8,
    outFilters: 8,
    expandRatio: 3,
    seRatio: 0.25,
    expandSeInFilters: true,
    divisibleBy: 8,
  });
  const x = tf.randomNormal([1, 4, 4, 8], 0, 1, 'float32', 3);
  tf.tidy(() => block.apply(x));
  // Zero the projection's BN scale and shift: the branch is 0 and the block returns x.
  for (const w of block.weights()) {
    if (/batch_normalization_2\/(gamma|beta)$/.test(w.path))
      w.variable.assign(tf.zerosLike(w.variable));
  }
  const y = block.apply(x);
  assert.deepEqual(Array.from(y.dataSync()), Array.from(x.dataSync()));
  // expand 24 → SE reduce make_divisible(int(24 · 0.25) = 6, 8) = 8.
  const se = block.weights().filter((w) => w.path.includes('squeeze_excitation'));
  assert.deepEqual(
    se.map((w) => w.variable.shape),
    [[1, 1, 24, 8], [8], [1, 1, 8, 24], [24]],
  );
  tf.dispose([x, y]);
  block.dispose();
});

test('MobileNet rejects unknown model ids and bad scales by name', () => {
  assert.throws(() => new MobileNet({ modelId: 'MobileNetV9' }), /unknown model_id 'MobileNetV9'/);
  assert.throws(() => new MobileNet({ filterSizeScale: 0 }), /filter_size_scale must be > 0/);
  assert.throws(() => new MobileNet({ outputStride: 3 }), /output_stride 3/);
});

test('output_intermediate_endpoints adds each output block’s depthwise activation', () => {
  setGlobalSeed(4);
  const plain = new MobileNet({ modelId: 'MobileNetV2' });
  setGlobalSeed(4);
  const inter = new MobileNet({ modelId: 'MobileNetV2', outputIntermediateEndpoints: true });
  const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 1);
  const a = plain.apply(x);
  const b = inter.apply(x);
  // Expanded widths of the output blocks: 24·6, 32·6, 96·6 and 160·6 (the 320 block's input).
  for (const [k, c, s] of [
    ['2', 144, 4],
    ['3', 192, 8],
    ['4', 576, 16],
    ['5', 960, 32],
  ] as const) {
    assert.deepEqual(inter.outputSpecs[`${k}/depthwise`], { channels: c, stride: s });
    assert.deepEqual(b[`${k}/depthwise`].shape, [1, 32 / s, 32 / s, c]);
    assert.deepEqual(Array.from(b[k].dataSync()), Array.from(a[k].dataSync()), `level ${k}`);
  }
  assert.equal(a['5/depthwise'], undefined);
  tf.dispose([x, ...Object.values(a), ...Object.values(b)]);
  plain.dispose();
  inter.dispose();
});

/** Model Garden's mobilenet_test.py: backbone counts at filter_size_scale 1.0 and 0.75. */
const MG_PARAMS: Record<string, [number, number]> = {
  MobileNetV1: [3228864, 1832976],
  MobileNetV2: [2257984, 1382064],
  MobileNetV3Large: [4226432, 2731616],
  MobileNetV3Small: [1529968, 1026552],
  MobileNetV3EdgeTPU: [2849312, 1737288],
  MobileNetMultiAVG: [3704416, 2349704],
  MobileNetMultiMAX: [3174560, 2045816],
  MobileNetMultiAVGSeg: [2239840, 1395272],
  MobileNetMultiMAXSeg: [1929088, 1216544],
  MobilenetV3SmallReducedFilters: [694880, 505960],
  MobileNetV4ConvSmall: [2518112, 1670408],
  MobileNetV4ConvMedium: [8502416, 5096424],
  MobileNetV4ConvLarge: [31459416, 18099824],
  MobileNetV4ConvMediumSeg: [3787024, 2302536],
  MobileNetV4HybridMedium: [9869488, 6072584],
  MobileNetV4HybridLarge: [36648024, 21598064],
};

/** mobilenet_test.py: widths of endpoints 2..5 and of their '/depthwise' (null: none). */
const MG_WIDTHS: Record<string, [number[], (number | null)[]]> = {
  MobileNetV1: [[128, 256, 512, 1024], []],
  MobileNetV2: [
    [24, 32, 96, 320],
    [144, 192, 576, 960],
  ],
  MobileNetV3Small: [
    [16, 24, 48, 96],
    [16, 88, 144, 576],
  ],
  MobileNetV3Large: [
    [24, 40, 112, 160],
    [72, 120, 672, 960],
  ],
  MobileNetV3EdgeTPU: [
    [32, 48, 96, 192],
    [null, null, 384, 1280],
  ],
  MobileNetMultiMAX: [
    [32, 64, 128, 160],
    [96, 128, 384, 640],
  ],
  MobileNetMultiAVG: [
    [32, 64, 160, 192],
    [64, 192, 640, 768],
  ],
  MobileNetMultiAVGSeg: [
    [32, 64, 160, 96],
    [64, 192, 640, 384],
  ],
  MobileNetMultiMAXSeg: [
    [32, 64, 128, 96],
    [96, 128, 384, 320],
  ],
  MobilenetV3SmallReducedFilters: [
    [16, 24, 48, 48],
    [16, 88, 144, 288],
  ],
};

test("all 16 model_ids count as Model Garden's mobilenet_test at scales 1.0 and 0.75", () => {
  for (const [id, [full, threeQuarters]] of Object.entries(MG_PARAMS)) {
    for (const [scale, want] of [
      [1.0, full],
      [0.75, threeQuarters],
    ]) {
      const { m } = build({ modelId: id, filterSizeScale: scale });
      assert.equal(m.countParams(), want, `${id} at ${scale}`);
      m.dispose();
    }
  }
});

test("endpoint and depthwise widths are Model Garden's mobilenet_test values", () => {
  for (const [id, [widths, dw]] of Object.entries(MG_WIDTHS)) {
    const { m, shapes } = build({ modelId: id, outputIntermediateEndpoints: true });
    widths.forEach((c, i) => {
      const s = 64 / 2 ** (i + 2);
      assert.deepEqual(shapes[String(i + 2)], [1, s, s, c], `${id} level ${i + 2}`);
    });
    dw.forEach((c, i) => {
      const got = shapes[`${i + 2}/depthwise`];
      if (c === null) assert.equal(got, undefined, `${id} level ${i + 2} has no depthwise`);
      else assert.equal(got?.[3], c, `${id} level ${i + 2} depthwise`);
    });
    m.dispose();
  }
});

test("output_stride 8/16/32: the level log2(os) holds the last output's width (MG's test)", () => {
  const last: Record<string, number> = {
    MobileNetV2: 320,
    MobileNetMultiAVGSeg: 448,
    MobileNetV1: 1024,
  };
  for (const [id, c] of Object.entries(last)) {
    for (const os of [8, 16, 32]) {
      const { m, shapes } = build({ modelId: id, outputStride: os });
      assert.deepEqual(shapes[String(Math.log2(os))], [1, 64 / os, 64 / os, c], `${id} os ${os}`);
      m.dispose();
    }
  }
});
