/**
 * ResNet-3D (Model Garden resnet_3d.py): parameter counts of every model id against an independent
 * count from the spec table, endpoint shapes and output specs, the stochastic-depth schedule,
 * self-gating on the last block of a group only, RS kernel tiling, and clear errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { normActivationConfig } from '../../../src/core/config/vision_common.js';
import { ResNet3D, RESNET_3D_SPECS } from '../../../src/modeling/backbones/resnet_3d.js';
import { backbone3DConfig } from '../../../src/modeling/backbones/config_3d.js';
import { buildBackbone3D } from '../../../src/modeling/backbones/factory.js';
import type { BottleneckBlock3D } from '../../../src/modeling/blocks/bottleneck_block_3d.js';

await initBackend('cpu');

/** Parameters (BN statistics included) from the spec, as resnet_3d.py / nn_blocks_3d.py build. */
function referenceCount(
  depth: number,
  o: {
    stem: 'v0' | 'v1';
    kt: number;
    kernels: number[][];
    gating: boolean[];
    se: number;
    filters?: number[];
  },
): number {
  const bn = (c: number) => 4 * c;
  let n =
    o.stem === 'v0'
      ? o.kt * 49 * 3 * 64 + bn(64)
      : o.kt * 9 * 3 * 32 + bn(32) + 9 * 32 * 32 + bn(32) + 9 * 32 * 64 + bn(64);
  let c = 64;
  RESNET_3D_SPECS[depth].forEach(([specFilters, repeats], g) => {
    const f = o.filters ? o.filters[g] : specFilters;
    for (let b = 0; b < repeats; b++) {
      const out = 4 * f;
      if (c !== out) n += c * out + bn(out);
      n += o.kernels[g][b] * c * f + bn(f) + 9 * f * f + bn(f) + f * out + bn(out);
      if (o.se > 0) {
        const r = Math.max(1, Math.floor(out * o.se));
        n += out * r + r + r * out + out;
      }
      if (o.gating[g] && b === repeats - 1) n += out * out + out;
      c = out;
    }
  });
  return n;
}

function count(net: ResNet3D): number {
  withShapeOnlyBuild(() => tf.tidy(() => void net.apply(tf.zeros([0, 4, 16, 16, 3]))));
  const n = net.countParams();
  net.dispose();
  return n;
}

/**
 * Every depth at block filters 2, 3, 2, 3 (repeats, kernels, gating, SE and projections as the
 * full model; the full-width counts are Model Garden's own in the YAML test), and ResNet3D-50 at
 * full width.
 */
test('ResNet3D and ResNet3D-RS count the spec-table parameters for every model id (50–350)', () => {
  const na = normActivationConfig.parse({});
  const cases: [number, number[] | undefined][] = [
    [50, undefined],
    ...Object.keys(RESNET_3D_SPECS).map((d): [number, number[]] => [Number(d), [2, 3, 2, 3]]),
  ];
  for (const [depth, filters] of cases) {
    const rows = RESNET_3D_SPECS[depth];
    // R3D pattern: temporal kernels alternate 3, 1 (Model Garden's ResNet3D50 style), SG on.
    const kernels = rows.map(([, r]) => Array.from({ length: r }, (_, i) => (i % 2 ? 1 : 3)));
    const plain = new ResNet3D({
      modelId: depth,
      temporalStrides: [1, 1, 1, 1],
      temporalKernelSizes: kernels,
      useSelfGating: [true, false, true, false],
      blockFilters: filters,
    });
    assert.equal(
      count(plain),
      referenceCount(depth, {
        stem: 'v0',
        kt: 5,
        kernels,
        gating: [true, false, true, false],
        se: 0,
        filters,
      }),
      `ResNet3D-${depth}`,
    );
    // RS defaults (backbones_3d.ResNet3DRS): v1 stem, SE 0.2, kernels (1)(1)(3)(3) tiled.
    const rs = buildBackbone3D(
      backbone3DConfig.parse({
        type: 'resnet_3d_rs',
        resnet_3d_rs: { model_id: depth, block_filters: filters ?? null },
      }),
      na,
    ) as ResNet3D;
    assert.equal(
      count(rs),
      referenceCount(depth, {
        stem: 'v1',
        kt: 5,
        kernels: rows.map(([, r], g) => new Array<number>(r).fill(g < 2 ? 1 : 3)),
        gating: [true, true, true, true],
        se: 0.2,
        filters,
      }),
      `ResNet3D-RS-${depth}`,
    );
  }
});

test('ResNet3D endpoints: shapes, output specs and temporal strides', () => {
  const net = new ResNet3D({
    modelId: 50,
    temporalStrides: [1, 2, 1, 1],
    temporalKernelSizes: [
      [3, 3, 3],
      [3, 1, 3, 1],
      [3, 1, 3, 1, 3, 1],
      [1, 3, 1],
    ],
    blockFilters: [2, 3, 4, 5],
  });
  // Stem conv [5,7,7] stride [2,2,2], pool [3,3,3] stride [2,2,2]: t 16 → 8 → 4, h 32 → 16 → 8.
  const out = net.apply(tf.randomNormal([1, 16, 32, 32, 3], 0, 1, 'float32', 1));
  assert.deepEqual(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.shape])), {
    '2': [1, 4, 8, 8, 8],
    '3': [1, 2, 4, 4, 12],
    '4': [1, 2, 2, 2, 16],
    '5': [1, 2, 1, 1, 20],
  });
  assert.deepEqual(net.outputSpecs, {
    '2': { channels: 8, stride: 4 },
    '3': { channels: 12, stride: 8 },
    '4': { channels: 16, stride: 16 },
    '5': { channels: 20, stride: 32 },
  });
  assert.deepEqual(net.temporalStrides, { '2': 4, '3': 8, '4': 8, '5': 8 });
  tf.dispose(Object.values(out));
  net.dispose();
});

test('ResNet3D: stochastic depth init·(g+2)/5 per group, self-gating only on a group’s last block', () => {
  const net = buildBackbone3D(
    backbone3DConfig.parse({
      type: 'resnet_3d_rs',
      resnet_3d_rs: { stochastic_depth_drop_rate: 0.5, block_filters: [2, 2, 2, 2] },
    }),
    normActivationConfig.parse({}),
  ) as ResNet3D;
  // Functional-model order: v1 stem = 3 convs + 3 BNs (layer_with_weights-0..5), then 16 blocks.
  const blocks = Array.from(
    { length: 16 },
    (_, i) => net.child(`layer_with_weights-${6 + i}`) as BottleneckBlock3D,
  );
  const groupOf = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3];
  const last = new Set([2, 6, 12, 15]);
  blocks.forEach((b, i) => {
    assert.ok(Math.abs(b.stochasticDepthDropRate! - (0.5 * (groupOf[i] + 2)) / 5) < 1e-12);
    const hasGate = b.layers().some((l) => l.attr === '_self_gating');
    assert.equal(hasGate, last.has(i), `block ${i} self-gating`);
  });
  net.dispose();
});

test('ResNet3D rejects bad model ids, block_specs and stem types with a clear error', () => {
  const k = [[1, 1, 1], [1, 1, 1, 1], new Array<number>(6).fill(1), [1, 1, 1]];
  assert.throws(
    () => new ResNet3D({ modelId: 34, temporalStrides: [1, 1, 1, 1], temporalKernelSizes: k }),
    /unknown model_id 34; choose one of 50, 101, 152, 200, 270, 300, 350/,
  );
  assert.throws(
    () => new ResNet3D({ modelId: 101, temporalStrides: [1, 1, 1, 1], temporalKernelSizes: k }),
    /block_specs\[2\]\.temporal_kernel_sizes has 6 entries; model_id 101 has 23 blocks/,
  );
  assert.throws(
    () => new ResNet3D({ modelId: 50, temporalStrides: [1, 1, 1], temporalKernelSizes: k }),
    /block_specs must have 4 entries/,
  );
  assert.throws(
    () =>
      new ResNet3D({
        modelId: 50,
        temporalStrides: [1, 1, 1, 1],
        temporalKernelSizes: k,
        stemType: 'v2',
      }),
    /stem_type 'v2' is not supported/,
  );
});
