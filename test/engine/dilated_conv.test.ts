/**
 * Dilated Conv2D / DepthwiseConv2D layers on their dilated-kernel path (dilatedConv2d in
 * src/modeling/layers/conv.ts, gradients from the backprop kernels called with `dilations`):
 *
 *  - eager, values and gradients equal TF's atrous formulation (space-to-batch around an
 *    undilated convolution, `atrousConvolution`) on each backend: this checks the cpu and wasm
 *    dilated backprop kernels and keeps TF's SAME padding split;
 *  - compiled equals eager, and the graph holds no space-to-batch (one Conv with `dilations`).
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Trace } from '../../src/engine/trace.js';
import {
  atrousConvolution,
  Conv2D,
  DepthwiseConv2D,
  dilatedConv2d,
} from '../../src/modeling/layers/conv.js';
import { assertClose } from '../helpers.js';
import { assertCompiledMatches, normal, type TensorFn } from './compile_check.js';
import { testOnEachBackend } from './backends.js';

function weighted(y: tf.Tensor, seed: number): tf.Scalar {
  return tf.sum(tf.mul(tf.sin(y), normal(y.shape, seed)));
}

/** Cases: [filter shape, dilation, padding, depthwise]. Even and rectangular kernels included. */
const CASES: [number[], [number, number], 'same' | 'valid', boolean][] = [
  [[3, 3, 3, 4], [2, 2], 'same', false],
  [[2, 3, 3, 2], [3, 2], 'same', false],
  [[3, 2, 3, 2], [2, 3], 'valid', false],
  [[3, 3, 3, 2], [3, 3], 'same', true],
  [[2, 2, 3, 1], [2, 3], 'valid', true],
];

testOnEachBackend('dilatedConv2d equals the space-to-batch form, values and gradients', () => {
  const x = normal([2, 10, 9, 3], 1);
  CASES.forEach(([shape, dilation, padding, depthwise], k) => {
    const w = normal(shape, 10 + k);
    const loss = (conv: (a: tf.Tensor, f: tf.Tensor) => tf.Tensor) =>
      tf.valueAndGrads((a: tf.Tensor, f: tf.Tensor) => weighted(conv(a, f), 20 + k))([x, w]);
    const direct = loss((a, f) =>
      dilatedConv2d(a as tf.Tensor4D, f as tf.Tensor4D, dilation, padding, depthwise),
    );
    const atrous = loss((a, f) =>
      atrousConvolution(a, shape.slice(0, 2), dilation, padding, (t) =>
        depthwise
          ? tf.depthwiseConv2d(t as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid')
          : tf.conv2d(t as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'),
      ),
    );
    const msg = `case ${k} [${shape}] d${dilation} ${padding}${depthwise ? ' depthwise' : ''}`;
    assertClose(direct.value.dataSync(), atrous.value.dataSync(), { rtol: 1e-5, msg });
    direct.grads.forEach((g, i) =>
      assertClose(g.dataSync(), atrous.grads[i].dataSync(), {
        rtol: 1e-4,
        atol: 1e-5,
        msg: `${msg} gradient ${i}`,
      }),
    );
    tf.dispose([w, direct.value, atrous.value, ...direct.grads, ...atrous.grads]);
  });
  x.dispose();
});

testOnEachBackend(
  'dilated Conv2D and DepthwiseConv2D layers compile to Conv with dilations',
  async () => {
    const conv = new Conv2D({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same' });
    const rect = new Conv2D({
      filters: 2,
      kernelSize: [3, 2],
      dilationRate: [3, 2],
      padding: 'valid',
    });
    const depthwise = new DepthwiseConv2D({
      kernelSize: 3,
      dilationRate: 3,
      depthMultiplier: 2,
      padding: 'same',
    });
    const x = normal([2, 9, 7, 3], 5);
    tf.tidy(() => {
      conv.apply(depthwise.apply(x));
      rect.apply(x);
    });
    const layers = [conv, rect, depthwise];
    const weights = layers.flatMap((l) => l.trainableWeights().map((w) => w.variable));
    const inputs: Record<string, tf.Tensor> = { x };
    weights.forEach((w, i) => (inputs[`w${i}`] = w));
    const fn: TensorFn = (i) => {
      const { value, grads } = tf.variableGrads(
        () =>
          tf.addN([
            weighted(conv.apply(depthwise.apply(i.x)), 20),
            weighted(rect.apply(i.x), 21),
          ]) as tf.Scalar,
        weights,
      );
      const dx = tf.grad((a: tf.Tensor) => weighted(conv.apply(depthwise.apply(a)), 24))(i.x);
      return [value, dx, ...weights.map((w) => grads[w.name])];
    };
    const trace = new Trace();
    tf.tidy(() => trace.run(() => fn(inputs)));
    const calls = trace.calls.map((c) => c.kernelName);
    assert.ok(!calls.includes('SpaceToBatchND'), 'no space-to-batch');
    const dilatedCalls = trace.calls.filter((c) => JSON.stringify(c.attrs.dilations ?? 1) !== '1');
    for (const k of [
      'Conv2D',
      'Conv2DBackpropInput',
      'Conv2DBackpropFilter',
      'DepthwiseConv2dNative',
      'DepthwiseConv2dNativeBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter',
    ])
      assert.ok(
        dilatedCalls.some((c) => c.kernelName === k),
        `${k} with dilations`,
      );
    await assertCompiledMatches('dilated layers', inputs, fn);
    x.dispose();
    layers.forEach((l) => l.dispose());
  },
);
