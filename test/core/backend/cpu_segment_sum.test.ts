/**
 * tfjs-backend-cpu's UnsortedSegmentSum as replaced by src/core/backend/cpu_segment_sum.ts (one
 * pass over the rows instead of one masked sum per segment): sums of duplicate ids, ids outside
 * 0..numSegments-1 dropped as in TF, rows of any rank, int32 data, and the GatherV2 gradient.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';

test('cpu UnsortedSegmentSum: duplicates summed, out-of-range ids dropped, any row shape', async () => {
  await initBackend('cpu');
  const ids = tf.tensor1d([0, 3, -1, 3, 7, 2, 0], 'int32');
  // Row i of x is [10 i, 10 i + 1]: segment 0 = rows 0 + 6, 3 = rows 1 + 3, 2 = row 5.
  const x = tf.tensor3d(
    Array.from({ length: 7 }, (_, i) => [10 * i, 10 * i + 1]).flat(),
    [7, 1, 2],
  );
  const out = tf.unsortedSegmentSum(x, ids, 5);
  assert.deepEqual(out.shape, [5, 1, 2]);
  assert.deepEqual(Array.from(out.dataSync()), [60, 62, 0, 0, 50, 51, 40, 42, 0, 0]);
  const ints = tf.unsortedSegmentSum(
    tf.tensor1d([1, 2, 3], 'int32'),
    tf.tensor1d([1, 1, 0], 'int32'),
    3,
  );
  assert.equal(ints.dtype, 'int32');
  assert.deepEqual(Array.from(ints.dataSync()), [3, 3, 0]);
  // The gradient of a gather adds the upstream rows of repeated indices.
  const table = tf.zeros([4, 2]);
  const g = tf.grad((t: tf.Tensor) =>
    tf.sum(
      tf.mul(
        tf.gather(t, tf.tensor1d([2, 0, 2], 'int32')),
        tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]),
      ),
    ),
  )(table);
  assert.deepEqual(Array.from(g.dataSync()), [3, 4, 0, 0, 6, 8, 0, 0]);
  assert.throws(
    () => tf.unsortedSegmentSum(tf.ones([3, 2]), tf.tensor1d([0, 1], 'int32'), 2),
    /segmentIds shape \[2\] must be a prefix of x shape \[3,2\]/,
  );
});
