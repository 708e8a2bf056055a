/**
 * DeepLab models from the YAMLs of the seed's segmentation rows
 * (configs/experiments/semantic_segmentation), built from their `task.model` section by
 * `buildSegmentationModel`: total, trainable and per-component (backbone, decoder, head) parameter
 * counts equal Model Garden's exactly (`param_counts.json` of ../shared/data/model-garden-reference:
 * MG's `count_params()` on the same experiments). Weights are zeros (withShapeOnlyBuild) and the
 * batch is empty, so a ResNet-101 at 512×1024 (the size Cityscapes' 512×1024 image pooling needs at
 * level 4) builds in a moment.
 *
 * Then the architecture itself, on tiny random inputs: endpoints, output strides and the dilation
 * of every block (hand-derived from resnet_deeplab.py), the head's output resolution, and the
 * config errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';
import { initBackend } from '../../../src/core/backend/index.js';
import { deepMerge } from '../../../src/core/config/merge.js';
import { withShapeOnlyBuild, type Layer } from '../../../src/core/layer.js';
import { setGlobalSeed } from '../../../src/core/random.js';
import { DilatedResNet } from '../../../src/modeling/backbones/dilated_resnet.js';
import { BottleneckBlock } from '../../../src/modeling/blocks/bottleneck_block.js';
import {
  buildSegmentationModel,
  type SegmentationModel,
} from '../../../src/modeling/models/segmentation_model.js';
import { REPO_ROOT, sharedData } from '../../helpers.js';

await initBackend('cpu');

const DIR = join(REPO_ROOT, 'configs', 'experiments', 'semantic_segmentation');

interface MgRow {
  id: string;
  exp: string;
  kind: string;
  num_classes: number;
  params_total: number;
  params_trainable: number;
  params_components: { backbone: number; decoder: number; head: number };
}

const MG = new Map(
  (
    JSON.parse(readFileSync(sharedData('model-garden-reference', 'param_counts.json'), 'utf8')) as {
      rows: MgRow[];
    }
  ).rows
    .filter((r) => r.kind === 'segmentation')
    .map((r) => [r.id, r]),
);

/** The `task.model` of YAML files laid over each other (the first is the experiment's). */
function modelSection(...files: string[]): unknown {
  let merged: unknown = {};
  for (const f of files) merged = deepMerge(merged, parse(readFileSync(join(DIR, f), 'utf8')));
  return (merged as { task: { model: unknown } }).task.model;
}

function shapeOnly(model: SegmentationModel, h: number, w: number): number[] {
  let shape: number[] = [];
  withShapeOnlyBuild(() =>
    tf.tidy(() => {
      shape = model.apply(tf.zeros([0, h, w, 3]), { training: true, stateUpdates: [] }).shape;
    }),
  );
  return shape;
}

/** YAML files → param_counts.json row. */
const ROWS: [string[], string][] = [
  [['deeplabv3_resnet101_pascal.yaml'], 'deeplabv3_dilatedresnet101_voc'],
  [['deeplabv3plus_resnet101_pascal.yaml'], 'deeplabv3plus_dilatedresnet101_voc'],
  [['deeplabv3plus_resnet101_cityscapes.yaml'], 'deeplabv3plus_dilatedresnet101_cityscapes'],
  // MG's GPU YAML over the experiment's defaults (SE 0.25, stochastic depth 0.2); param_counts.json
  // counted MG's TFDS TPU YAML, whose model section is the same.
  [
    ['deeplabv3plus_resnet101_cityscapes.yaml', 'deeplabv3plus_resnet101_cityscapes_gpu.yaml'],
    'deeplabv3plus_dilatedresnet101_cityscapes_tfds_yaml',
  ],
];

test("every seed DeepLab row builds with Model Garden's parameter counts, per component", () => {
  assert.equal(MG.size, ROWS.length, 'param_counts.json lists 4 segmentation models');
  for (const [files, id] of ROWS) {
    const mg = MG.get(id)!;
    const where = files.join(' + ');
    setGlobalSeed(0);
    const model = buildSegmentationModel(modelSection(...files) as never);
    try {
      const out = shapeOnly(model, 512, 1024);
      // DeepLabV3 predicts at stride 16, DeepLabV3+ at the level-2 stride 4.
      const stride = id.startsWith('deeplabv3_') ? 16 : 4;
      assert.deepEqual(out, [0, 512 / stride, 1024 / stride, mg.num_classes], where);
      assert.equal(model.countParams(), mg.params_total, `${where}: total`);
      assert.equal(model.countTrainableParams(), mg.params_trainable, `${where}: trainable`);
      assert.equal(
        model.backbone.countParams(),
        mg.params_components.backbone,
        `${where}: backbone`,
      );
      assert.equal(model.decoder!.countParams(), mg.params_components.decoder, `${where}: decoder`);
      assert.equal(model.head.countParams(), mg.params_components.head, `${where}: head`);
    } finally {
      model.dispose();
    }
  }
});

/** Every bottleneck block of a backbone, in order, with its 3×3 dilation and stride. */
function blocks(backbone: Layer<unknown, unknown>): BottleneckBlock[] {
  return backbone.layers().filter((l): l is BottleneckBlock => l instanceof BottleneckBlock);
}

test('DilatedResNet: endpoints, strides and per-block dilations for output stride 8, 16, 32 and multigrid', () => {
  // Filters 1, 2, 3, 4 → 4, 8, 12, 16 output channels per group.
  const tiny: [string, number, number][] = [
    ['bottleneck', 1, 1],
    ['bottleneck', 2, 1],
    ['bottleneck', 3, 1],
    ['bottleneck', 4, 3],
  ];
  const cases: {
    os: number;
    multigrid: number[] | null;
    lastStageRepeats?: number;
    endpoints: Record<string, [number, number]>;
    dilations: number[];
    strides: number[];
  }[] = [
    // OS 16: groups 0-2 ordinary (strides 1, 2, 2), group 3 dilation 2 x multigrid.
    {
      os: 16,
      multigrid: [1, 2, 4],
      endpoints: { '2': [4, 8], '3': [8, 4], '4': [16, 2] },
      dilations: [1, 1, 1, 2, 4, 8],
      strides: [1, 2, 2, 1, 1, 1],
    },
    // OS 8: groups 2 (dilation 2, no multigrid: index < 3) and 3 (dilation 4 x multigrid).
    {
      os: 8,
      multigrid: [1, 2, 4],
      endpoints: { '2': [4, 8], '3': [16, 4] },
      dilations: [1, 1, 2, 4, 8, 16],
      strides: [1, 2, 1, 1, 1, 1],
    },
    // OS 32: every group ordinary, multigrid unused.
    {
      os: 32,
      multigrid: [1, 2, 4],
      endpoints: { '2': [4, 8], '3': [8, 4], '4': [12, 2], '5': [16, 1] },
      dilations: [1, 1, 1, 1, 1, 1],
      strides: [1, 2, 2, 2, 1, 1],
    },
    // OS 16 with the last stage repeated twice: groups 3 and 4 (dilations 2 and 4) x multigrid.
    {
      os: 16,
      multigrid: [1, 2, 4],
      lastStageRepeats: 2,
      endpoints: { '2': [4, 8], '3': [8, 4], '4': [16, 2] },
      dilations: [1, 1, 1, 2, 4, 8, 4, 8, 16],
      strides: [1, 2, 2, 1, 1, 1, 1, 1, 1],
    },
  ];
  for (const c of cases) {
    const where = `OS ${c.os}, last_stage_repeats ${c.lastStageRepeats ?? 1}`;
    const net = new DilatedResNet({
      modelId: 50,
      outputStride: c.os,
      multigrid: c.multigrid,
      lastStageRepeats: c.lastStageRepeats,
      specs: tiny as never,
      stemType: 'v1',
    });
    try {
      // 32×32 input: stem /2, max pool /2 → 8×8 at level 2.
      const out = tf.tidy(() => net.apply(tf.randomNormal([1, 32, 32, 3]), {}));
      const got: Record<string, [number, number]> = {};
      for (const [k, t] of Object.entries(out)) got[k] = [t.shape[3]!, t.shape[1]!];
      assert.deepEqual(got, c.endpoints, where);
      for (const [k, [ch, side]] of Object.entries(c.endpoints)) {
        assert.deepEqual(
          net.outputSpecs[k],
          { channels: ch, stride: 32 / side },
          `${where} '${k}'`,
        );
      }
      const bs = blocks(net);
      assert.deepEqual(
        bs.map((b) => b.dilationRate),
        c.dilations,
        where,
      );
      assert.deepEqual(
        bs.map((b) => b.strides),
        c.strides,
        where,
      );
      tf.dispose(Object.values(out));
    } finally {
      net.dispose();
    }
  }
});

test('DilatedResNet: v1 stem widths 64/64/128, stochastic depth init·(i+2)/(4+last_stage_repeats), SE', () => {
  const net = new DilatedResNet({
    modelId: 50,
    outputStride: 16,
    stemType: 'v1',
    initStochasticDepthRate: 0.2,
    seRatio: 0.25,
    lastStageRepeats: 1,
  });
  withShapeOnlyBuild(() => tf.tidy(() => void net.apply(tf.zeros([0, 32, 32, 3]), {})));
  const kernels = net
    .weights()
    .filter((w) => /^layer_with_weights-[024]\/kernel$/.test(w.objectPath))
    .map((w) => w.variable.shape);
  assert.deepEqual(kernels, [
    [3, 3, 3, 64],
    [3, 3, 64, 64],
    [3, 3, 64, 128],
  ]);
  const rates = blocks(net).map(
    (b) =>
      (b.layers().find((l) => l.attr === '_stochastic_depth') as unknown as { dropRate: number })
        ?.dropRate,
  );
  // Groups of 3, 4, 6, 3 blocks at 0.2·2/5, 0.2·3/5, 0.2·4/5, 0.2·5/5.
  const want = [
    ...Array(3).fill(0.08),
    ...Array(4).fill(0.12),
    ...Array(6).fill(0.16),
    ...Array(3).fill(0.2),
  ];
  rates.forEach((r, i) => assert.ok(Math.abs(r! - want[i]) < 1e-12, `block ${i}: ${r}`));
  assert.ok(blocks(net).every((b) => b.layers().some((l) => l.attr === '_squeeze_excitation')));
  net.dispose();
});

test('DeepLabV3 / V3+ logits: stride 16 and stride 4 of the input, and config errors name the field', () => {
  const base = {
    num_classes: 5,
    backbone: {
      type: 'dilated_resnet',
      dilated_resnet: {
        model_id: 50,
        multigrid: [1, 2, 4],
        block_specs: [
          ['bottleneck', 2, 1],
          ['bottleneck', 2, 1],
          ['bottleneck', 2, 1],
          ['bottleneck', 2, 3],
        ],
      },
    },
    decoder: { type: 'aspp', aspp: { level: 4, dilation_rates: [2, 3], num_filters: 4 } },
    head: { level: 4, num_convs: 1, num_filters: 4 },
  };
  const v3 = buildSegmentationModel(base as never);
  const v3p = buildSegmentationModel(
    deepMerge(base, {
      head: { feature_fusion: 'deeplabv3plus', low_level: 2, low_level_num_filters: 3 },
    }) as never,
  );
  const sum = buildSegmentationModel(
    deepMerge(base, {
      head: { feature_fusion: 'deeplabv3plus_sum_to_merge', low_level_num_filters: 4 },
    }) as never,
  );
  try {
    const x = tf.randomNormal([2, 65, 49, 3]);
    // 'same' convolutions: 65 → 33 → 17 (level 2) → 9 → 5 (level 4); 49 → 25 → 13 → 7 → 4.
    const shapes = [v3, v3p, sum].map((m) => {
      const y = m.apply(x, { training: false });
      const s = y.shape;
      y.dispose();
      return s;
    });
    assert.deepEqual(shapes, [
      [2, 5, 4, 5],
      [2, 17, 13, 5],
      [2, 17, 13, 5],
    ]);
    // concat: 4 + 3 channels into the head's 3×3 conv; sum: 4 + 4 → 4.
    const conv0 = (m: SegmentationModel) =>
      m.weights().find((w) => w.objectPath === '_head/_convs/0/kernel')!.variable.shape;
    assert.deepEqual(conv0(v3p), [3, 3, 7, 4]);
    assert.deepEqual(conv0(sum), [3, 3, 4, 4]);
    x.dispose();
  } finally {
    [v3, v3p, sum].forEach((m) => m.dispose());
  }
  // ASPP output_tensor: the head gets the bare tensor and ignores its own level (as MG's head).
  const bare = buildSegmentationModel(
    deepMerge(base, { decoder: { aspp: { output_tensor: true } }, head: { level: 5 } }) as never,
  );
  const z = tf.tidy(() => bare.apply(tf.randomNormal([1, 65, 49, 3]), { training: false }));
  assert.deepEqual(z.shape, [1, 5, 4, 5]);
  z.dispose();
  bare.dispose();
  // seg_resnetfpn_pascal's layout: ResNet + FPN (levels 3..7), the head on FPN level 3 (stride 8).
  const fpn = buildSegmentationModel({
    num_classes: 5,
    min_level: 3,
    max_level: 5,
    backbone: { type: 'resnet', resnet: { model_id: 18 } },
    decoder: { type: 'fpn', fpn: { num_filters: 4 } },
    head: { level: 3, num_convs: 2, num_filters: 4 },
  } as never);
  const y = tf.tidy(() => fpn.apply(tf.randomNormal([1, 64, 64, 3]), { training: false }));
  assert.deepEqual(y.shape, [1, 8, 8, 5]);
  y.dispose();
  fpn.dispose();
  assert.throws(
    () =>
      buildSegmentationModel(
        deepMerge(base, { head: { feature_fusion: 'pyramid_fusion' } }) as never,
      ),
    /task\.model\.head\.feature_fusion: not supported yet/,
  );
  assert.throws(
    () => buildSegmentationModel(deepMerge(base, { head: { level: 3 } }) as never),
    /task\.model\.head\.level: 3 is not a decoder output/,
  );
  assert.throws(
    () =>
      buildSegmentationModel(
        deepMerge(base, { decoder: { aspp: { spp_layer_version: 'v2' } } }) as never,
      ),
    /task\.model\.decoder\.aspp\.spp_layer_version: not supported yet/,
  );
  assert.throws(
    () =>
      buildSegmentationModel(
        deepMerge(base, { backbone: { dilated_resnet: { multigrid: [1, 2] } } }) as never,
      ),
    /multigrid \[1,2\] has to match the 3 blocks/,
  );
  assert.throws(
    () =>
      buildSegmentationModel(
        deepMerge(base, { backbone: { dilated_resnet: { output_stride: 12 } } }) as never,
      ),
    /output_stride must be 4, 8, 16 or 32, got 12/,
  );
  assert.throws(
    () => buildSegmentationModel(deepMerge(base, { mask_scoring_head: {} }) as never),
    /task\.model\.mask_scoring_head: not supported yet/,
  );
});
