import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Rng } from '../../../src/core/random.js';
import { constant } from '../../../src/core/initializers.js';
import {
  Conv2D,
  Conv3D,
  DepthwiseConv2D,
  SeparableConv2D,
  tfPadding,
} from '../../../src/modeling/layers/conv.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

function values(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.uniformRange(-1, 1));
}

function randomTensor(seed: number, shape: number[]): tf.Tensor {
  return tf.tensor(
    values(
      seed,
      shape.reduce((a, b) => a * b, 1),
    ),
    shape,
  );
}

/** TF padding computed from the documented formula, independently of the layer code. */
function padBefore(inSize: number, k: number, s: number, d: number, same: boolean) {
  if (!same) return { out: Math.floor((inSize - (k - 1) * d - 1) / s) + 1, before: 0 };
  const out = Math.ceil(inSize / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - inSize, 0);
  return { out, before: Math.floor(total / 2) };
}

/** Explicit-loop NHWC convolution; `depthwise` uses kernel [kh, kw, c, mult]. */
function refConv2d(
  x: tf.Tensor,
  k: tf.Tensor,
  stride: [number, number],
  dil: [number, number],
  same: boolean,
  depthwise = false,
): { shape: number[]; data: Float32Array } {
  const [n, h, w, c] = x.shape;
  const [kh, kw, , o] = k.shape;
  const xv = x.dataSync();
  const kv = k.dataSync();
  const ph = padBefore(h, kh, stride[0], dil[0], same);
  const pw = padBefore(w, kw, stride[1], dil[1], same);
  const outC = depthwise ? c * o : o;
  const out = new Float32Array(n * ph.out * pw.out * outC);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < ph.out; i++)
      for (let j = 0; j < pw.out; j++)
        for (let oc = 0; oc < outC; oc++) {
          let s = 0;
          for (let a = 0; a < kh; a++)
            for (let e = 0; e < kw; e++) {
              const y = i * stride[0] + a * dil[0] - ph.before;
              const z = j * stride[1] + e * dil[1] - pw.before;
              if (y < 0 || y >= h || z < 0 || z >= w) continue;
              if (depthwise) {
                const ic = Math.floor(oc / o);
                const m = oc % o;
                s += xv[((b * h + y) * w + z) * c + ic] * kv[((a * kw + e) * c + ic) * o + m];
              } else {
                for (let ic = 0; ic < c; ic++) {
                  s += xv[((b * h + y) * w + z) * c + ic] * kv[((a * kw + e) * c + ic) * o + oc];
                }
              }
            }
          out[((b * ph.out + i) * pw.out + j) * outC + oc] = s;
        }
  return { shape: [n, ph.out, pw.out, outC], data: out };
}

function kernelOf(layer: Conv2D | DepthwiseConv2D | Conv3D, name = 'kernel'): tf.Variable {
  const w = layer
    .weights()
    .find((x) => x.path.endsWith(`/${name}`) || x.path === `${layer.name}/${name}`);
  assert.ok(w, `weight ${name}`);
  return w.variable;
}

test('tfPadding matches the TF SAME formula, with the extra pixel after', () => {
  assert.deepEqual(tfPadding(8, 3, 2, 1, 'same'), { before: 0, after: 1, outSize: 4 });
  assert.deepEqual(tfPadding(7, 3, 2, 1, 'same'), { before: 1, after: 1, outSize: 4 });
  assert.deepEqual(tfPadding(6, 4, 1, 1, 'same'), { before: 1, after: 2, outSize: 6 });
  assert.deepEqual(tfPadding(7, 3, 1, 2, 'same'), { before: 2, after: 2, outSize: 7 });
  assert.deepEqual(tfPadding(9, 3, 2, 1, 'valid'), { before: 0, after: 0, outSize: 4 });
});

const CASES: { h: number; w: number; k: number; s: number; d: number; pad: 'same' | 'valid' }[] = [
  { h: 7, w: 5, k: 3, s: 1, d: 1, pad: 'same' },
  { h: 8, w: 6, k: 3, s: 2, d: 1, pad: 'same' },
  { h: 8, w: 8, k: 4, s: 2, d: 1, pad: 'same' },
  { h: 7, w: 9, k: 3, s: 2, d: 1, pad: 'same' },
  { h: 7, w: 6, k: 3, s: 1, d: 2, pad: 'same' },
  { h: 9, w: 8, k: 2, s: 1, d: 3, pad: 'same' },
  { h: 9, w: 7, k: 3, s: 2, d: 1, pad: 'valid' },
  { h: 9, w: 8, k: 3, s: 1, d: 2, pad: 'valid' },
];

test('Conv2D equals an explicit-loop TF convolution (SAME/VALID, stride 2, dilation)', () => {
  for (const c of CASES) {
    const conv = new Conv2D({
      filters: 3,
      kernelSize: c.k,
      strides: c.s,
      dilationRate: c.d,
      padding: c.pad,
      biasInitializer: constant(0.25),
    });
    const x = randomTensor(c.h * 31 + c.w, [2, c.h, c.w, 2]);
    const y = conv.apply(x);
    const ref = refConv2d(x, kernelOf(conv), [c.s, c.s], [c.d, c.d], c.pad === 'same');
    assert.deepEqual(y.shape, ref.shape, JSON.stringify(c));
    assertClose(
      y.dataSync(),
      ref.data.map((v) => v + 0.25),
      { atol: 1e-5, msg: JSON.stringify(c) },
    );
    assert.deepEqual(kernelOf(conv).shape, [c.k, c.k, 2, 3]);
    tf.dispose([x, y]);
    conv.dispose();
  }
});

test('Conv2D applies its activation and accepts extra leading batch dims', () => {
  const conv = new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' });
  const x = randomTensor(5, [2, 3, 5, 5, 2]);
  const y = conv.apply(x);
  assert.deepEqual(y.shape, [2, 3, 5, 5, 4]);
  const ref = refConv2d(tf.reshape(x, [6, 5, 5, 2]), kernelOf(conv), [1, 1], [1, 1], true);
  assertClose(
    y.dataSync(),
    ref.data.map((v) => Math.max(v, 0)),
    { atol: 1e-5 },
  );
  tf.dispose([x, y]);
});

test('DepthwiseConv2D equals the explicit-loop depthwise convolution', () => {
  for (const c of [
    { h: 7, w: 6, k: 3, s: 2, d: 1, pad: 'same' as const },
    { h: 7, w: 7, k: 3, s: 1, d: 2, pad: 'same' as const },
    { h: 8, w: 6, k: 5, s: 1, d: 1, pad: 'valid' as const },
  ]) {
    const dw = new DepthwiseConv2D({
      kernelSize: c.k,
      strides: c.s,
      dilationRate: c.d,
      padding: c.pad,
      depthMultiplier: 2,
    });
    const x = randomTensor(c.h + c.k, [1, c.h, c.w, 3]);
    const y = dw.apply(x);
    const k = kernelOf(dw, 'depthwise_kernel');
    assert.deepEqual(k.shape, [c.k, c.k, 3, 2]);
    const ref = refConv2d(x, k, [c.s, c.s], [c.d, c.d], c.pad === 'same', true);
    assert.deepEqual(y.shape, ref.shape);
    assertClose(y.dataSync(), ref.data, { atol: 1e-5, msg: JSON.stringify(c) });
    assert.equal(dw.countParams(), c.k * c.k * 3 * 2 + 6);
    tf.dispose([x, y]);
  }
});

/** Explicit-loop NDHWC convolution. */
function refConv3d(x: tf.Tensor, k: tf.Tensor, s: number, d: number, same: boolean) {
  const [n, D, H, W, c] = x.shape;
  const [kd, kh, kw, , o] = k.shape;
  const xv = x.dataSync();
  const kv = k.dataSync();
  const [pd, ph, pw] = [
    padBefore(D, kd, s, d, same),
    padBefore(H, kh, s, d, same),
    padBefore(W, kw, s, d, same),
  ];
  const out = new Float32Array(n * pd.out * ph.out * pw.out * o);
  let idx = 0;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < pd.out; i++)
      for (let j = 0; j < ph.out; j++)
        for (let l = 0; l < pw.out; l++)
          for (let oc = 0; oc < o; oc++) {
            let sum = 0;
            for (let a = 0; a < kd; a++)
              for (let e = 0; e < kh; e++)
                for (let f = 0; f < kw; f++) {
                  const z = i * s + a * d - pd.before;
                  const y = j * s + e * d - ph.before;
                  const q = l * s + f * d - pw.before;
                  if (z < 0 || z >= D || y < 0 || y >= H || q < 0 || q >= W) continue;
                  for (let ic = 0; ic < c; ic++) {
                    sum +=
                      xv[(((b * D + z) * H + y) * W + q) * c + ic] *
                      kv[(((a * kh + e) * kw + f) * c + ic) * o + oc];
                  }
                }
            out[idx++] = sum;
          }
  return { shape: [n, pd.out, ph.out, pw.out, o], data: out };
}

test('Conv3D equals an explicit-loop NDHWC convolution', () => {
  for (const c of [
    { size: [4, 5, 6], k: 3, s: 2, d: 1, pad: 'same' as const },
    { size: [5, 5, 4], k: 2, s: 1, d: 2, pad: 'same' as const },
    { size: [5, 6, 5], k: 3, s: 1, d: 1, pad: 'valid' as const },
    // stride > kernel with even sizes: TF pads 0 in front (tfjs-core's 3-D SAME would pad -1).
    { size: [6, 6, 4], k: 1, s: 2, d: 1, pad: 'same' as const },
  ]) {
    const conv = new Conv3D({
      filters: 2,
      kernelSize: c.k,
      strides: c.s,
      dilationRate: c.d,
      padding: c.pad,
    });
    const x = randomTensor(c.k * 7 + c.s, [1, ...c.size, 2]);
    const y = conv.apply(x);
    const k = kernelOf(conv);
    assert.deepEqual(k.shape, [c.k, c.k, c.k, 2, 2]);
    const ref = refConv3d(x, k, c.s, c.d, c.pad === 'same');
    assert.deepEqual(y.shape, ref.shape);
    assertClose(y.dataSync(), ref.data, { atol: 1e-5, msg: JSON.stringify(c) });
    tf.dispose([x, y]);
  }
  const mixed = new Conv3D({ filters: 1, kernelSize: [1, 3, 3], padding: 'same' });
  const x = tf.zeros([1, 2, 4, 4, 3]);
  mixed.apply(x).dispose();
  assert.deepEqual(kernelOf(mixed).shape, [1, 3, 3, 3, 1]);
  x.dispose();
});

test('dilated convolutions have gradients equal to those of the zero-inserted kernel', () => {
  const conv = new Conv2D({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same' });
  const x = randomTensor(3, [1, 7, 6, 2]);
  conv.apply(x).dispose();
  const k = kernelOf(conv);
  // Kernel with dilation built in: 5x5 with zeros between taps.
  const kd = tf.tidy(() => {
    const buf = tf.buffer([5, 5, 2, 2]);
    const kv = k.arraySync() as number[][][][];
    for (let a = 0; a < 3; a++)
      for (let e = 0; e < 3; e++)
        for (let i = 0; i < 2; i++)
          for (let o = 0; o < 2; o++) buf.set(kv[a][e][i][o], 2 * a, 2 * e, i, o);
    return buf.toTensor();
  });
  const weights = randomTensor(9, [1, 7, 6, 2]);
  const ours = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(conv.apply(t), weights)))(x);
  const ref = tf.grad((t: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(t as tf.Tensor4D, kd as tf.Tensor4D, 1, 'same'), weights)),
  )(x);
  assertClose(ours.dataSync(), ref.dataSync(), { atol: 1e-5 });
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(conv.apply(x), weights)) as tf.Scalar);
  assert.deepEqual(grads[k.name].shape, [3, 3, 2, 2]);
  tf.dispose([x, kd, weights, ours, ref, ...Object.values(grads)]);
});

test('convolution options are validated with clear errors', () => {
  assert.throws(
    () => new Conv2D({ filters: 2, kernelSize: 3, strides: 2, dilationRate: 2 }),
    /strides \[2,2\] with dilationRate \[2,2\].*one of them must be 1/,
  );
  assert.throws(
    () => new DepthwiseConv2D({ kernelSize: 3, strides: [1, 2], dilationRate: 2 }),
    /one of them must be 1/,
  );
  assert.throws(
    () => new Conv2D({ filters: 0, kernelSize: 3 }),
    /filters must be a positive integer/,
  );
  assert.throws(
    () => new Conv2D({ filters: 1, kernelSize: [3, 3, 3] }),
    /kernelSize must be a number or 2 numbers/,
  );
  assert.throws(
    () => new Conv2D({ filters: 1, kernelSize: 3, padding: 'full' as 'same' }),
    /padding must be 'same' or 'valid', got 'full'/,
  );
  const conv = new Conv2D({ filters: 1, kernelSize: 5 });
  const small = tf.zeros([1, 3, 3, 1]);
  assert.throws(() => conv.apply(small), /smaller than the \(dilated\) kernel/);
  assert.throws(() => new Conv3D({ filters: 1, kernelSize: 3 }).apply(small), /rank-5 NDHWC/);
  small.dispose();
});

test('Keras defaults: valid padding, bias on, glorot uniform kernel', () => {
  const conv = new Conv2D({ filters: 8, kernelSize: 3 });
  const x = tf.zeros([1, 6, 6, 4]);
  const y = conv.apply(x);
  assert.deepEqual(y.shape, [1, 4, 4, 8]);
  assert.equal(conv.name, 'conv2d');
  const k = kernelOf(conv).dataSync();
  const limit = Math.sqrt(6 / (36 + 72)); // glorot: sqrt(6 / (fan_in + fan_out))
  assert.ok(Array.from(k).every((v) => Math.abs(v) <= limit));
  assert.ok(Math.max(...Array.from(k).map(Math.abs)) > 0.8 * limit);
  assert.deepEqual(
    conv.weights().map((w) => [w.path, w.trainable, w.regularize]),
    [
      ['conv2d/kernel', true, true],
      ['conv2d/bias', true, false],
    ],
  );
  tf.dispose([x, y]);
});

test('SeparableConv2D equals tf.separableConv2d plus bias, with Keras weight names and shapes', () => {
  const layer = new SeparableConv2D({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' });
  const x = tf.randomNormal([2, 5, 5, 4], 0, 1, 'float32', 7);
  const y = layer.apply(x);
  const [dw, pw, b] = layer.weights().map((w) => w.variable);
  assert.deepEqual(
    layer.weights().map((w) => [w.path.split('/').at(-1), w.variable.shape]),
    [
      ['depthwise_kernel', [3, 3, 4, 1]],
      ['pointwise_kernel', [1, 1, 4, 3]],
      ['bias', [3]],
    ],
  );
  b.assign(tf.tensor1d([0.5, -1, 2]));
  const got = layer.apply(x);
  const want = tf.add(
    tf.separableConv2d(x as tf.Tensor4D, dw as tf.Tensor4D, pw as tf.Tensor4D, 2, 'same'),
    b,
  );
  assert.deepEqual(got.shape, [2, 3, 3, 3]);
  assertClose(got.dataSync(), want.dataSync(), { atol: 1e-5 });
  tf.dispose([x, y, got, want]);
  layer.dispose();
});
