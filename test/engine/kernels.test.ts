/**
 * Kernel lowerings: each function is traced on a tfjs backend (cpu, then wasm), compiled to ONNX,
 * run by ONNX Runtime and compared with the same function run eagerly on that backend (the
 * reference), outputs and gradients, to 1e-4 relative. The functions cover the kernels of engine-notes.md that the block
 * tests in compiled_step.test.ts do not reach.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { compileFunction } from '../../src/engine/compile.js';
import { mappedKernels } from '../../src/engine/kernels/index.js';
import { Trace } from '../../src/engine/trace.js';
import { assertCompiledMatches, normal, type TensorFn } from './compile_check.js';
import { testOnEachBackend } from './backends.js';

type Fn = TensorFn;

/** The value of a loss and its gradients w.r.t. every input. */
function withGrads(loss: (...xs: tf.Tensor[]) => tf.Scalar, keys: string[]): Fn {
  return (i) => {
    const xs = keys.map((k) => i[k]);
    const { value, grads } = tf.valueAndGrads((...a: tf.Tensor[]) => loss(...a))(xs);
    return [value, ...grads];
  };
}

/** Which kernels a function runs (to prove a test reaches the kernel it is about). */
function kernelsOf(inputs: Record<string, tf.Tensor>, fn: Fn): Set<string> {
  const trace = new Trace();
  tf.tidy(() => trace.run(() => fn(inputs)));
  return new Set(trace.calls.map((c) => c.kernelName));
}

testOnEachBackend('max and average pooling, 2-D and 3-D, forward and gradients', async () => {
  const x = normal([2, 7, 7, 3], 1);
  const fn = withGrads(
    (a) =>
      tf.add(
        tf.sum(tf.square(tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'))),
        tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, [2, 3], [2, 1], 'valid'), 1.7)),
      ) as tf.Scalar,
    ['x'],
  );
  const kernels = kernelsOf({ x }, fn);
  for (const k of ['MaxPool', 'MaxPoolGrad', 'AvgPool', 'AvgPoolGrad'])
    assert.ok(kernels.has(k), k);
  await assertCompiledMatches('pool2d', { x }, fn);
  const v = normal([1, 4, 5, 5, 2], 2);
  const fn3 = withGrads(
    (a) =>
      tf.add(
        tf.sum(tf.square(tf.maxPool3d(a as tf.Tensor5D, 2, 2, 'same'))),
        tf.sum(tf.avgPool3d(a as tf.Tensor5D, 3, 1, 'valid')),
      ) as tf.Scalar,
    ['v'],
  );
  await assertCompiledMatches('pool3d', { v }, fn3);
});

testOnEachBackend(
  'convolutions: strided, dilated, valid/same, depthwise stride 2, fused conv and Conv3D grads',
  async () => {
    const x = normal([2, 9, 8, 3], 3);
    const w = normal([3, 3, 3, 4], 4);
    const dw = normal([3, 3, 3, 2], 5);
    const bias = normal([4], 6);
    const w2 = normal([2, 2, 3, 4], 28);
    const dw2 = normal([2, 4, 3, 1], 29);
    const fn = withGrads(
      (a, f, d, f2, d2) => {
        const y1 = tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 2, 'same');
        const y2 = tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, [1, 2], 'valid');
        const y3 = tf.depthwiseConv2d(a as tf.Tensor4D, d as tf.Tensor4D, 2, 'same');
        // Even kernels with 'same' padding pad unevenly (0 before, 1 after).
        const y4 = tf.conv2d(a as tf.Tensor4D, f2 as tf.Tensor4D, 1, 'same');
        const y5 = tf.depthwiseConv2d(a as tf.Tensor4D, d2 as tf.Tensor4D, 1, 'same');
        return tf.addN([
          tf.sum(tf.square(y1)),
          tf.sum(tf.sin(y2)),
          tf.sum(tf.square(y3)),
          tf.sum(tf.square(y4)),
          tf.sum(tf.square(y5)),
        ]) as tf.Scalar;
      },
      ['x', 'w', 'dw', 'w2', 'dw2'],
    );
    await assertCompiledMatches('conv2d', { x, w, dw, w2, dw2 }, fn);
    // tfjs has no gradient for dilated convolutions: forward only.
    await assertCompiledMatches('dilated conv2d', { x, w }, (i) => [
      tf.conv2d(i.x as tf.Tensor4D, i.w as tf.Tensor4D, 1, 'same', 'NHWC', 2),
    ]);
    const fused: Fn = (i) => [
      tf.fused.conv2d({
        x: i.x as tf.Tensor4D,
        filter: i.w as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias: i.bias,
        activation: 'relu',
      }),
    ];
    await assertCompiledMatches('fused conv2d', { x, w, bias }, fused);
    const v = normal([2, 4, 6, 5, 2], 7);
    const k3 = normal([3, 3, 2, 2, 3], 8);
    const fn3 = withGrads(
      (a, k) =>
        tf.sum(
          tf.square(tf.conv3d(a as tf.Tensor5D, k as tf.Tensor5D, [2, 2, 1], 'same')),
        ) as tf.Scalar,
      ['v', 'k3'],
    );
    const kernels = kernelsOf({ v, k3 }, fn3);
    for (const k of ['Conv3D', 'Conv3DBackpropInputV2', 'Conv3DBackpropFilterV2'])
      assert.ok(kernels.has(k), k);
    await assertCompiledMatches('conv3d', { v, k3 }, fn3);
  },
);

testOnEachBackend(
  'matmul variants, softmax, log-softmax, batch norm and fused matmul',
  async () => {
    const a = normal([2, 3, 4], 9);
    const b = normal([2, 5, 4], 10);
    const m = normal([4, 6], 11);
    const bias = normal([6], 12);
    const fn = withGrads(
      (p, q) => {
        const s = tf.matMul(p, q, false, true);
        const t = tf.matMul(s, p, true, false);
        return tf.add(
          tf.sum(tf.mul(tf.softmax(s), s)),
          tf.sum(tf.logSoftmax(tf.reshape(t, [2, 20]))),
        ) as tf.Scalar;
      },
      ['a', 'b'],
    );
    await assertCompiledMatches('batch matmul', { a, b }, fn);
    const x2 = normal([3, 4], 13);
    const fused: Fn = (i) => [
      tf.fused.matMul({
        a: i.x2 as tf.Tensor2D,
        b: i.m as tf.Tensor2D,
        bias: i.bias,
        activation: 'relu6',
      }),
    ];
    await assertCompiledMatches('fused matmul', { x2, m, bias }, fused);
    const x = normal([2, 3, 3, 4], 14);
    const mean = normal([4], 15);
    const variance = tf.abs(normal([4], 16));
    const bn: Fn = (i) => [tf.batchNorm(i.x, i.mean, i.variance, i.offset, i.scale, 1e-3)];
    await assertCompiledMatches(
      'batch norm',
      { x, mean, variance, offset: normal([4], 17), scale: normal([4], 18) },
      bn,
    );
  },
);

testOnEachBackend(
  'layout kernels: pad, slice, strided slice, concat, pack/unpack, tile, reverse, transpose',
  async () => {
    const x = normal([2, 5, 4], 19);
    const fn = withGrads(
      (t) => {
        const p = tf.pad(
          t,
          [
            [0, 1],
            [2, 0],
            [1, 1],
          ],
          0.5,
        );
        const s = tf.slice(p, [1, 1, 0], [2, 4, 3]);
        const c = tf.concat([s, tf.reverse(s, [1, 2])], 2);
        const [u0, u1] = tf.unstack(c, 0);
        const st = tf.stack([u1, u0], 1);
        const tl = tf.tile(tf.transpose(s, [2, 0, 1]), [2, 1, 3]);
        return tf.add(tf.sum(tf.square(st)), tf.sum(tf.mul(tl, 2))) as tf.Scalar;
      },
      ['x'],
    );
    const kernels = kernelsOf({ x }, fn);
    for (const k of ['PadV2', 'Slice', 'Concat', 'Pack', 'Unpack', 'Tile', 'Reverse']) {
      assert.ok(kernels.has(k), k);
    }
    await assertCompiledMatches('layout', { x }, fn);
    // StridedSlice has no tfjs gradient: forward only (negative stride, masks).
    await assertCompiledMatches('strided slice', { x }, (i) => [
      tf.stridedSlice(i.x, [0, 4, 1], [2, 0, 4], [1, -2, 2]),
      tf.stridedSlice(i.x, [1, 0, 0], [2, 5, 4], [1, 1, 1], 0, 0, 0, 0, 1),
    ]);
  },
);

testOnEachBackend(
  'reductions and comparisons: max/min/prod/argmax/all/any, select, equal, pow, elementwise',
  async () => {
    const x = normal([3, 4, 5], 20);
    const y = normal([3, 4, 5], 21);
    const fn = withGrads(
      (a) => {
        const b = y;
        const r = tf.addN([
          tf.sum(tf.max(a, [0, 2])),
          tf.sum(tf.min(a, 1, true)),
          tf.sum(tf.where(tf.lessEqual(b, 0.2), tf.minimum(a, b), tf.maximum(a, tf.mul(b, 2)))),
          tf.sum(tf.pow(tf.add(tf.abs(a), 1), tf.abs(b))),
          tf.sum(tf.log1p(tf.abs(b))),
          tf.sum(tf.elu(a)),
          tf.sum(tf.relu6(tf.mul(b, 4))),
          tf.sum(tf.leakyRelu(a, 0.1)),
          tf.sum(tf.squaredDifference(a, b)),
          tf.sum(tf.sigmoid(tf.erf(a))),
          tf.sum(tf.tanh(tf.exp(tf.neg(tf.square(b))))),
        ]);
        return r as tf.Scalar;
      },
      ['x'],
    );
    await assertCompiledMatches('reductions', { x, y }, fn);
    // tfjs's Prod gradient uses the unregistered chained API: forward only.
    const ints: Fn = (i) => [
      tf.prod(tf.add(tf.abs(i.x), 0.5), 2),
      tf.argMax(i.x, 1),
      tf.argMin(i.x, -1),
      tf.all(tf.greater(i.x, -1), 2),
      tf.any(tf.equal(tf.sign(i.x), tf.sign(i.y)), 0),
      tf.sum(tf.cast(tf.greater(i.x, i.y), 'int32'), 1),
      tf.floorDiv(tf.cast(tf.mul(i.x, 10), 'int32'), tf.scalar(3, 'int32')),
    ];
    await assertCompiledMatches('integer and bool outputs', { x, y }, ints);
  },
);

testOnEachBackend(
  'gather and its gradient (UnsortedSegmentSum), one-hot, resize bilinear and its gradient',
  async () => {
    const table = normal([6, 3], 22);
    const indices = tf.tensor1d([0, 5, 2, 2, 5, 1], 'int32');
    const fn = withGrads((t) => tf.sum(tf.square(tf.gather(t, indices))) as tf.Scalar, ['table']);
    const kernels = kernelsOf({ table }, fn);
    for (const k of ['GatherV2', 'UnsortedSegmentSum']) assert.ok(kernels.has(k), k);
    await assertCompiledMatches('gather', { table }, fn);
    const labels = tf.tensor1d([3, 0, 7, 1], 'int32');
    await assertCompiledMatches('one hot', { labels }, (i) => [tf.oneHot(i.labels, 5, 2, -1)]);
    // Square images: tfjs's cpu ResizeBilinearGrad swaps height and width in its output shape.
    const images = normal([2, 5, 5, 3], 23);
    for (const [align, half] of [
      [false, false],
      [true, false],
      [false, true],
    ]) {
      const rfn = withGrads(
        (im) =>
          tf.sum(
            tf.square(tf.image.resizeBilinear(im as tf.Tensor4D, [7, 9], align, half)),
          ) as tf.Scalar,
        ['images'],
      );
      await assertCompiledMatches(`resize bilinear align=${align} half=${half}`, { images }, rfn);
    }
    await assertCompiledMatches('resize nearest', { images }, (i) => [
      tf.image.resizeNearestNeighbor(i.images as tf.Tensor4D, [8, 3], false, true),
    ]);
  },
);

testOnEachBackend('detection-style losses: sigmoid focal and Huber terms', async () => {
  const logits = normal([4, 6], 24);
  const targets = tf.cast(tf.greater(normal([4, 6], 25), 0.5), 'float32');
  const boxes = normal([4, 4], 26);
  const boxTargets = normal([4, 4], 27);
  const fn = withGrads(
    (l, b) => {
      const p = tf.sigmoid(l);
      const ce = tf.add(
        tf.relu(l),
        tf.sub(tf.log1p(tf.exp(tf.neg(tf.abs(l)))), tf.mul(l, targets)),
      );
      const pt = tf.add(tf.mul(targets, p), tf.mul(tf.sub(1, targets), tf.sub(1, p)));
      const focal = tf.sum(tf.mul(tf.pow(tf.sub(1, pt), 1.5), ce));
      const d = tf.abs(tf.sub(b, boxTargets));
      // Huber with delta 0.1 in the min form (Keras): 0.5·min(d, δ)² + δ·(d − min(d, δ)).
      const q = tf.minimum(d, 0.1);
      const huber = tf.sum(tf.add(tf.mul(0.5, tf.square(q)), tf.mul(0.1, tf.sub(d, q))));
      return tf.add(focal, huber) as tf.Scalar;
    },
    ['logits', 'boxes'],
  );
  await assertCompiledMatches('focal + huber', { logits, boxes }, fn);
});

test('the registry covers the 53 kernels engine-notes.md lists for training steps', () => {
  const listed = (
    'Add AvgPool AvgPoolGrad BatchMatMul Cast Conv2D Conv2DBackpropFilter Conv2DBackpropInput ' +
    'DepthwiseConv2dNative DepthwiseConv2dNativeBackpropFilter DepthwiseConv2dNativeBackpropInput ' +
    'Exp FusedBatchNorm Identity Log Max MaxPool MaxPoolGrad Mean Multiply Neg RealDiv Relu Reshape ' +
    'ResizeBilinear ResizeBilinearGrad Rsqrt Sigmoid Square Step Sub Sum Tile ZerosLike Erf Pack ' +
    'Softmax Sqrt Transpose Unpack Abs Equal Fill GatherV2 LessEqual Log1p Minimum Pow Select ' +
    'UnsortedSegmentSum Conv3D Conv3DBackpropFilterV2 Conv3DBackpropInputV2'
  ).split(' ');
  assert.equal(new Set(listed).size, 53);
  const mapped = new Set(mappedKernels());
  assert.deepEqual(
    listed.filter((k) => !mapped.has(k)),
    [],
  );
});

testOnEachBackend('Step keeps tfjs semantics on NaN, ±inf, ±0 and denormals', async () => {
  const specials = [NaN, -Infinity, -1, -1e-40, -0, 0, 1e-40, 0.5, Infinity];
  const x = tf.tensor1d(specials);
  for (const alpha of [0, 0.3]) {
    const fn: Fn = (i) => [tf.step(i.x, alpha)];
    const compiled = await compileFunction({ x }, fn, { intraOpNumThreads: 1 });
    const [got] = await compiled.run({ x });
    const [want] = fn({ x });
    // Expected by tfjs's definition: NaN → NaN, x > 0 → 1, otherwise alpha.
    const byHand = specials.map((v) => (Number.isNaN(v) ? NaN : v > 0 ? 1 : Math.fround(alpha)));
    assert.deepEqual(Array.from(want.dataSync()).map(String), byHand.map(String));
    assert.deepEqual(Array.from(got.dataSync()).map(String), byHand.map(String), `alpha ${alpha}`);
    tf.dispose([got, want]);
    await compiled.dispose();
  }
  x.dispose();
});
