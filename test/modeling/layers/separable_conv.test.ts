import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { SeparableConv2D } from '../../../src/modeling/layers/conv.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

test('SeparableConv2D equals a full convolution with kernel depthwise[h, w, i]·pointwise[i, o]', () => {
  for (const strides of [1, 2]) {
    const layer = new SeparableConv2D({
      filters: 5,
      kernelSize: 3,
      strides,
      padding: 'same',
      biasInitializer: 'ones',
    });
    const x = tf.randomNormal([2, 7, 6, 3], 0, 1, 'float32', 4);
    const y = layer.apply(x);
    const [dw, pw, bias] = layer.weights().map((w) => w.variable);
    assert.deepEqual(dw.shape, [3, 3, 3, 1]);
    assert.deepEqual(pw.shape, [1, 1, 3, 5]);
    assert.deepEqual(bias.shape, [5]);
    // K[h, w, i, o] = D[h, w, i, 0] · P[0, 0, i, o]: a depthwise-then-pointwise conv is linear.
    const want = tf.tidy(() => {
      const k = tf.mul(tf.reshape(dw, [3, 3, 3, 1]), tf.reshape(pw, [1, 1, 3, 5]));
      return tf.add(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, strides, 'same'), bias);
    });
    assert.deepEqual(y.shape, [2, Math.ceil(7 / strides), Math.ceil(6 / strides), 5]);
    assertClose(y.dataSync(), want.dataSync(), { rtol: 1e-4, atol: 1e-5 });
    assert.deepEqual(
      layer.weights().map((w) => [w.path.split('/').pop(), w.regularize]),
      [
        ['depthwise_kernel', false],
        ['pointwise_kernel', false],
        ['bias', false],
      ],
    );
    tf.dispose([x, y, want]);
    layer.dispose();
  }
});
