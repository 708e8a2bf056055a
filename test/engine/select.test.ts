/**
 * Selection lowerings (src/engine/kernels/select.ts) against eager tfjs on each tracing backend:
 * TopK (values, and indices with ties), GatherV2 with batch dimensions, GatherNd,
 * ScatterNd (duplicate indices add up), TensorScatterUpdate, and Cumsum with every flag pair; the
 * gradients of Cumsum, of GatherNd / ScatterNd and of GatherV2 with batchDims (the last three
 * registered by src/core/gradients.ts), also checked by hand or against per-batch gathers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { Trace } from '../../src/engine/trace.js';
import { assertClose } from '../helpers.js';
import { assertCompiledMatches, normal, type TensorFn } from './compile_check.js';
import { testOnEachBackend } from './backends.js';

function kernelsOf(inputs: Record<string, tf.Tensor>, fn: TensorFn): Set<string> {
  const trace = new Trace();
  tf.tidy(() => trace.run(() => fn(inputs)));
  return new Set(trace.calls.map((c) => c.kernelName));
}

/** Checks that `fn` reaches `kernel`, then compiled equals eager. */
async function check(
  name: string,
  kernel: string,
  inputs: Record<string, tf.Tensor>,
  fn: TensorFn,
): Promise<void> {
  assert.ok(kernelsOf(inputs, fn).has(kernel), `${name} runs ${kernel}`);
  await assertCompiledMatches(name, inputs, fn);
}

testOnEachBackend('TopK: values and indices, the lower index first among ties', async () => {
  // Values rounded to halves so that rows hold ties.
  const x = tf.div(tf.round(tf.mul(normal([3, 9], 1), 2)), 2);
  const fn: TensorFn = (i) => {
    const { values, indices } = tf.topk(i.x, 5);
    return [values, indices];
  };
  const [, indices] = fn({ x });
  // By hand for one row: indices sorted by (value descending, index ascending).
  const row = Array.from(x.dataSync().slice(0, 9));
  const expected = row
    .map((v, j) => [v, j])
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, 5)
    .map((p) => p[1]);
  assert.deepEqual(Array.from(indices.dataSync().slice(0, 5)), expected);
  assert.ok(new Set(row).size < row.length, 'the first row has ties');
  await check('topk', 'TopK', { x }, fn);
  tf.dispose([x, indices]);
});

// On cpu only: tfjs-backend-wasm 4.22's GatherV2 returns zeros for batchDims > 0 (the hand check
// below fails there), so eager wasm is no reference.
test('GatherV2 with batchDims [cpu]', async () => {
  await initBackend('cpu');
  const x = normal([2, 3, 5, 4], 2);
  const idx2 = tf.tensor3d([0, 4, 1, 1, 3, 2, 2, 0, 4, 4, 1, 3], [2, 3, 2], 'int32');
  const idx1 = tf.tensor2d([0, 4, 1, 2, 3, 3, 0, 1], [2, 4], 'int32');
  const fn: TensorFn = (i) => [
    tf.gather(i.x, i.idx2, 2, 2),
    // axis 2 with one batch axis: the middle axis (3) moves behind the index axis.
    tf.gather(i.x, i.idx1, 2, 1),
    tf.gather(i.x, i.idx1, -2, -1),
  ];
  const [two] = fn({ x, idx2, idx1 });
  // By hand: out[b, c, j, :] = x[b, c, idx2[b, c, j], :]; (1, 1, 0) reads x[1, 1, 4, :].
  assert.deepEqual(
    Array.from(two.dataSync().slice(4 * 2 * 4, 4 * 2 * 4 + 4)),
    Array.from(x.dataSync().slice((1 * 3 * 5 + 1 * 5 + 4) * 4, (1 * 3 * 5 + 1 * 5 + 4) * 4 + 4)),
  );
  await check('gather batchDims', 'GatherV2', { x, idx2, idx1 }, fn);

  // The gradient (src/core/gradients.ts) against per-batch plain gathers, then compiled.
  const weights = normal([2, 3, 4, 4], 9);
  const loss = (a: tf.Tensor) => tf.sum(tf.mul(tf.sin(tf.gather(a, idx1, 2, 1)), weights));
  const perBatch = (a: tf.Tensor) =>
    tf.sum(
      tf.mul(
        tf.sin(
          tf.stack(
            tf
              .unstack(a)
              .map((xb, b) => tf.gather(xb, tf.reshape(tf.slice(idx1, [b, 0], [1, 4]), [4]), 1)),
          ),
        ),
        weights,
      ),
    );
  const dx = tf.grad(loss)(x);
  const want = tf.grad(perBatch)(x);
  assertClose(dx.dataSync(), want.dataSync(), { rtol: 1e-6, msg: 'batchDims 1 gradient' });
  const duplicates = tf.tensor3d([0, 4, 4, 1, 1, 1, 2, 0, 4, 4, 1, 3], [2, 3, 2], 'int32');
  const gradFn: TensorFn = (i) => {
    const { value, grad } = tf.valueAndGrad((a: tf.Tensor) =>
      tf.add(
        tf.sum(tf.mul(tf.sin(tf.gather(a, i.idx1, 2, 1)), weights)),
        tf.sum(tf.square(tf.gather(a, i.duplicates, 2, 2))),
      ),
    )(i.x);
    return [value, grad];
  };
  await check('gather batchDims gradient', 'UnsortedSegmentSum', { x, idx1, duplicates }, gradFn);
  tf.dispose([x, idx2, idx1, two, weights, dx, want, duplicates]);
});

testOnEachBackend('GatherNd, ScatterNd and TensorScatterUpdate', async () => {
  const params = normal([4, 5, 3], 5);
  const pairs = tf.tensor2d([1, 2, 3, 0, 0, 4, 3, 0], [4, 2], 'int32');
  const rows = tf.tensor2d([2, 0, 2], [3, 1], 'int32');
  const updates = normal([3, 5, 3], 6);
  const fn: TensorFn = (i) => [
    tf.gatherND(i.params, i.pairs),
    tf.gatherND(i.params, i.rows),
    // Row 2 is scattered twice: the two updates add up.
    tf.scatterND(i.rows, i.updates, [4, 5, 3]),
    tf.tensorScatterUpdate(
      i.params,
      tf.tensor2d([3, 1], [2, 1], 'int32'),
      tf.slice(i.updates, 0, 2),
    ),
  ];
  // Gradients (src/core/gradients.ts): GatherNd's is a ScatterNd (row 3 gathered twice gets
  // both contributions), ScatterNd's a GatherNd.
  const gradFn: TensorFn = (i) => {
    const { value, grads } = tf.valueAndGrads((p: tf.Tensor, u: tf.Tensor) =>
      tf.add(
        tf.sum(tf.mul(tf.sin(tf.gatherND(p, i.pairs)), normal([4, 3], 11))),
        tf.sum(tf.mul(tf.scatterND(i.rows, tf.square(u), [4, 5, 3]), normal([4, 5, 3], 12))),
      ),
    )([i.params, i.updates]);
    return [value, ...grads];
  };
  const [, dParams] = gradFn({ params, pairs, rows, updates });
  const pv = params.dataSync();
  const w = normal([4, 3], 11).dataSync();
  const dp = dParams.dataSync();
  // By hand: d params[3, 0, c] = Σ over the two gathers of (3, 0): w[k, c]·cos(params[3, 0, c]).
  for (let c = 0; c < 3; c++) {
    const at = (3 * 5 + 0) * 3 + c;
    const byHand = (w[1 * 3 + c] + w[3 * 3 + c]) * Math.cos(pv[at]);
    assertClose([dp[at]], [byHand], { rtol: 1e-5, msg: `d params[3, 0, ${c}]` });
  }
  dParams.dispose();
  await assertCompiledMatches(
    'gather/scatter nd gradients',
    { params, pairs, rows, updates },
    gradFn,
  );
  const inputs = { params, pairs, rows, updates };
  const kernels = kernelsOf(inputs, fn);
  for (const k of ['GatherNd', 'ScatterNd', 'TensorScatterUpdate']) assert.ok(kernels.has(k), k);
  await assertCompiledMatches('gather/scatter nd', inputs, fn);
  tf.dispose(Object.values(inputs));
});

testOnEachBackend('Cumsum: exclusive / reverse, values and gradients', async () => {
  const x = normal([3, 6], 7);
  for (const exclusive of [false, true]) {
    for (const reverse of [false, true]) {
      const fn: TensorFn = (i) => {
        const { value, grad } = tf.valueAndGrad((a: tf.Tensor) =>
          tf.sum(tf.mul(tf.sin(tf.cumsum(a, 1, exclusive, reverse)), normal([3, 6], 8))),
        )(i.x);
        // The gradient along a middle axis (MoViNet pools over time, axis 1 of NDHWC).
        const middle = tf.grad((a: tf.Tensor) =>
          tf.sum(tf.mul(tf.sin(tf.cumsum(a, 1, exclusive, reverse)), normal([3, 2, 3], 9))),
        )(tf.reshape(i.x, [3, 2, 3]));
        return [value, grad, tf.cumsum(i.x, 0, exclusive, reverse), middle];
      };
      await check(`cumsum exclusive=${exclusive} reverse=${reverse}`, 'Cumsum', { x }, fn);
    }
  }
  x.dispose();
});
