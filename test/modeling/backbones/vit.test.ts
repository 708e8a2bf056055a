import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import {
  resizePositionGrid,
  VisionTransformer,
  VIT_SPECS,
} from '../../../src/modeling/backbones/vit.js';
import { Dense } from '../../../src/modeling/layers/dense.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

/**
 * Backbone + the classification head Model Garden puts on `pre_logits` (GAP over its 1×1 map,
 * then Dense(num_classes)), built at 224×224 parameter shapes: the position embedding is made for
 * the 14×14 grid and resized for the small build input.
 */
function classifierCount(modelName: string, numClasses: number): number {
  const vit = new VisionTransformer({ modelName, posEmbedShape: [14, 14] });
  const head = new Dense({ units: numClasses });
  withShapeOnlyBuild(() =>
    tf.tidy(() => {
      const pre = vit.apply(tf.zeros([1, 32, 32, 3]))['pre_logits'] as tf.Tensor;
      assert.deepEqual(pre.shape, [1, 1, 1, VIT_SPECS[modelName]?.hiddenSize]);
      head.apply(tf.mean(pre, [1, 2]));
    }),
  );
  const n = vit.countParams() + head.countParams();
  vit.dispose();
  head.dispose();
  return n;
}

test('ViT classifiers with a 1000-class head count as Model Garden', () => {
  assert.equal(classifierCount('vit-ti16', 1000), 5_717_416);
  assert.equal(classifierCount('vit-s16', 1000), 22_050_664);
  assert.equal(classifierCount('vit-b16', 1000), 86_567_656);
  assert.equal(classifierCount('vit-l16', 1000), 304_326_632);
});

/** Hand count of a ViT: patch conv, cls, position embedding, blocks, final LayerNorm. */
function handCount(h: number, p: number, mlp: number, layers: number, tokens: number): number {
  const block = 4 * (h * h + h) + 2 * 2 * h + (h * mlp + mlp) + (mlp * h + h);
  return p * p * 3 * h + h + h + tokens * h + layers * block + 2 * h;
}

test('a small ViT built from its first input sizes the position embedding by that grid', () => {
  const vit = new VisionTransformer({
    hiddenSize: 8,
    patchSize: 4,
    mlpDim: 16,
    numHeads: 2,
    numLayers: 2,
  });
  const out = tf.tidy(() => vit.apply(tf.randomNormal([2, 16, 12, 3]))['pre_logits'] as tf.Tensor);
  assert.deepEqual(out.shape, [2, 1, 1, 8]);
  // 4×3 patches + the class token.
  assert.equal(vit.countParams(), handCount(8, 4, 16, 2, 13));
  const names = vit.weights().map((w) => w.objectPath);
  assert.ok(names.includes('layer_with_weights-2/_pos_embed/pos_embedding'));
  assert.ok(
    names.includes('layer_with_weights-2/_encoder_layers/1/_attention_layer/_query_dense/kernel'),
  );
  // A different resolution resizes the grid part of the embedding instead of failing.
  const other = tf.tidy(() => vit.apply(tf.randomNormal([1, 8, 8, 3]))['pre_logits'] as tf.Tensor);
  assert.deepEqual(other.shape, [1, 1, 1, 8]);
  vit.dispose();
});

test('pooler gap and none, and the representation layer', () => {
  const base = { hiddenSize: 8, patchSize: 4, mlpDim: 8, numHeads: 2, numLayers: 1 };
  const gap = new VisionTransformer({ ...base, pooler: 'gap', representationSize: 5 });
  const pre = tf.tidy(() => gap.apply(tf.zeros([1, 8, 8, 3]))['pre_logits'] as tf.Tensor);
  assert.deepEqual(pre.shape, [1, 1, 1, 5]);
  // No class token: 4 position embeddings; pre_logits Dense 8×5 + 5.
  assert.equal(gap.countParams(), handCount(8, 4, 8, 1, 4) - 8 + 8 * 5 + 5);
  const none = new VisionTransformer({ ...base, pooler: 'none' });
  const tokens = tf.tidy(() => none.apply(tf.zeros([1, 8, 8, 3]))['encoded_tokens'] as tf.Tensor);
  assert.deepEqual(tokens.shape, [1, 4, 8]);
  assert.throws(() => new VisionTransformer({ ...base, pooler: 'max' }), /pooler 'max'/);
  assert.throws(() => new VisionTransformer({ modelName: 'vit-x9' }), /model_name 'vit-x9'/);
});

/** Independent bilinear resize with half-pixel centres (TF2 tf.image.resize), one channel. */
function bilinear(src: number[][], th: number, tw: number): number[] {
  const sh = src.length;
  const sw = src[0]?.length ?? 0;
  const out: number[] = [];
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const fy = Math.max(0, (y + 0.5) * (sh / th) - 0.5);
      const fx = Math.max(0, (x + 0.5) * (sw / tw) - 0.5);
      const y0 = Math.floor(fy);
      const x0 = Math.floor(fx);
      const y1 = Math.min(y0 + 1, sh - 1);
      const x1 = Math.min(x0 + 1, sw - 1);
      const dy = fy - y0;
      const dx = fx - x0;
      const v = (r: number, c: number) => src[r]?.[c] ?? NaN;
      out.push(
        v(y0, x0) * (1 - dy) * (1 - dx) +
          v(y0, x1) * (1 - dy) * dx +
          v(y1, x0) * dy * (1 - dx) +
          v(y1, x1) * dy * dx,
      );
    }
  }
  return out;
}

test('position grids resize bilinearly with half-pixel centres', () => {
  const src = [
    [0, 1, 2],
    [3, 5, 8],
  ];
  const grid = tf.tensor3d(src.flat(), [1, 6, 1]);
  const up = resizePositionGrid(grid, [2, 3], [4, 5]);
  assert.deepEqual(up.shape, [1, 20, 1]);
  assertClose(up.dataSync(), bilinear(src, 4, 5), { atol: 1e-5 });
  const down = resizePositionGrid(grid, [2, 3], [1, 2]);
  assertClose(down.dataSync(), bilinear(src, 1, 2), { atol: 1e-5 });
});
