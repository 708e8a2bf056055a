/**
 * The new backbone and decoder layers run compiled (ONNX Runtime) as they run eagerly: a
 * MobileNetV3Small forward pass (hard-swish, squeeze-excitation with hard-sigmoid gating,
 * depthwise and strided convs, global pooling) and a separable-conv FPN (nearest upsampling by
 * reshape-multiply, extra coarser levels) on its endpoints, inference mode, to 1e-4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { setGlobalSeed } from '../../src/core/random.js';
import { MobileNet } from '../../src/modeling/backbones/mobilenet.js';
import { FPN } from '../../src/modeling/decoders/fpn.js';
import { MultiHeadSelfAttentionBlock } from '../../src/modeling/blocks/multi_head_self_attention_block.js';
import { assertCompiledMatches, normal } from '../engine/compile_check.js';

await initBackend('cpu');

test('MobileNetV4 hybrid attention blocks (kv stride 1 and 2): compiled forward equals eager', async () => {
  setGlobalSeed(6);
  const blocks = [1, 2].map(
    (kvStrides) =>
      new MultiHeadSelfAttentionBlock({
        inputDim: 16,
        numHeads: 4,
        keyDim: 8,
        valueDim: 8,
        useMultiQuery: true,
        kvStrides,
        layerScaleInitValue: 0.5,
      }),
  );
  const x = normal([2, 8, 8, 16], 4);
  const fn = (i: Record<string, tf.Tensor>) => blocks.map((b) => b.apply(i.x, { training: false }));
  tf.tidy(() => void fn({ x }));
  await assertCompiledMatches('mhsa', { x }, fn);
  x.dispose();
  for (const b of blocks) b.dispose();
});

test('MobileNetV3Small + separable FPN: compiled forward equals eager', async () => {
  setGlobalSeed(5);
  const backbone = new MobileNet({ modelId: 'MobileNetV3Small' });
  const fpn = new FPN({
    inputSpecs: backbone.outputSpecs,
    minLevel: 3,
    maxLevel: 6,
    numFilters: 16,
    useSeparableConv: true,
  });
  const x = normal([2, 64, 64, 3], 9);
  const fn = (i: Record<string, tf.Tensor>) => {
    const endpoints = backbone.apply(i.x, { training: false });
    const levels = fpn.apply(endpoints, { training: false });
    return [
      endpoints[backbone.finalEndpoint],
      ...Object.keys(levels)
        .sort()
        .map((k) => levels[k]),
    ];
  };
  tf.tidy(() => void fn({ x }));
  const { opTypes } = await assertCompiledMatches('mobilenet+fpn', { x }, fn, {
    atolOfScale: true,
  });
  assert.ok(opTypes.includes('Conv') && opTypes.includes('ReduceMean'), opTypes.join(','));
  x.dispose();
  backbone.dispose();
  fpn.dispose();
});
