/**
 * conv3dGrouped against an independent reference — one `tf.conv3d` per group on the group's
 * input channels and output filters, concatenated — for outputs and both gradients (tfjs-core's
 * own conv3d gradients), and against central finite differences (the convolution is linear in
 * each argument, so the differences are exact up to rounding), on the cpu and wasm kernels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { Rng } from '../../src/core/random.js';
import { conv3dGrouped, depthwiseConv3d } from '../../src/ops/conv3d_grouped.js';
import { assertClose } from '../helpers.js';

type Triple = [number, number, number];

function normal(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

/** The grouped convolution as one tf.conv3d per group. */
function perGroup(
  x: tf.Tensor5D,
  w: tf.Tensor5D,
  strides: number | Triple,
  pad: 'same' | 'valid',
  dilations: number | Triple,
  groups: number,
): tf.Tensor5D {
  const cinG = x.shape[4] / groups;
  const coutG = w.shape[4] / groups;
  const outs: tf.Tensor5D[] = [];
  for (let g = 0; g < groups; g++) {
    const xg = tf.slice(x, [0, 0, 0, 0, g * cinG], [-1, -1, -1, -1, cinG]);
    const wg = tf.slice(w, [0, 0, 0, 0, g * coutG], [-1, -1, -1, -1, coutG]);
    outs.push(tf.conv3d(xg, wg, strides, pad, 'NDHWC', dilations));
  }
  return tf.concat(outs, 4);
}

interface Case {
  name: string;
  x: number[];
  w: number[];
  strides: number | Triple;
  pad: 'same' | 'valid';
  dilations: number | Triple;
  groups: number;
  /** tfjs-core has no gradient for dilated conv3d: those are checked by finite differences. */
  forwardOnly?: boolean;
}

const CASES: Case[] = [
  {
    name: 'groups 2',
    x: [2, 4, 5, 6, 4],
    w: [3, 3, 3, 2, 6],
    strides: [1, 2, 2],
    pad: 'same',
    dilations: 1,
    groups: 2,
  },
  {
    name: 'depthwise ×2, valid',
    x: [1, 5, 6, 5, 3],
    w: [3, 2, 3, 1, 6],
    strides: 1,
    pad: 'valid',
    dilations: 1,
    groups: 3,
  },
  {
    name: 'depthwise, stride 2, even kernel',
    x: [2, 6, 7, 6, 4],
    w: [2, 2, 2, 1, 4],
    strides: 2,
    pad: 'same',
    dilations: 1,
    groups: 4,
  },
  {
    name: 'groups 3, dilated',
    x: [1, 6, 7, 7, 6],
    w: [2, 3, 3, 2, 3],
    strides: 1,
    pad: 'same',
    dilations: [1, 2, 2],
    groups: 3,
    forwardOnly: true,
  },
];

for (const backend of ['cpu', 'wasm']) {
  test(`conv3dGrouped equals a per-group tf.conv3d, values and gradients [${backend}]`, async () => {
    await initBackend(backend);
    CASES.forEach((c, k) => {
      const x = normal(c.x, 10 + k) as tf.Tensor5D;
      const w = normal(c.w, 20 + k) as tf.Tensor5D;
      /** The output, and unless forward-only the gradients of sum(output · r). */
      const run = (conv: (a: tf.Tensor5D, b: tf.Tensor5D) => tf.Tensor5D): tf.Tensor[] => {
        const y = conv(x, w);
        if (c.forwardOnly) return [y];
        const r = normal(y.shape, 30 + k);
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(conv(a as tf.Tensor5D, b as tf.Tensor5D), r)),
        )([x, w]);
        r.dispose();
        return [y, ...grads];
      };
      const got = run((a, b) => conv3dGrouped(a, b, c.strides, c.pad, c.dilations, c.groups));
      const want = run((a, b) => perGroup(a, b, c.strides, c.pad, c.dilations, c.groups));
      assert.deepEqual(got[0].shape, want[0].shape, `${c.name}: shape`);
      got.forEach((t, i) => {
        assertClose(t.dataSync(), want[i].dataSync(), {
          rtol: 1e-4,
          atol: 1e-4,
          msg: `${c.name}: ${['y', 'dx', 'dw'][i]}`,
        });
      });
      tf.dispose([x, w, ...got, ...want]);
    });
  });

  test(`conv3dGrouped gradients equal finite differences [${backend}]`, async () => {
    await initBackend(backend);
    const tiny: [number[], number[], number | Triple, number | Triple, number][] = [
      [[1, 3, 3, 4, 4], [2, 2, 3, 2, 4], [1, 2, 2], 1, 2],
      [[1, 3, 5, 5, 2], [2, 2, 2, 1, 4], 1, [1, 2, 2], 2],
    ];
    tiny.forEach(([xs, ws, strides, dilations, groups], k) => {
      const x = normal(xs, 1 + k) as tf.Tensor5D;
      const w = normal(ws, 3 + k) as tf.Tensor5D;
      const conv = (a: tf.Tensor, b: tf.Tensor) =>
        conv3dGrouped(a as tf.Tensor5D, b as tf.Tensor5D, strides, 'same', dilations, groups);
      const y = conv(x, w);
      const r = normal(y.shape, 5 + k);
      const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), r));
      const [dx, dw] = tf.grads(loss)([x, w]);
      const eps = 0.5;
      const numeric = (t: tf.Tensor, other: tf.Tensor, first: boolean): Float32Array => {
        const v = t.dataSync();
        const out = new Float32Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const shifted = (d: number) => {
            const u = Float32Array.from(v);
            u[i] += d;
            const s = tf.tensor(u, t.shape);
            const l = first ? loss(s, other) : loss(other, s);
            const value = l.dataSync()[0];
            tf.dispose([s, l]);
            return value;
          };
          out[i] = (shifted(eps) - shifted(-eps)) / (2 * eps);
        }
        return out;
      };
      const opts = { rtol: 1e-3, atol: 1e-3 };
      assertClose(dx.dataSync(), numeric(x, w, true), { ...opts, msg: `case ${k}: dx` });
      assertClose(dw.dataSync(), numeric(w, x, false), { ...opts, msg: `case ${k}: dw` });
      tf.dispose([x, w, y, r, dx, dw]);
    });
  });
}

test('depthwiseConv3d is groups = channels; bad groups are rejected', async () => {
  await initBackend('cpu');
  const x = normal([1, 3, 4, 4, 3], 5) as tf.Tensor5D;
  const w = normal([3, 3, 3, 1, 3], 6) as tf.Tensor5D;
  assertClose(
    depthwiseConv3d(x, w, 1, 'same').dataSync(),
    perGroup(x, w, 1, 'same', 1, 3).dataSync(),
    { rtol: 1e-5, atol: 1e-5 },
  );
  assert.throws(() => conv3dGrouped(x, w, 1, 'same', 1, 2), /divisible by groups 2/);
  const w2 = normal([3, 3, 3, 3, 3], 7) as tf.Tensor5D;
  assert.throws(() => conv3dGrouped(x, w2, 1, 'same', 1, 3), /filter input channels 3/);
});
