import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import {
  MultiHeadSelfAttentionBlock,
  MultiQueryAttention,
} from '../../../src/modeling/blocks/multi_head_self_attention_block.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

/** Single-head attention of token rows X [n, c]: softmax(XQ (XK)ᵀ / √k) XV O, by plain matmuls. */
function referenceAttention(
  x: tf.Tensor2D,
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  o: tf.Tensor2D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const logits = tf.div(
      tf.matMul(tf.matMul(x, q), tf.matMul(x, k), false, true),
      Math.sqrt(q.shape[1]),
    );
    return tf.matMul(tf.matMul(tf.softmax(logits), tf.matMul(x, v)), o);
  });
}

test('multi-query attention with one head equals hand-written single-head attention', () => {
  const c = 6;
  const mqa = new MultiQueryAttention({
    channels: c,
    numHeads: 1,
    keyDim: 4,
    valueDim: 5,
    kvStrides: 1,
    dwKernelSize: 3,
    normMomentum: 0.99,
    normEpsilon: 0.001,
  });
  const x = tf.randomNormal([1, 3, 3, c], 0, 1, 'float32', 2);
  tf.tidy(() => void mqa.apply(x));
  const w: Record<string, tf.Variable> = Object.fromEntries(
    mqa.weights().map((w) => [w.path.split('/').at(-1), w.variable]),
  );
  assert.deepEqual(
    Object.entries(w).map(([k, t]) => [k, t.shape]),
    [
      ['query', [1, 4, c]],
      ['key', [c, 4]],
      ['value', [c, 5]],
      ['output', [c, 1, 5]],
    ],
  );
  const got = mqa.apply(x);
  const want = referenceAttention(
    tf.reshape(x, [9, c]) as tf.Tensor2D,
    tf.transpose(tf.reshape(w.query, [4, c])) as tf.Tensor2D,
    w.key as unknown as tf.Tensor2D,
    w.value as unknown as tf.Tensor2D,
    tf.transpose(tf.reshape(w.output, [c, 5])) as tf.Tensor2D,
  );
  assertClose(got.dataSync(), want.dataSync(), { atol: 1e-5 });
  tf.dispose([x, got, want]);
  mqa.dispose();
});

test('MHSA block: BN → MQA (kv stride 2 keeps the query grid) → layer scale → residual', () => {
  const block = new MultiHeadSelfAttentionBlock({
    inputDim: 8,
    numHeads: 2,
    keyDim: 4,
    valueDim: 4,
    useMultiQuery: true,
    kvStrides: 2,
  });
  const x = tf.randomNormal([2, 4, 4, 8], 0, 1, 'float32', 6);
  const y = block.apply(x);
  assert.deepEqual(y.shape, [2, 4, 4, 8]);
  // Layer scale starts at 1e-5: the block is the identity to within 1e-5 · |attention|.
  assertClose(y.dataSync(), x.dataSync(), { atol: 1e-3 });
  const gamma = block.weights().find((w) => w.path.endsWith('_gamma'));
  assert.ok(gamma);
  gamma.variable.assign(tf.zerosLike(gamma.variable));
  const z = block.apply(x);
  assert.deepEqual(Array.from(z.dataSync()), Array.from(x.dataSync()));
  assert.throws(
    () =>
      new MultiHeadSelfAttentionBlock({
        inputDim: 8,
        numHeads: 2,
        keyDim: 4,
        valueDim: 4,
        useMultiQuery: false,
      }),
    /use_multi_query false/,
  );
  tf.dispose([x, y, z]);
  block.dispose();
});
