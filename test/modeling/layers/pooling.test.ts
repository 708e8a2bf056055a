import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Rng } from '../../../src/core/random.js';
import {
  AvgPool2D,
  AvgPool3D,
  GlobalAveragePooling2D,
  GlobalAveragePooling3D,
  MaxPool2D,
  MaxPool3D,
} from '../../../src/modeling/layers/pooling.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

function randomTensor(seed: number, shape: number[]): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniformRange(-1, 1)),
    shape,
  );
}

/** TF pooling over NHWC/NDHWC by loops; SAME pads after on odd totals, avg counts real inputs. */
function refPool(x: tf.Tensor, k: number[], s: number[], same: boolean, max: boolean) {
  const spatial = x.shape.slice(1, -1);
  const c = x.shape[x.shape.length - 1];
  const xv = x.dataSync();
  const geo = spatial.map((n, i) => {
    if (!same) return { out: Math.floor((n - k[i]) / s[i]) + 1, before: 0 };
    const out = Math.ceil(n / s[i]);
    const total = Math.max((out - 1) * s[i] + k[i] - n, 0);
    return { out, before: Math.floor(total / 2) };
  });
  const outShape = [x.shape[0], ...geo.map((g) => g.out), c];
  const out: number[] = [];
  const strides = spatial.map((_, i) => spatial.slice(i + 1).reduce((a, b) => a * b, 1) * c);
  const walk = (b: number, pos: number[]) => {
    if (pos.length < spatial.length) {
      for (let o = 0; o < geo[pos.length].out; o++) walk(b, [...pos, o]);
      return;
    }
    for (let ch = 0; ch < c; ch++) {
      let acc = max ? -Infinity : 0;
      let count = 0;
      const visit = (dims: number[]) => {
        if (dims.length < spatial.length) {
          for (let t = 0; t < k[dims.length]; t++) visit([...dims, t]);
          return;
        }
        const idx = dims.map((t, i) => pos[i] * s[i] + t - geo[i].before);
        if (idx.some((v, i) => v < 0 || v >= spatial[i])) return;
        const off =
          b * strides[0] * spatial[0] + idx.reduce((a, v, i) => a + v * strides[i], 0) + ch;
        acc = max ? Math.max(acc, xv[off]) : acc + xv[off];
        count++;
      };
      visit([]);
      out.push(max ? acc : acc / count);
    }
  };
  for (let b = 0; b < x.shape[0]; b++) walk(b, []);
  return { shape: outShape, data: out };
}

test('2-D max and average pooling match TF semantics (SAME asymmetric, VALID, defaults)', () => {
  const x = randomTensor(1, [2, 7, 6, 3]);
  for (const [k, s, pad] of [
    [3, 2, 'same'],
    [2, 2, 'same'],
    [3, 1, 'same'],
    [3, 2, 'valid'],
  ] as const) {
    for (const [Cls, max] of [
      [MaxPool2D, true],
      [AvgPool2D, false],
    ] as const) {
      const y = new Cls({ poolSize: k, strides: s, padding: pad }).apply(x);
      const ref = refPool(x, [k, k], [s, s], pad === 'same', max);
      assert.deepEqual(y.shape, ref.shape);
      assertClose(y.dataSync(), ref.data, { atol: 1e-6, msg: `${Cls.name} k${k} s${s} ${pad}` });
      y.dispose();
    }
  }
  // Keras defaults: pool 2, strides = pool size, valid.
  const d = new MaxPool2D().apply(x);
  assert.deepEqual(d.shape, [2, 3, 3, 3]);
  assert.equal(new MaxPool2D().name, 'max_pooling2d');
  assert.equal(new AvgPool2D().name, 'average_pooling2d');
  tf.dispose([x, d]);
});

test('3-D pooling matches TF semantics', () => {
  const x = randomTensor(2, [1, 5, 4, 5, 2]);
  for (const [Cls, max] of [
    [MaxPool3D, true],
    [AvgPool3D, false],
  ] as const) {
    for (const pad of ['same', 'valid'] as const) {
      const y = new Cls({ poolSize: [2, 3, 3], strides: 2, padding: pad }).apply(x);
      const ref = refPool(x, [2, 3, 3], [2, 2, 2], pad === 'same', max);
      assert.deepEqual(y.shape, ref.shape);
      assertClose(y.dataSync(), ref.data, { atol: 1e-6, msg: `${Cls.name} ${pad}` });
      y.dispose();
    }
  }
  x.dispose();
});

test('global average pooling averages spatial axes, keepdims optional', () => {
  const x = randomTensor(3, [2, 3, 4, 5]);
  const y = new GlobalAveragePooling2D().apply(x);
  assert.deepEqual(y.shape, [2, 5]);
  const xv = x.arraySync() as number[][][][];
  const expected: number[] = [];
  for (let b = 0; b < 2; b++)
    for (let c = 0; c < 5; c++) {
      let s = 0;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) s += xv[b][i][j][c];
      expected.push(s / 12);
    }
  assertClose(y.dataSync(), expected, { atol: 1e-6 });
  const k = new GlobalAveragePooling2D({ keepdims: true }).apply(x);
  assert.deepEqual(k.shape, [2, 1, 1, 5]);
  const x3 = tf.ones([2, 2, 3, 4, 6]);
  const y3 = new GlobalAveragePooling3D({ keepdims: true }).apply(x3);
  assert.deepEqual(y3.shape, [2, 1, 1, 1, 6]);
  assert.throws(() => new GlobalAveragePooling3D().apply(x), /expected a rank-5 input/);
  tf.dispose([x, y, k, x3, y3]);
});
