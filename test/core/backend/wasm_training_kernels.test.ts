/**
 * The wasm training kernels against tfjs-backend-cpu (and, where the cpu kernel has no such
 * option or is itself wrong, against independent JS references), plus registration, an
 * end-to-end gradient and a memory check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import {
  missingWasmTrainingKernels,
  registerWasmTrainingKernels,
  WASM_TRAINING_KERNEL_NAMES,
} from '../../../src/core/backend/wasm_training_kernels.js';
import {
  assertSameOnBothBackends,
  grad1,
  grads2,
  initBothBackends,
  randomTensor,
  randomValues,
  runOn,
} from './wasm_compare.js';
import { assertClose } from '../../helpers.js';

await initBothBackends();

type Pad = 'same' | 'valid';
const X_SHAPE = [2, 7, 9, 3];

test('every training kernel is registered for wasm, and registering twice is harmless', () => {
  registerWasmTrainingKernels();
  registerWasmTrainingKernels();
  assert.deepEqual(missingWasmTrainingKernels(), []);
  for (const k of WASM_TRAINING_KERNEL_NAMES) assert.ok(tf.getKernel(k, 'wasm'), k);
});

test('Conv2D gradients (Conv2DBackpropFilter/Input) match cpu', async () => {
  for (const stride of [1, 2])
    for (const pad of ['same', 'valid'] as Pad[])
      for (const k of [1, 3, 5]) {
        await assertSameOnBothBackends(
          grads2((x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, stride, pad), X_SHAPE, [
            k,
            k,
            3,
            5,
          ]),
          `conv2d k${k} s${stride} ${pad}`,
        );
      }
  // Rectangular strides and explicit padding.
  await assertSameOnBothBackends(
    grads2(
      (x, f) =>
        tf.conv2d(
          x as tf.Tensor4D,
          f as tf.Tensor4D,
          [2, 1],
          [
            [0, 0],
            [2, 1],
            [0, 3],
            [0, 0],
          ],
        ),
      X_SHAPE,
      [3, 2, 3, 4],
    ),
    'conv2d explicit pad, strides [2,1]',
  );
});

test('Conv2DBackpropFilter/Input with NCHW match cpu', async () => {
  const xShape = [2, 3, 7, 9];
  const attrs = { strides: [2, 2], pad: 'same', dataFormat: 'NCHW', dimRoundingMode: undefined };
  await assertSameOnBothBackends(() => {
    const x = randomTensor(1, xShape);
    const dy = randomTensor(2, [2, 4, 4, 5]);
    return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      ...attrs,
      filterShape: [3, 3, 3, 4],
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }, 'backprop filter NCHW');
  await assertSameOnBothBackends(() => {
    const dy = randomTensor(2, [2, 4, 4, 5]);
    const filter = randomTensor(3, [3, 3, 3, 4]);
    return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
      ...attrs,
      inputShape: xShape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }, 'backprop input NCHW');
});

/** Direct-loop reference of the dilated conv2d backprops (NHWC, VALID after explicit pads). */
function referenceConvBackprops(
  x: Float32Array,
  xs: number[],
  f: Float32Array,
  fs: number[],
  dy: Float32Array,
  ys: number[],
  stride: number,
  dil: number,
  padTop: number,
  padLeft: number,
): { dx: Float32Array; df: Float32Array } {
  const [n, h, w, ci] = xs;
  const [fh, fw, , co] = fs;
  const [, oh, ow] = ys;
  const dx = new Float32Array(x.length);
  const df = new Float32Array(f.length);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let i = 0; i < fh; i++)
          for (let j = 0; j < fw; j++) {
            const iy = oy * stride + i * dil - padTop;
            const ix = ox * stride + j * dil - padLeft;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            for (let c = 0; c < ci; c++)
              for (let o = 0; o < co; o++) {
                const g = dy[((b * oh + oy) * ow + ox) * co + o];
                const xi = ((b * h + iy) * w + ix) * ci + c;
                const fi = ((i * fw + j) * ci + c) * co + o;
                dx[xi] += g * f[fi];
                df[fi] += g * x[xi];
              }
          }
  return { dx, df };
}

test('Conv2D backprops with dilation 2 (attr passed to the kernels) match a loop reference', async () => {
  const xs = [2, 7, 9, 3];
  const fs = [3, 3, 3, 5];
  const ys = [2, 7, 9, 5]; // SAME, stride 1, dilation 2: pad 2 each side
  const x = randomValues(1, 2 * 7 * 9 * 3);
  const f = randomValues(2, 3 * 3 * 3 * 5);
  const dy = randomValues(3, 2 * 7 * 9 * 5);
  const ref = referenceConvBackprops(x, xs, f, fs, dy, ys, 1, 2, 2, 2);
  const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [2, 2] };
  const [df] = await runOn(
    'wasm',
    () =>
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor(x, xs), dy: tf.tensor(dy, ys) },
        {
          ...attrs,
          filterShape: fs,
        },
      ) as tf.Tensor,
  );
  const [dx] = await runOn(
    'wasm',
    () =>
      tf.engine().runKernel(
        'Conv2DBackpropInput',
        { dy: tf.tensor(dy, ys), filter: tf.tensor(f, fs) },
        {
          ...attrs,
          inputShape: xs,
        },
      ) as tf.Tensor,
  );
  assertClose(df.values, ref.df, { rtol: 1e-4, atol: 1e-4, msg: 'dfilter' });
  assertClose(dx.values, ref.dx, { rtol: 1e-4, atol: 1e-4, msg: 'dx' });
});

test('depthwise conv gradients match cpu (strides, multipliers, padding)', async () => {
  for (const stride of [1, 2])
    for (const pad of ['same', 'valid'] as Pad[])
      for (const [k, m] of [
        [1, 1],
        [3, 1],
        [3, 2],
        [5, 2],
      ]) {
        await assertSameOnBothBackends(
          grads2(
            (x, f) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, stride, pad),
            [2, 7, 9, 5],
            [k, k, 5, m],
          ),
          `depthwise k${k} m${m} s${stride} ${pad}`,
        );
      }
});

/** Direct-loop reference of the dilated depthwise backprops (NHWC, filter [fh, fw, inC, M]). */
function referenceDepthwiseBackprops(
  x: Float32Array,
  xs: number[],
  f: Float32Array,
  fs: number[],
  dy: Float32Array,
  ys: number[],
  dil: number,
  padTop: number,
  padLeft: number,
): { dx: Float32Array; df: Float32Array } {
  const [n, h, w, ci] = xs;
  const [fh, fw, , m] = fs;
  const [, oh, ow] = ys;
  const dx = new Float32Array(x.length);
  const df = new Float32Array(f.length);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let i = 0; i < fh; i++)
          for (let j = 0; j < fw; j++) {
            const iy = oy + i * dil - padTop;
            const ix = ox + j * dil - padLeft;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            for (let c = 0; c < ci; c++)
              for (let q = 0; q < m; q++) {
                const g = dy[((b * oh + oy) * ow + ox) * ci * m + c * m + q];
                const xi = ((b * h + iy) * w + ix) * ci + c;
                const fi = ((i * fw + j) * ci + c) * m + q;
                dx[xi] += g * f[fi];
                df[fi] += g * x[xi];
              }
          }
  return { dx, df };
}

test('depthwise backprop kernels with dilation 2 match a loop reference', async () => {
  // (cpu's depthwise backprop kernels pad for the dilation but ignore it in their loops.)
  for (const [m, pad] of [
    [1, 'same'],
    [2, 'valid'],
  ] as [number, Pad][]) {
    const fs = [3, 3, 3, m];
    const ys = pad === 'same' ? [2, 7, 9, 3 * m] : [2, 3, 5, 3 * m];
    const off = pad === 'same' ? 2 : 0;
    const x = randomValues(1, tf.util.sizeFromShape(X_SHAPE));
    const f = randomValues(2, tf.util.sizeFromShape(fs));
    const dy = randomValues(3, tf.util.sizeFromShape(ys));
    const ref = referenceDepthwiseBackprops(x, X_SHAPE, f, fs, dy, ys, 2, off, off);
    const attrs = { strides: [1, 1], pad, dilations: [2, 2] };
    const [df] = await runOn(
      'wasm',
      () =>
        tf
          .engine()
          .runKernel(
            'DepthwiseConv2dNativeBackpropFilter',
            { x: tf.tensor(x, X_SHAPE), dy: tf.tensor(dy, ys) },
            { ...attrs, filterShape: fs },
          ) as tf.Tensor,
    );
    const [dx] = await runOn(
      'wasm',
      () =>
        tf
          .engine()
          .runKernel(
            'DepthwiseConv2dNativeBackpropInput',
            { dy: tf.tensor(dy, ys), filter: tf.tensor(f, fs) },
            { ...attrs, inputShape: X_SHAPE },
          ) as tf.Tensor,
    );
    assertClose(df.values, ref.df, { rtol: 1e-4, atol: 1e-4, msg: `dfilter m${m} ${pad}` });
    assertClose(dx.values, ref.dx, { rtol: 1e-4, atol: 1e-4, msg: `dx m${m} ${pad}` });
  }
});

test('MaxPoolGrad (first maximum wins) and AvgPoolGrad match cpu', async () => {
  for (const stride of [1, 2])
    for (const pad of ['same', 'valid'] as Pad[])
      for (const k of [1, 3, 5]) {
        await assertSameOnBothBackends(
          grad1((x) => tf.maxPool(x as tf.Tensor4D, k, stride, pad), X_SHAPE),
          `maxPool k${k} s${stride} ${pad}`,
        );
        await assertSameOnBothBackends(
          grad1((x) => tf.avgPool(x as tf.Tensor4D, k, stride, pad), X_SHAPE),
          `avgPool k${k} s${stride} ${pad}`,
        );
      }
  // Ties: a constant image routes each window's gradient to its first tap only.
  await assertSameOnBothBackends(
    () =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.maxPool(x as tf.Tensor4D, 3, 1, 'same')))(
        tf.ones([1, 5, 6, 2]),
      ),
    'maxPool ties',
  );
});

test('MaxPool3DGrad and AvgPool3DGrad match cpu', async () => {
  for (const stride of [1, 2])
    for (const pad of ['same', 'valid'] as Pad[]) {
      await assertSameOnBothBackends(
        grad1((x) => tf.maxPool3d(x as tf.Tensor5D, 3, stride, pad), [2, 5, 7, 6, 3]),
        `maxPool3d k3 s${stride} ${pad}`,
      );
      await assertSameOnBothBackends(
        grad1((x) => tf.avgPool3d(x as tf.Tensor5D, 3, stride, pad), [2, 5, 7, 6, 3]),
        `avgPool3d k3 s${stride} ${pad}`,
      );
    }
});

test('resize gradients are the adjoint of the cpu forward resize', async () => {
  // cpu's ResizeBilinearGrad swaps H and W in its output shape and ignores halfPixelCenters, and
  // its ResizeNearestNeighborGrad yields NaN when downsampling, so the reference is the forward
  // map itself: resizing the H·W one-hot images gives the matrix M [H·W, outH·outW] and
  // dx[n, hw, c] = Σ_yx M[hw, yx] · dy[n, yx, c].
  const [n, h, w, c] = X_SHAPE;
  for (const kind of ['bilinear', 'nearest'] as const)
    for (const [ac, hp] of [
      [false, false],
      [true, false],
      [false, true],
    ])
      for (const size of [
        [13, 17],
        [4, 5],
      ] as [number, number][]) {
        const resize = (x: tf.Tensor4D) =>
          kind === 'bilinear'
            ? tf.image.resizeBilinear(x, size, ac, hp)
            : tf.image.resizeNearestNeighbor(x, size, ac, hp);
        const [m] = await runOn('cpu', () =>
          resize(tf.reshape(tf.eye(h * w), [h * w, h, w, 1]) as tf.Tensor4D),
        );
        const dyVals = randomValues(5, n * size[0] * size[1] * c);
        const p = size[0] * size[1];
        const expected = new Float32Array(n * h * w * c);
        for (let b = 0; b < n; b++)
          for (let q = 0; q < h * w; q++)
            for (let yx = 0; yx < p; yx++) {
              const wgt = m.values[q * p + yx];
              if (wgt === 0) continue;
              for (let ch = 0; ch < c; ch++)
                expected[(b * h * w + q) * c + ch] += wgt * dyVals[(b * p + yx) * c + ch];
            }
        const [got] = await runOn('wasm', () => {
          const x: tf.Tensor = tf.zeros(X_SHAPE);
          const dy = tf.tensor(dyVals, [n, ...size, c]);
          return tf.grad((v: tf.Tensor) => tf.sum(tf.mul(resize(v as tf.Tensor4D), dy)))(x);
        });
        assert.deepEqual(got.shape, X_SHAPE);
        assertClose(got.values, expected, {
          rtol: 1e-4,
          atol: 1e-5,
          msg: `${kind} ac=${ac} hp=${hp} ${size}`,
        });
      }
});

test('UnsortedSegmentSum and the GatherV2 gradient match cpu (duplicates, dropped ids)', async () => {
  const ids = [0, 3, -1, 3, 7, 2, 0];
  for (const shape of [[7], [7, 4], [7, 2, 3]]) {
    await assertSameOnBothBackends(
      () => tf.unsortedSegmentSum(randomTensor(1, shape), tf.tensor1d(ids, 'int32'), 5),
      `unsortedSegmentSum ${shape}`,
    );
  }
  await assertSameOnBothBackends(
    () =>
      tf.unsortedSegmentSum(
        tf.tensor2d(
          [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
          [3, 2],
          'int32',
        ),
        tf.tensor1d([1, 1, 0], 'int32'),
        3,
      ),
    'unsortedSegmentSum int32',
  );
  await assertSameOnBothBackends(
    grad1((x) => tf.gather(x, tf.tensor1d([0, 3, 3, 1, 0, 5], 'int32')), [6, 4]),
    'gather grad axis 0',
  );
  await assertSameOnBothBackends(
    grad1(
      (x) =>
        tf.gather(
          x,
          tf.tensor2d(
            [
              [2, 0],
              [2, 1],
            ],
            [2, 2],
            'int32',
          ),
          1,
        ),
      [3, 4, 2],
    ),
    'gather grad axis 1',
  );
});

/** conv → batch norm (tf.moments) → relu → maxpool → depthwise conv → avgpool → dense → loss. */
function smallNetLoss(v: Record<string, tf.Variable>, x: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  let y = tf.conv2d(x as tf.Tensor4D, v.conv as tf.Tensor4D, 2, 'same');
  const { mean, variance } = tf.moments(y, [0, 1, 2]);
  y = tf.add(tf.mul(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, 1e-3))), v.gamma), v.beta);
  y = tf.relu(y);
  y = tf.maxPool(y as tf.Tensor4D, 3, 2, 'same');
  y = tf.depthwiseConv2d(y as tf.Tensor4D, v.dw as tf.Tensor4D, 1, 'same');
  y = tf.avgPool(y as tf.Tensor4D, 2, 2, 'valid');
  const flat = tf.reshape(y, [y.shape[0], -1]);
  const logits = tf.add(tf.matMul(flat, v.dense as tf.Tensor2D), v.bias);
  return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
}

test('end to end: variableGrads of a small conv net on wasm equal the cpu gradients', async () => {
  const names = ['conv', 'gamma', 'beta', 'dw', 'dense', 'bias'];
  const shapes: Record<string, number[]> = {
    conv: [3, 3, 3, 6],
    gamma: [6],
    beta: [6],
    dw: [3, 3, 6, 1],
    dense: [24, 4],
    bias: [4],
  };
  const fn = () => {
    const vars: Record<string, tf.Variable> = {};
    names.forEach((k, i) => (vars[k] = tf.variable(randomTensor(10 + i, shapes[k]))));
    const x = randomTensor(20, [2, 16, 16, 3]);
    const labels = tf.oneHot(tf.tensor1d([1, 3], 'int32'), 4);
    const { value, grads } = tf.variableGrads(
      () => smallNetLoss(vars, x, labels),
      Object.values(vars),
    );
    const out = [value, ...Object.values(vars).map((v) => grads[v.name])];
    Object.values(vars).forEach((v) => v.dispose());
    return out;
  };
  await assertSameOnBothBackends(fn, 'small net gradients', 1e-4, 1e-4);
});

test('memory: repeated calls of the wasm training kernels leak no tensors or bytes', async () => {
  await tf.setBackend('wasm');
  const x = randomTensor(1, X_SHAPE) as tf.Tensor4D;
  const f = randomTensor(2, [3, 3, 3, 4]) as tf.Tensor4D;
  const dwf = randomTensor(3, [3, 3, 3, 2]) as tf.Tensor4D;
  const step = () => {
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same');
      const z = tf.depthwiseConv2d(a as tf.Tensor4D, c as tf.Tensor4D, 2, 'same');
      const p = tf.maxPool(a as tf.Tensor4D, 3, 2, 'same');
      const r = tf.image.resizeBilinear(y as tf.Tensor4D, [9, 11], false, true);
      const q = tf.image.resizeNearestNeighbor(z as tf.Tensor4D, [8, 8]);
      const s = tf.unsortedSegmentSum(tf.reshape(p, [2, -1]), tf.tensor1d([1, 0], 'int32'), 3);
      return tf.addN([tf.sum(r), tf.sum(q), tf.sum(s), tf.sum(tf.square(y))]);
    })([x, f, dwf]);
    g.forEach((t) => t.dispose());
  };
  step(); // warm-up (lazy allocations)
  const before = tf.memory();
  for (let i = 0; i < 20; i++) step();
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
  assert.equal(after.numDataBuffers, before.numDataBuffers);
  x.dispose();
  f.dispose();
  dwf.dispose();
});
