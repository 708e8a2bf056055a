/**
 * The wasm Conv3D gradients and MaxPool3D (1×1×1 window) against tfjs-backend-cpu, and the
 * Conv2D backprop paths added for speed (pointwise matmuls, sub-pixel phases, even sizes) on
 * shapes the main kernel test does not reach.
 */
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
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
type Triple = [number, number, number];

/** Direct-loop conv3d backprops (NDHWC, filter [fd, fh, fw, inC, outC]), pads from tfjs. */
function referenceConv3dBackprops(
  x: Float32Array,
  xs: number[],
  f: Float32Array,
  fs: number[],
  dy: Float32Array,
  strides: Triple,
  pad: Pad,
): { dx: Float32Array; df: Float32Array; dyShape: number[] } {
  const info = tf.backend_util.computeConv3DInfo(
    xs as [number, number, number, number, number],
    fs as [number, number, number, number, number],
    strides,
    1,
    pad,
  );
  const [n, d, h, w, ci] = xs;
  const [kd, kh, kw, , co] = fs;
  const [, od, oh, ow] = info.outShape;
  const { front, top, left } = info.padInfo;
  const dx = new Float32Array(x.length);
  const df = new Float32Array(f.length);
  for (let b = 0; b < n; b++)
    for (let z = 0; z < od; z++)
      for (let y = 0; y < oh; y++)
        for (let q = 0; q < ow; q++)
          for (let a = 0; a < kd; a++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const iz = z * strides[0] + a - front;
                const iy = y * strides[1] + i - top;
                const ix = q * strides[2] + j - left;
                if (iz < 0 || iz >= d || iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                for (let c = 0; c < ci; c++)
                  for (let o = 0; o < co; o++) {
                    const g = dy[(((b * od + z) * oh + y) * ow + q) * co + o];
                    const xi = (((b * d + iz) * h + iy) * w + ix) * ci + c;
                    const fi = (((a * kh + i) * kw + j) * ci + c) * co + o;
                    dx[xi] += g * f[fi];
                    df[fi] += g * x[xi];
                  }
              }
  return { dx, df, dyShape: info.outShape };
}

test('Conv3D gradients (Conv3DBackpropFilterV2/InputV2) match a loop reference', async () => {
  // (cpu's Conv3DBackpropInputV2 is itself wrong for 1×1×1 stride-2 filters, so the reference is
  // a direct loop; the forward conv3d is compared with cpu.)
  const kernels: Triple[] = [
    [1, 1, 1],
    [3, 3, 3],
    [3, 1, 1],
    [1, 3, 3],
  ];
  const cases: { xs: number[]; k: Triple; strides: Triple; pad: Pad }[] = [];
  for (const st of [1, 2])
    for (const pad of ['same', 'valid'] as Pad[])
      for (const k of kernels) cases.push({ xs: [2, 5, 7, 6, 3], k, strides: [st, st, st], pad });
  cases.push({ xs: [1, 4, 8, 8, 5], k: [3, 3, 3], strides: [1, 2, 2], pad: 'same' });
  cases.push({ xs: [1, 7, 5, 6, 2], k: [3, 2, 3], strides: [2, 1, 3], pad: 'valid' });
  for (const c of cases) {
    const fs = [...c.k, c.xs[4], 4];
    const msg = `conv3d x[${c.xs}] k${c.k.join('x')} s${c.strides} ${c.pad}`;
    await assertSameOnBothBackends(
      () =>
        tf.conv3d(
          randomTensor(1, c.xs) as tf.Tensor5D,
          randomTensor(2, fs) as tf.Tensor5D,
          c.strides,
          c.pad,
        ),
      `${msg} forward`,
    );
    const x = randomValues(1, tf.util.sizeFromShape(c.xs));
    const f = randomValues(2, tf.util.sizeFromShape(fs));
    const probe = referenceConv3dBackprops(x, c.xs, f, fs, new Float32Array(0), c.strides, c.pad);
    const dy = randomValues(3, tf.util.sizeFromShape(probe.dyShape));
    const ref = referenceConv3dBackprops(x, c.xs, f, fs, dy, c.strides, c.pad);
    const attrs = { strides: c.strides, pad: c.pad };
    const [df] = await runOn(
      'wasm',
      () =>
        tf
          .engine()
          .runKernel(
            'Conv3DBackpropFilterV2',
            { x: tf.tensor(x, c.xs), dy: tf.tensor(dy, ref.dyShape) },
            { ...attrs, filterShape: fs },
          ) as tf.Tensor,
    );
    const [dx] = await runOn(
      'wasm',
      () =>
        tf
          .engine()
          .runKernel(
            'Conv3DBackpropInputV2',
            { dy: tf.tensor(dy, ref.dyShape), filter: tf.tensor(f, fs) },
            { ...attrs, inputShape: c.xs },
          ) as tf.Tensor,
    );
    assertClose(df.values, ref.df, { rtol: 1e-4, atol: 1e-4, msg: `${msg} dfilter` });
    assertClose(dx.values, ref.dx, { rtol: 1e-4, atol: 1e-4, msg: `${msg} dx` });
  }
});

test('MaxPool3D forward matches cpu, 1×1×1 window included', async () => {
  for (const stride of [1, 2])
    for (const pad of ['same', 'valid'] as Pad[])
      for (const k of [1, 2, 3]) {
        await assertSameOnBothBackends(
          () => tf.maxPool3d(randomTensor(1, [2, 5, 7, 6, 3]) as tf.Tensor5D, k, stride, pad),
          `maxPool3d k${k} s${stride} ${pad}`,
        );
        await assertSameOnBothBackends(
          () => tf.avgPool3d(randomTensor(1, [2, 5, 7, 6, 3]) as tf.Tensor5D, k, stride, pad),
          `avgPool3d k${k} s${stride} ${pad}`,
        );
      }
  await assertSameOnBothBackends(
    () =>
      tf.maxPool3d(randomTensor(1, [1, 6, 5, 4, 2]) as tf.Tensor5D, [1, 1, 1], [2, 1, 3], 'same'),
    'maxPool3d k1 strides [2,1,3]',
  );
});

test('MaxPool3DGrad and AvgPool3DGrad match cpu (windows 1, 2, 3)', async () => {
  for (const stride of [1, 2])
    for (const pad of ['same', 'valid'] as Pad[])
      for (const k of [1, 2]) {
        await assertSameOnBothBackends(
          grad1((x) => tf.maxPool3d(x as tf.Tensor5D, k, stride, pad), [2, 5, 7, 6, 3]),
          `maxPool3d grad k${k} s${stride} ${pad}`,
        );
        await assertSameOnBothBackends(
          grad1((x) => tf.avgPool3d(x as tf.Tensor5D, k, stride, pad), [2, 5, 7, 6, 3]),
          `avgPool3d grad k${k} s${stride} ${pad}`,
        );
      }
});

test('Conv2D backprops: pointwise, even sizes with stride 2, wide filters', async () => {
  const cases: { x: number[]; f: number[]; stride: number | [number, number]; pad: Pad }[] = [
    { x: [2, 6, 8, 7], f: [1, 1, 7, 3], stride: 1, pad: 'same' }, // pointwise, inC > outC
    { x: [2, 6, 8, 3], f: [1, 1, 3, 6], stride: 1, pad: 'valid' }, // pointwise, inC < outC
    { x: [2, 8, 8, 4], f: [1, 1, 4, 5], stride: 2, pad: 'same' }, // 1×1 stride 2: empty phases
    { x: [2, 8, 10, 4], f: [3, 3, 4, 5], stride: 2, pad: 'same' },
    { x: [2, 8, 10, 4], f: [3, 3, 4, 5], stride: 2, pad: 'valid' }, // unread last row/column
    { x: [2, 9, 9, 3], f: [5, 4, 3, 2], stride: 3, pad: 'same' },
    { x: [2, 9, 11, 3], f: [2, 3, 3, 2], stride: [1, 3], pad: 'valid' },
  ];
  for (const c of cases) {
    await assertSameOnBothBackends(
      grads2((x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad), c.x, c.f),
      `conv2d x[${c.x}] f[${c.f}] s${c.stride} ${c.pad}`,
    );
  }
});
