import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Rng } from '../../../src/core/random.js';
import { randomNormal } from '../../../src/core/initializers.js';
import { MultiHeadAttention } from '../../../src/modeling/layers/attention.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

function rand(seed: number, shape: number[]): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniformRange(-1, 1)),
    shape,
  );
}

function w(layer: MultiHeadAttention, path: string): number[] {
  const found = layer.weights().find((x) => x.path === `${layer.name}/${path}`);
  assert.ok(found, path);
  return Array.from(found.variable.dataSync());
}

/** Plain-loop multi-head attention with Keras' layout; mask[t][s] = 1 attends. */
function refAttention(
  layer: MultiHeadAttention,
  q: number[][],
  kv: number[][],
  h: number,
  kd: number,
  vd: number,
  out: number,
  mask?: number[][],
): number[][] {
  const proj = (x: number[][], name: string, dh: number) => {
    const k = w(layer, `${name}/kernel`);
    const b = w(layer, `${name}/bias`);
    return x.map((row) =>
      Array.from({ length: h }, (_, hi) =>
        Array.from({ length: dh }, (_, di) => {
          let s = b[hi * dh + di];
          row.forEach((v, c) => (s += v * k[(c * h + hi) * dh + di]));
          return s;
        }),
      ),
    );
  };
  const Q = proj(q, 'query', kd);
  const K = proj(kv, 'key', kd);
  const V = proj(kv, 'value', vd);
  const ok = w(layer, 'attention_output/kernel');
  const ob = w(layer, 'attention_output/bias');
  return Q.map((qt, t) => {
    const ctx = Array.from({ length: h }, (_, hi) => {
      const logits = K.map((ks, s) => {
        let dot = 0;
        for (let d = 0; d < kd; d++) dot += qt[hi][d] * ks[hi][d];
        dot /= Math.sqrt(kd);
        return mask && mask[t][s] === 0 ? -Infinity : dot;
      });
      const m = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - m));
      const z = e.reduce((a, b) => a + b, 0);
      return Array.from({ length: vd }, (_, d) =>
        V.reduce((a, vs, s) => a + (e[s] / z) * vs[hi][d], 0),
      );
    });
    return Array.from({ length: out }, (_, o) => {
      let s = ob[o];
      for (let hi = 0; hi < h; hi++)
        for (let d = 0; d < vd; d++) s += ctx[hi][d] * ok[(hi * vd + d) * out + o];
      return s;
    });
  });
}

test('MultiHeadAttention equals a hand-written attention (self and masked cross attention)', () => {
  const [h, kd, vd] = [2, 3, 2];
  const mha = new MultiHeadAttention({
    numHeads: h,
    keyDim: kd,
    valueDim: vd,
    biasInitializer: randomNormal({ stddev: 0.3 }),
  });
  const q = rand(1, [1, 2, 4]);
  const kv = rand(2, [1, 3, 4]);
  const y = mha.apply({ query: q, value: kv });
  assert.deepEqual(y.shape, [1, 2, 4]);
  const qa = (q.arraySync() as number[][][])[0];
  const kva = (kv.arraySync() as number[][][])[0];
  assertClose(y.dataSync(), refAttention(mha, qa, kva, h, kd, vd, 4).flat(), { atol: 1e-5 });

  const mask = [
    [1, 0, 1],
    [0, 0, 1],
  ];
  const mt = tf.tensor3d([mask]);
  const ym = mha.apply({ query: q, value: kv, key: kv, attentionMask: mt });
  assertClose(ym.dataSync(), refAttention(mha, qa, kva, h, kd, vd, 4, mask).flat(), { atol: 1e-5 });
  // Self-attention: query = value.
  const ys = mha.apply({ query: kv, value: kv });
  assertClose(ys.dataSync(), refAttention(mha, kva, kva, h, kd, vd, 4).flat(), { atol: 1e-5 });
  tf.dispose([q, kv, y, mt, ym, ys]);
});

test('MultiHeadAttention has Keras weight names, shapes and parameter count', () => {
  const mha = new MultiHeadAttention({ numHeads: 2, keyDim: 3, valueDim: 5, outputShape: 6 });
  const q = tf.zeros([1, 2, 4]);
  const v = tf.zeros([1, 3, 7]);
  mha.apply({ query: q, value: v }).dispose();
  assert.deepEqual(
    mha.weights().map((x) => [x.path, x.objectPath, x.variable.shape]),
    [
      ['multi_head_attention/query/kernel', '_query_dense/kernel', [4, 2, 3]],
      ['multi_head_attention/query/bias', '_query_dense/bias', [2, 3]],
      ['multi_head_attention/key/kernel', '_key_dense/kernel', [7, 2, 3]],
      ['multi_head_attention/key/bias', '_key_dense/bias', [2, 3]],
      ['multi_head_attention/value/kernel', '_value_dense/kernel', [7, 2, 5]],
      ['multi_head_attention/value/bias', '_value_dense/bias', [2, 5]],
      ['multi_head_attention/attention_output/kernel', '_output_dense/kernel', [2, 5, 6]],
      ['multi_head_attention/attention_output/bias', '_output_dense/bias', [6]],
    ],
  );
  tf.dispose([q, v]);
  // Keras: MultiHeadAttention(num_heads=12, key_dim=64) on dim 768 has 2,362,368 parameters.
  const big = new MultiHeadAttention({ numHeads: 12, keyDim: 64 });
  const x = tf.zeros([1, 1, 768]);
  big.apply({ query: x, value: x }).dispose();
  assert.equal(big.countParams(), 2362368);
  big.dispose();
  x.dispose();
});

test('attention dropout is active only in training', () => {
  const mha = new MultiHeadAttention({ numHeads: 1, keyDim: 2, dropout: 0.5 });
  const x = rand(3, [2, 4, 3]);
  const a = mha.apply({ query: x, value: x });
  const b = mha.apply({ query: x, value: x });
  assert.deepEqual(a.dataSync(), b.dataSync());
  const c = mha.apply({ query: x, value: x }, { training: true, rng: new Rng(1) });
  assert.notDeepEqual(c.dataSync(), a.dataSync());
  assert.throws(
    () => mha.apply({ query: tf.zeros([4, 3]), value: x }),
    /query must be \[batch, length, dim\]/,
  );
  const flatMask = tf.ones([4, 4]);
  assert.throws(
    () => mha.apply({ query: x, value: x, attentionMask: flatMask }),
    /attentionMask must be \[batch, T, S\]/,
  );
  tf.dispose([x, a, b, c, flatMask]);
});
