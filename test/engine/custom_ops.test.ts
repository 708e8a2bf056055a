/**
 * The custom vision kernels (src/core/backend/custom) compiled to ONNX equal their eager
 * kernels, on cpu and wasm traces: padded NMS (class-aware with shared and per-class boxes,
 * class-agnostic, heavy score ties, K beyond the candidates, an empty selection) and grouped /
 * depthwise 3-D convolution with both gradients (Conv / ConvTranspose with `group`, grouped
 * im2col).
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/core/random.js';
import { conv3dGrouped } from '../../src/ops/conv3d_grouped.js';
import { Trace } from '../../src/engine/trace.js';
import { nmsPadded, type NmsPaddedOptions } from '../../src/ops/nms_padded.js';
import { assertCompiledMatches, normal, type TensorFn } from './compile_check.js';
import { testOnEachBackend } from './backends.js';

/** [B, N, Cb, 4] boxes clustered in a 30×30 field (many overlaps) from the stream of `seed`. */
function randomBoxes(b: number, n: number, cb: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  const v: number[] = [];
  for (let i = 0; i < b * n * cb; i++) {
    const y = rng.uniformRange(0, 20);
    const x = rng.uniformRange(0, 20);
    v.push(y, x, y + rng.uniformRange(2, 10), x + rng.uniformRange(2, 10));
  }
  return tf.tensor4d(v, [b, n, cb, 4]);
}

/** [B, N, C] scores in [0, 1), rounded to multiples of `step` (coarse steps make many ties). */
function randomScores(b: number, n: number, c: number, seed: number, step: number): tf.Tensor3D {
  const rng = new Rng(seed);
  const v = Array.from({ length: b * n * c }, () => Math.floor(rng.uniform() / step) * step);
  return tf.tensor3d(v, [b, n, c]);
}

function nmsFn(opts: NmsPaddedOptions): TensorFn {
  return (i) => {
    const r = nmsPadded(i.boxes as tf.Tensor4D, i.scores as tf.Tensor3D, opts);
    return [r.boxes, r.scores, r.classes, r.validDetections];
  };
}

testOnEachBackend('padded NMS compiled equals eager', async () => {
  const cases: [string, tf.Tensor4D, tf.Tensor3D, NmsPaddedOptions][] = [
    ['class-aware', randomBoxes(2, 40, 1, 1), randomScores(2, 40, 3, 2, 1e-3), {}],
    [
      'class-aware, ties, top-k',
      randomBoxes(2, 40, 1, 3),
      randomScores(2, 40, 3, 4, 0.1),
      { maxNumDetections: 12, preNmsTopK: 15, iouThreshold: 0.3, scoreThreshold: 0.2 },
    ],
    [
      'per-class boxes',
      randomBoxes(2, 30, 3, 5),
      randomScores(2, 30, 3, 6, 0.1),
      { maxNumDetections: 10 },
    ],
    [
      'class-agnostic, per-class boxes',
      randomBoxes(2, 30, 3, 7),
      randomScores(2, 30, 3, 8, 0.1),
      { maxNumDetections: 10, classAgnostic: true },
    ],
    [
      'class-agnostic, shared boxes',
      randomBoxes(1, 30, 1, 9),
      randomScores(1, 30, 4, 10, 1e-3),
      { maxNumDetections: 6, classAgnostic: true, iouThreshold: 0.6 },
    ],
    [
      'K beyond the candidates',
      randomBoxes(2, 3, 1, 11),
      randomScores(2, 3, 1, 12, 1e-3),
      { maxNumDetections: 5, preNmsTopK: 2, scoreThreshold: 0 },
    ],
    [
      'detection-generator scale',
      randomBoxes(2, 1500, 1, 15),
      randomScores(2, 1500, 8, 16, 1e-2),
      { maxNumDetections: 100, preNmsTopK: 1000 },
    ],
    [
      // IoU exactly 0.5 ([0,0,1,1] vs [0,0,1,2]) keeps the box, as the eager kernel.
      'IoU equal to the threshold',
      tf.tensor4d([0, 0, 1, 1, 0, 0, 1, 2], [1, 2, 1, 4]),
      tf.tensor3d([0.75, 0.5], [1, 2, 1]),
      { maxNumDetections: 2, iouThreshold: 0.5 },
    ],
    [
      'nothing selected',
      randomBoxes(2, 8, 1, 13),
      randomScores(2, 8, 2, 14, 1e-3),
      { scoreThreshold: 0.999, maxNumDetections: 4 },
    ],
  ];
  for (const [name, boxes, scores, opts] of cases) {
    const { opTypes } = await assertCompiledMatches(name, { boxes, scores }, nmsFn(opts), {
      rtol: 0,
      atol: 0,
    });
    assert.ok(opTypes.includes('NonMaxSuppression'), `${name}: lowered to NonMaxSuppression`);
    tf.dispose([boxes, scores]);
  }
});

type Triple = [number, number, number];

testOnEachBackend(
  'grouped and depthwise Conv3D compiled equals eager, values and gradients',
  async () => {
    const cases: [
      string,
      number[],
      number[],
      number | Triple,
      'same' | 'valid',
      number | Triple,
      number,
    ][] = [
      ['groups 2, strided', [2, 4, 5, 6, 4], [3, 3, 3, 2, 6], [1, 2, 2], 'same', 1, 2],
      ['depthwise, unit stride', [2, 4, 6, 5, 3], [3, 3, 3, 1, 3], 1, 'same', 1, 3],
      ['depthwise ×2, stride 2, valid', [1, 5, 7, 6, 2], [2, 3, 3, 1, 4], 2, 'valid', 1, 2],
      ['groups 3, dilated', [1, 5, 7, 7, 6], [2, 3, 3, 2, 3], 1, 'same', [1, 2, 2], 3],
    ];
    for (const [name, xs, ws, strides, pad, dilations, groups] of cases) {
      const x = normal(xs, 1);
      const w = normal(ws, 2);
      const fn: TensorFn = (i) => {
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(
            tf.square(
              conv3dGrouped(a as tf.Tensor5D, b as tf.Tensor5D, strides, pad, dilations, groups),
            ),
          ),
        )([i.x, i.w]);
        return [value, ...grads];
      };
      const trace = new Trace();
      tf.tidy(() => trace.run(() => fn({ x, w })));
      const kernels = new Set(trace.calls.map((c) => c.kernelName));
      for (const k of [
        'Conv3DGrouped',
        'Conv3DGroupedBackpropInput',
        'Conv3DGroupedBackpropFilter',
      ])
        assert.ok(kernels.has(k), `${name}: runs ${k}`);
      const { opTypes } = await assertCompiledMatches(name, { x, w }, fn, { atolOfScale: true });
      assert.ok(opTypes.includes('Conv'), `${name}: lowered to Conv`);
      tf.dispose([x, w]);
    }
  },
);

testOnEachBackend(
  'grouped Conv3D with a constant filter (inference and export graphs)',
  async () => {
    // A filter captured by the function is a constant of the graph: its ONNX layouts (forward,
    // flipped and regrouped) are made when the graph is built.
    const cases: [string, number[], number | Triple, number][] = [
      ['groups 3, unit stride', [3, 3, 3, 2, 6], 1, 3],
      ['groups 2, strided', [3, 3, 3, 3, 4], [1, 2, 2], 2],
    ];
    for (const [name, ws, strides, groups] of cases) {
      const x = normal([1, 4, 6, 6, 6], 3);
      const w = normal(ws, 4) as tf.Tensor5D;
      const fn: TensorFn = (i) => {
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor) =>
          tf.sum(tf.square(conv3dGrouped(a as tf.Tensor5D, w, strides, 'same', 1, groups))),
        )([i.x]);
        return [value, ...grads];
      };
      const { opTypes } = await assertCompiledMatches(name, { x }, fn, { atolOfScale: true });
      // No filter re-layout at run time (a run-time one moves the taps axis with a Gemm).
      assert.ok(!opTypes.includes('Gemm'), `${name}: filter layouts are constants`);
      tf.dispose([x, w]);
    }
  },
);
