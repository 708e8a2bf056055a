/**
 * Layout assignment (src/engine/layout.ts): convolutions and pooling run channels-first, and the
 * layout-agnostic work between them (batch norm, activations, residual adds, their gradients)
 * follows them, so a conv network's training graph changes layout only where its input comes in.
 * Every case is also compiled-vs-eager: the layout must never change a value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { decodeModel } from '../../src/engine/onnx_proto.js';
import { assertCompiledMatches, normal } from './compile_check.js';

type Inputs = Record<string, tf.Tensor>;

interface GraphNode {
  op_type: string;
  attribute?: { name: string; ints?: number[] }[];
}

/** The perms of the graph's Transpose nodes, as strings ('0,3,1,2'). */
function transposePerms(model: Uint8Array): string[] {
  const graph = (decodeModel(model) as { graph: { node: GraphNode[] } }).graph;
  return graph.node
    .filter((n) => n.op_type === 'Transpose')
    .map((n) => (n.attribute ?? []).find((a) => a.name === 'perm')?.ints?.join() ?? '');
}

/** Compiles `fn`, checks it against eager, returns the ONNX model bytes. */
async function compiledMatchesEager(
  inputs: Inputs,
  fn: (i: Inputs) => tf.Tensor[],
): Promise<Uint8Array> {
  // 1e-4 relative per element, with an absolute floor at 1e-5 of the tensor's scale (batch-norm
  // gradients hold entries 1000× smaller than their largest, where float32 order matters).
  return (await assertCompiledMatches('layout', inputs, fn, { atolOfScale: true })).model;
}

/** Training-mode batch norm over N, H, W with the batch's own moments. */
function batchNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3) as tf.Tensor4D;
}

const NHWC_TO_NCHW = '0,3,1,2';
const NCHW_TO_NHWC = '0,2,3,1';

test('a conv-BN-ReLU-pool-conv training graph changes layout once, where the batch enters', async () => {
  await initBackend('cpu');
  const inputs: Inputs = {
    x: normal([2, 8, 8, 3], 1),
    w1: normal([3, 3, 3, 4], 2),
    w2: normal([3, 3, 4, 5], 3),
    gamma: normal([4], 4),
    beta: normal([4], 5),
    dense: normal([5, 2], 6),
  };
  const keys = ['w1', 'w2', 'gamma', 'beta', 'dense'];
  const fn = (i: Inputs) => {
    const { value, grads } = tf.valueAndGrads((...v: tf.Tensor[]) => {
      const [w1, w2, gamma, beta, dense] = v;
      const a = tf.conv2d(i.x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same');
      const r = tf.relu(batchNorm(a, gamma, beta));
      const p = tf.maxPool(r, 2, 2, 'valid');
      const b = tf.conv2d(p, w2 as tf.Tensor4D, 1, 'same');
      const residual = tf.add(b, tf.mul(b, 0.5));
      const pooled = tf.mean(residual, [1, 2]);
      return tf.sum(tf.square(tf.matMul(pooled, dense))) as tf.Scalar;
    })(keys.map((k) => i[k]));
    return [value, ...grads];
  };
  const perms = transposePerms(await compiledMatchesEager(inputs, fn));
  // By hand: the image batch is read channels-first by the first conv (one NHWC→NCHW); the
  // spatial mean keeps [N, C] in order, so nothing goes back to NHWC; the filter gradients
  // swap batch and channel planes ('1,0,2,3'), the forward filters take a batched 2-D transpose
  // per tap ('0,2,1'; the flipped input-gradient ones a Gemm), and the dense layer's matmul
  // gradients transpose 2-D operands ('1,0').
  assert.deepEqual(
    perms.filter((p) => p === NHWC_TO_NCHW),
    [NHWC_TO_NCHW],
  );
  assert.deepEqual(
    perms.filter((p) => p === NCHW_TO_NHWC),
    [],
  );
  assert.deepEqual([...new Set(perms)].sort(), [NHWC_TO_NCHW, '0,2,1', '1,0', '1,0,2,3'].sort());
});

test('channels-first operands: reordered broadcasts, constants, out-of-order reductions', async () => {
  await initBackend('cpu');
  const inputs: Inputs = {
    x: normal([2, 5, 4, 3], 7),
    w: normal([3, 3, 3, 6], 8),
    rowBias: normal([4, 6], 9),
  };
  const constant = normal([2, 5, 4, 6], 10);
  const constValues = constant.dataSync().slice();
  constant.dispose();
  const fn = (i: Inputs) => {
    const y = tf.conv2d(i.x as tf.Tensor4D, i.w as tf.Tensor4D, 1, 'same');
    // [W, C] broadcast against [N, H, W, C]: W and C swap order channels-first (a Transpose).
    const biased = tf.add(y, i.rowBias);
    // A full-size non-uniform constant, made channels-first when the graph is built.
    const scaled = tf.mul(biased, tf.tensor(constValues, [2, 5, 4, 6]));
    // Sum over the batch only: [H, W, C] is out of channels-first order, so it is read in NHWC.
    const overBatch = tf.sum(scaled, 0);
    const keep = tf.max(scaled, [1, 2], true);
    return [scaled, overBatch, keep, tf.sub(scaled, keep)];
  };
  const perms = transposePerms(await compiledMatchesEager(inputs, fn));
  assert.ok(perms.includes(NCHW_TO_NHWC), 'outputs leave the graph in the tfjs layout');
});

test('an eval graph of depthwise + pooling + resize-free ops runs channels-first end to end', async () => {
  await initBackend('cpu');
  const inputs: Inputs = {
    x: normal([1, 9, 9, 4], 11),
    dw: normal([3, 3, 4, 1], 12),
    pw: normal([1, 1, 4, 8], 13),
  };
  const fn = (i: Inputs) => {
    const d = tf.relu6(tf.depthwiseConv2d(i.x as tf.Tensor4D, i.dw as tf.Tensor4D, 2, 'same'));
    const p = tf.conv2d(d, i.pw as tf.Tensor4D, 1, 'valid');
    const se = tf.sigmoid(tf.mean(p, [1, 2], true));
    const a = tf.avgPool(tf.mul(p, se) as tf.Tensor4D, 2, 1, 'same');
    return [tf.reshape(a, [-1, 8])];
  };
  const perms = transposePerms(await compiledMatchesEager(inputs, fn));
  // The SE gate [1, 1, 1, C] is a keepDims mean (channels-first); only the final reshape needs NHWC.
  assert.deepEqual(
    perms.filter((p) => p === NHWC_TO_NCHW || p === NCHW_TO_NHWC),
    [NHWC_TO_NCHW, NCHW_TO_NHWC],
  );
});

test('axis-attribute kernels channels-first: concat, pads, slice, reverse, tile and their gradients', async () => {
  await initBackend('cpu');
  const inputs: Inputs = {
    x: normal([2, 6, 5, 3], 14),
    w: normal([3, 3, 3, 4], 15),
    v: normal([2, 6, 5, 2], 16),
  };
  const fn = (i: Inputs) => {
    const { value, grads } = tf.valueAndGrads((...t: tf.Tensor[]) => {
      const [w, v] = t;
      const y = tf.conv2d(i.x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
      const channels = tf.concat([y, v], 3); // [2, 6, 5, 6]
      const rows = tf.concat([y, y], 1); // [2, 12, 5, 4]
      const padded = tf.pad(y, [
        [0, 0],
        [1, 2],
        [0, 1],
        [1, 0],
      ]);
      const mirrored = tf.mirrorPad(
        y as tf.Tensor4D,
        [
          [0, 0],
          [1, 1],
          [2, 0],
          [0, 0],
        ],
        'reflect',
      );
      const cut = tf.slice(y, [1, 2, 1, 1], [1, 3, 4, 2]);
      const flipped = tf.reverse(y, [1, 3]);
      const tiled = tf.tile(y, [1, 2, 1, 3]);
      const terms = [channels, rows, padded, mirrored, cut, flipped, tiled].map((a, k) =>
        tf.sum(tf.mul(tf.square(a), k + 1)),
      );
      return tf.addN(terms) as tf.Scalar;
    })([i.w, i.v]);
    return [value, ...grads];
  };
  const perms = transposePerms(await compiledMatchesEager(inputs, fn));
  // By hand: x (into the conv) and v (into the channel concat) enter NHWC and are read
  // channels-first; only v's gradient, a graph output, goes back to NHWC.
  assert.deepEqual(
    perms.filter((p) => p === NHWC_TO_NCHW),
    [NHWC_TO_NCHW, NHWC_TO_NCHW],
  );
  assert.deepEqual(
    perms.filter((p) => p === NCHW_TO_NHWC),
    [NCHW_TO_NHWC],
  );
});

test('constant filters (inference and export graphs) are laid out when the graph is built', async () => {
  await initBackend('cpu');
  const w = normal([3, 3, 3, 4], 17);
  const dw = normal([3, 3, 3, 2], 18);
  const w3 = normal([2, 2, 2, 3, 2], 19);
  const inputs: Inputs = { x: normal([2, 7, 6, 3], 20), v: normal([1, 4, 5, 6, 3], 21) };
  const fn = (i: Inputs) => {
    // Gradients w.r.t. the input only: the filters stay constants of the traced function.
    const { value, grads } = tf.valueAndGrads((...t: tf.Tensor[]) => {
      const [x, v] = t;
      const a = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
      const b = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same');
      const c = tf.depthwiseConv2d(x as tf.Tensor4D, dw as tf.Tensor4D, 1, 'valid');
      const d = tf.conv3d(v as tf.Tensor5D, w3 as tf.Tensor5D, 1, 'same');
      return tf.addN([a, b, c, d].map((y) => tf.sum(tf.square(y)))) as tf.Scalar;
    })([i.x, i.v]);
    return [value, ...grads];
  };
  const model = await compiledMatchesEager(inputs, fn);
  const graph = (decodeModel(model) as { graph: { node: GraphNode[] } }).graph;
  // No filter is transformed at run time: the only Gemm/Transpose nodes would be filter layouts
  // (activations change layout only where x and v enter and their gradients leave).
  assert.deepEqual(graph.node.filter((n) => n.op_type === 'Gemm').length, 0);
  assert.deepEqual(
    transposePerms(model).sort(),
    [NHWC_TO_NCHW, NCHW_TO_NHWC, '0,4,1,2,3', '0,2,3,4,1'].sort(),
  );
  tf.dispose([w, dw, w3]);
});
