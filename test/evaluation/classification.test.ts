/** TopKAccuracy (top-1 / top-5) on hand-counted logits, integer and one-hot labels. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { TopKAccuracy } from '../../src/evaluation/classification.js';

test('top-1 and top-2 accuracy count the label among the k highest logits', async () => {
  await tf.setBackend('cpu');
  // Row ranks: [c2, c0, c1], [c1, c2, c0], [c0, c1, c2]; labels 0, 0, 0.
  const logits = tf.tensor2d([
    [0.2, 0.1, 0.9],
    [0.0, 0.8, 0.5],
    [0.7, 0.2, 0.1],
  ]);
  const labels = tf.tensor1d([0, 0, 0], 'int32');
  const top1 = new TopKAccuracy(1);
  const top2 = new TopKAccuracy(2);
  await top1.updateFrom(logits, labels);
  await top2.updateFrom(logits, labels);
  assert.deepEqual(top1.result(), { accuracy: 1 / 3 }); // only row 3
  assert.deepEqual(top2.result(), { top_2_accuracy: 2 / 3 }); // rows 1 and 3
  // One-hot labels: argmax is the class; k above the class count clamps to all classes.
  const top5 = new TopKAccuracy(5);
  await top5.updateFrom(logits, tf.oneHot(labels, 3));
  assert.deepEqual(top5.result(), { top_5_accuracy: 1 });
  top1.reset();
  assert.deepEqual(top1.result(), { accuracy: 0 });
  assert.throws(() => new TopKAccuracy(0), /k must be >= 1/);
});
