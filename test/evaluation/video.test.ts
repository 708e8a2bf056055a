/** Multi-view aggregation (softmax per view, mean over views) and its top-k accuracy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { assertClose } from '../helpers.js';
import { aggregateMultiView, MultiViewAccuracy } from '../../src/evaluation/video.js';

const softmax = (row: number[]) => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

test('aggregateMultiView averages per-view softmax over consecutive views', async () => {
  await tf.setBackend('cpu');
  const rows = [
    [2, 0, 0],
    [0, 3, 0],
    [1, 1, 1],
    [0, 0, 4],
    [0, 2, 0],
    [5, 0, 0],
  ];
  const out = aggregateMultiView(tf.tensor2d(rows), 3);
  assert.deepEqual(out.shape, [2, 3]);
  const expected: number[] = [];
  for (const v of [0, 1]) {
    const p = rows.slice(v * 3, v * 3 + 3).map(softmax);
    for (let c = 0; c < 3; c++) expected.push((p[0][c] + p[1][c] + p[2][c]) / 3);
  }
  assertClose(await out.data(), expected, { rtol: 1e-6 });
  assert.throws(() => aggregateMultiView(tf.tensor2d(rows), 4), /not a multiple of numViews = 4/);
});

test('averaging softmax differs from averaging logits, and top-1/top-5 follow it', async () => {
  await tf.setBackend('cpu');
  // Video 0, 2 views: A is sure of class 0; B splits between classes 1 and 2. Mean logits
  // favour class 1 (5 vs 5.5); mean softmax favours class 0 (0.5 vs about 0.41).
  const logits = tf.tensor2d([
    [10, 0, 0],
    [0, 11, 9.5],
    [0, 0, 1],
    [0, 0, 1],
  ]);
  const m = new MultiViewAccuracy(2, [1, 2]);
  await m.update(logits, tf.tensor1d([0, 2], 'int32'));
  const pA = softmax([10, 0, 0]);
  const pB = softmax([0, 11, 9.5]);
  assert.ok((10 + 0) / 2 < (0 + 11) / 2, 'logit mean picks class 1');
  assert.ok((pA[0] + pB[0]) / 2 > (pA[1] + pB[1]) / 2, 'softmax mean picks class 0');
  assert.deepEqual(m.result(), { top_1_accuracy: 1, top_2_accuracy: 1 });
  await m.update(
    tf.tensor2d([
      [0, 3, 1],
      [0, 3, 1],
    ]),
    tf.tensor1d([2], 'int32'),
  );
  assert.deepEqual(m.result(), { top_1_accuracy: 2 / 3, top_2_accuracy: 1 });
  await assert.rejects(m.update(logits, tf.tensor1d([0], 'int32')), /1 labels for 2 videos/);
});
