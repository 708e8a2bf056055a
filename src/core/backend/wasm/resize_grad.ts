/**
 * ResizeBilinearGrad and ResizeNearestNeighborGrad for the wasm backend.
 *
 * Both resizes are linear and separable: `out[n, y, x, c] = Σ_{h,w} Ry[y, h] · Rx[x, w] · in[n, h, w, c]`
 * with small interpolation matrices Ry [outH, inH] and Rx [outW, inW] that follow the forward
 * kernels of tfjs (TF semantics for `alignCorners` and `halfPixelCenters`). The gradient is the
 * adjoint, `dx = Ryᵀ · dy · Rx` per (n, c), computed with two BatchMatMuls (and Transposes) on the
 * wasm heap. The matrices are built in JS once per (sizes, flags) and cached; uploading them is
 * a copy of [out, in] floats, not of tensor data.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  KernelScope,
  type KernelArgs,
  type WasmBackendHandle,
  kernelInput,
} from './kernel_scope.js';

/** Source-coordinate ratio of the forward resize (TF's CalculateResizeScale with alignCorners). */
function resizeRatio(inSize: number, outSize: number, alignCorners: boolean): number {
  const a = alignCorners && outSize > 1;
  return (a ? inSize - 1 : inSize) / (a ? outSize - 1 : outSize);
}

/** Row-major [outSize, inSize] weights of 1-D bilinear interpolation, as tfjs' ResizeBilinear. */
export function bilinearMatrix(
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): Float32Array {
  const ratio = resizeRatio(inSize, outSize, alignCorners);
  const m = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const src = halfPixelCenters ? ratio * (o + 0.5) - 0.5 : ratio * o;
    const lo = Math.max(0, Math.floor(src));
    const hi = Math.min(inSize - 1, Math.ceil(src));
    const frac = src - lo;
    m[o * inSize + lo] += 1 - frac;
    m[o * inSize + hi] += frac;
  }
  return m;
}

/** Row-major [outSize, inSize] 0/1 selection of nearest-neighbour resizing, as tfjs' kernel. */
export function nearestMatrix(
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): Float32Array {
  const ratio = resizeRatio(inSize, outSize, alignCorners);
  const m = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const src = halfPixelCenters ? ratio * (o + 0.5) : ratio * o;
    let i = Math.min(inSize - 1, alignCorners ? Math.round(src) : Math.floor(src));
    if (halfPixelCenters) i = Math.max(0, i);
    m[o * inSize + i] = 1;
  }
  return m;
}

type MatrixFn = typeof bilinearMatrix;
const matrixCache = new Map<string, Float32Array>();
const MAX_CACHED = 256;

function cachedMatrix(
  fn: MatrixFn,
  kind: string,
  inSize: number,
  outSize: number,
  ac: boolean,
  hp: boolean,
): Float32Array {
  const key = `${kind}:${inSize}:${outSize}:${ac}:${hp}`;
  let m = matrixCache.get(key);
  if (!m) {
    if (matrixCache.size >= MAX_CACHED) matrixCache.clear();
    m = fn(inSize, outSize, ac, hp);
    matrixCache.set(key, m);
  }
  return m;
}

interface UploadBackend extends WasmBackendHandle {
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
}

function resizeGrad(
  args: KernelArgs,
  kernelName: string,
  fn: MatrixFn,
  kind: string,
): tf.TensorInfo {
  const images = kernelInput(args, 'images', kernelName);
  const dy = kernelInput(args, 'dy', kernelName);
  const { alignCorners, halfPixelCenters } = (args.attrs ?? {}) as {
    alignCorners?: boolean;
    halfPixelCenters?: boolean;
  };
  if (images.shape.length !== 4 || dy.shape.length !== 4) {
    throw new Error(
      `${kernelName}: images and dy must be rank 4 (NHWC), got [${images.shape}] and [${dy.shape}]`,
    );
  }
  const [n, inH, inW, c] = images.shape;
  const [, outH, outW] = dy.shape;
  const ac = alignCorners ?? false;
  const hp = halfPixelCenters ?? false;
  const backend = args.backend as UploadBackend;
  return KernelScope.compute(backend, (s) => {
    const upload = (m: Float32Array, shape: number[]) => {
      const t = backend.makeOutput(shape, 'float32', undefined, m);
      return s.adopt(t);
    };
    const ry = upload(cachedMatrix(fn, kind, inH, outH, ac, hp), [1, outH, inH]);
    const rx = upload(cachedMatrix(fn, kind, inW, outW, ac, hp), [1, outW, inW]);
    // Rows: [outH, N·outW·C] -> Ryᵀ · (.) = [inH, N·outW·C]
    const dyRows = s.reshape(s.transpose(dy, [1, 0, 2, 3]), [1, outH, n * outW * c]);
    const t1 = s.matMul(ry, dyRows, true, false);
    // Columns: [inH, N, outW, C] -> [outW, inH·N·C] -> Rxᵀ · (.) = [inW, inH·N·C]
    const t1Cols = s.reshape(s.transpose(s.reshape(t1, [inH, n, outW, c]), [2, 0, 1, 3]), [
      1,
      outW,
      inH * n * c,
    ]);
    const t2 = s.matMul(rx, t1Cols, true, false);
    return s.transpose(s.reshape(t2, [inW, inH, n, c]), [2, 1, 0, 3]);
  });
}

/** ResizeBilinearGrad: inputs {images, dy}, attrs {alignCorners, halfPixelCenters}. */
export function resizeBilinearGrad(args: KernelArgs): tf.TensorInfo {
  return resizeGrad(args, 'ResizeBilinearGrad', bilinearMatrix, 'bilinear');
}

/** ResizeNearestNeighborGrad: inputs {images, dy}, attrs {alignCorners, halfPixelCenters}. */
export function resizeNearestNeighborGrad(args: KernelArgs): tf.TensorInfo {
  return resizeGrad(args, 'ResizeNearestNeighborGrad', nearestMatrix, 'nearest');
}
