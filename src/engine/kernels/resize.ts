/**
 * Image resizing as separable interpolation matrices: y = A_h · x · A_wᵀ per image and channel.
 *
 *  - ResizeBilinear / ResizeNearestNeighbor: A_h and A_w are obtained by running tfjs's own resize
 *    on identity images when the graph is built, so the compiled op weights pixels exactly as the
 *    eager kernel (align_corners / half_pixel_centers included).
 *  - ResizeBilinearGrad / ResizeNearestNeighborGrad (FPN's nearest upsampling), dx = Aᵀ_h · dy · A_w:
 *    the exact adjoint of the forward resize, as TF's kernels and the gradient kernels this project
 *    registers for wasm and cpu (src/core/backend/wasm/resize_grad.ts, cpu_resize_grad.ts)
 *    compute it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { attr } from '../graph_builder.js';
import { input, output, type KernelContext, type KernelLowering } from './context.js';

type ResizeFn = (
  images: tf.Tensor4D,
  size: [number, number],
  align: boolean,
  half: boolean,
) => tf.Tensor;

/** Interpolation weights [outSize, inSize] of one axis, from tfjs's resize of an identity. */
function forwardMatrix(
  resize: ResizeFn,
  inSize: number,
  outSize: number,
  align: boolean,
  half: boolean,
): Float32Array {
  return tf.tidy(() => {
    const eye = tf.reshape(tf.eye(inSize), [1, inSize, 1, inSize]) as tf.Tensor4D;
    return resize(eye, [outSize, 1], align, half).dataSync() as Float32Array;
  });
}

function transposed(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

/** y[n,i,j,c] = Σ rows[i,h]·cols[j,w]·x[n,h,w,c]; rows [outH, inH], cols [outW, inW]. */
function separable(
  ctx: KernelContext,
  x: string,
  rows: { values: Float32Array; out: number; in: number },
  cols: { values: Float32Array; out: number; in: number },
): void {
  const { b } = ctx;
  const nchw = b.op('Transpose', [x], { perm: attr.ints([0, 3, 1, 2]) });
  const rowM = b.constant(rows.values, [rows.out, rows.in], 'float32');
  const colT = b.constant(
    transposed(cols.values, cols.out, cols.in),
    [cols.in, cols.out],
    'float32',
  );
  const y = b.op('MatMul', [b.op('MatMul', [rowM, nchw]), colT]);
  const nhwc = b.op('Transpose', [y], { perm: attr.ints([0, 2, 3, 1]) });
  ctx.b.op('Reshape', [nhwc, b.int64s(output(ctx).shape)], {}, output(ctx).name);
}

const resize =
  (fn: ResizeFn): KernelLowering =>
  (ctx) => {
    const images = input(ctx, 'images');
    const [, inH, inW] = images.shape;
    const [, outH, outW] = output(ctx).shape;
    const align = Boolean(ctx.attrs.alignCorners);
    const half = Boolean(ctx.attrs.halfPixelCenters);
    separable(
      ctx,
      images.name,
      { values: forwardMatrix(fn, inH, outH, align, half), out: outH, in: inH },
      { values: forwardMatrix(fn, inW, outW, align, half), out: outW, in: inW },
    );
  };

const resizeGrad =
  (fn: ResizeFn): KernelLowering =>
  (ctx) => {
    const images = input(ctx, 'images');
    const dy = input(ctx, 'dy');
    const [, inH, inW] = images.shape;
    const [, outH, outW] = dy.shape;
    const align = Boolean(ctx.attrs.alignCorners);
    const half = Boolean(ctx.attrs.halfPixelCenters);
    const weights = (inSize: number, outSize: number): Float32Array =>
      forwardMatrix(fn, inSize, outSize, align, half);
    // dx = B_hᵀ · dy · B_w: the "rows" matrix is B_hᵀ [inH, outH], the "cols" one B_wᵀ [inW, outW].
    separable(
      ctx,
      dy.name,
      { values: transposed(weights(inH, outH), outH, inH), out: inH, in: outH },
      { values: transposed(weights(inW, outW), outW, inW), out: inW, in: outW },
    );
  };

const bilinear: ResizeFn = (im, size, a, h) => tf.image.resizeBilinear(im, size, a, h);
const nearest: ResizeFn = (im, size, a, h) => tf.image.resizeNearestNeighbor(im, size, a, h);

export const RESIZE_KERNELS: Record<string, KernelLowering> = {
  ResizeBilinear: resize(bilinear),
  ResizeNearestNeighbor: resize(nearest),
  ResizeBilinearGrad: resizeGrad(bilinear),
  ResizeNearestNeighborGrad: resizeGrad(nearest),
};
