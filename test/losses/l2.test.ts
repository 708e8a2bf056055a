import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Layer } from '../../src/core/layer.js';
import { l2Regularization, modelL2Regularization } from '../../src/losses/l2.js';
import { assertClose } from '../helpers.js';

await tf.setBackend('cpu');

test('l2 regularization is l2_weight_decay/2 · Σw² (Keras l2(l2_weight_decay / 2))', () => {
  // 0.1/2 · (1 + 4 + 9) = 0.7
  const loss = l2Regularization([tf.tensor1d([1, -2]), tf.tensor2d([[3]])], 0.1);
  assertClose(loss.dataSync(), [0.7]);
  assert.equal(l2Regularization([], 0.1).dataSync()[0], 0);
  assert.equal(l2Regularization([tf.ones([2])], 0).dataSync()[0], 0);
  assert.throws(() => l2Regularization([], -1), /l2_weight_decay must be a number >= 0/);
});

class Affine extends Layer {
  protected override build(): void {
    this.addWeight('kernel', [2], { initializer: () => tf.tensor1d([1, 3]), regularize: true });
    this.addWeight('bias', [1], { initializer: () => tf.tensor1d([10]) });
  }
  protected call(x: tf.Tensor): tf.Tensor {
    return x;
  }
}

test('only weights marked regularize count', () => {
  const layer = new Affine();
  layer.apply(tf.zeros([1]));
  // kernel only: 0.02/2 · (1 + 9) = 0.1; the bias (100) is left out.
  assertClose(modelL2Regularization(layer.weights(), 0.02).dataSync(), [0.1]);
  layer.dispose();
});
