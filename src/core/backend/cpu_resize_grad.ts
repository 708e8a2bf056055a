/**
 * ResizeBilinearGrad and ResizeNearestNeighborGrad for tfjs-backend-cpu, replacing its kernels:
 * cpu's ResizeBilinearGrad swaps H and W in its output shape (non-square images fail) and ignores
 * halfPixelCenters; its ResizeNearestNeighborGrad walks dy with the images' batch stride (wrong
 * values, NaN, for batch > 1 whenever dy and images differ in size) and ignores halfPixelCenters.
 * Both become the exact adjoint of the forward resize, dx = Ryᵀ · dy · Rx per (n, c), with the
 * interpolation matrices of the wasm kernels (./wasm/resize_grad.ts), as TF computes them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bilinearMatrix, nearestMatrix } from './wasm/resize_grad.js';

interface CpuData {
  data: { get(id: unknown): { values: tf.TypedArray } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.TypedArray): tf.TensorInfo;
}

function resizeGrad(kernelName: string, matrix: typeof bilinearMatrix): tf.KernelConfig {
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }): tf.TensorInfo => {
    const { images, dy } = args.inputs;
    if (!images || !dy || images.shape.length !== 4 || dy.shape.length !== 4) {
      throw new Error(`${kernelName} (cpu): needs rank-4 NHWC 'images' and 'dy'`);
    }
    const ac = Boolean(args.attrs?.alignCorners);
    const hp = Boolean(args.attrs?.halfPixelCenters);
    const [n, inH, inW, c] = images.shape;
    const [, outH, outW] = dy.shape;
    const ry = matrix(inH, outH, ac, hp);
    const rx = matrix(inW, outW, ac, hp);
    const backend = args.backend as CpuData;
    const g = backend.data.get(dy.dataId).values;
    // Columns first: t[n, y, w, c] = Σ_x Rx[x, w] · dy[n, y, x, c]; then rows.
    const t = new Float32Array(n * outH * inW * c);
    for (let b = 0; b < n * outH; b++) {
      for (let x = 0; x < outW; x++) {
        for (let w = 0; w < inW; w++) {
          const r = rx[x * inW + w];
          if (r === 0) continue;
          for (let k = 0; k < c; k++) t[(b * inW + w) * c + k] += r * g[(b * outW + x) * c + k];
        }
      }
    }
    const dx = new Float32Array(n * inH * inW * c);
    const plane = inW * c;
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < outH; y++) {
        for (let h = 0; h < inH; h++) {
          const r = ry[y * inH + h];
          if (r === 0) continue;
          const src = (b * outH + y) * plane;
          const dst = (b * inH + h) * plane;
          for (let k = 0; k < plane; k++) dx[dst + k] += r * t[src + k];
        }
      }
    }
    return backend.makeTensorInfo(images.shape, 'float32', dx);
  };
  return { kernelName, backendName: 'cpu', kernelFunc: kernelFunc as tf.KernelFunc };
}

let registered = false;

/** Replaces cpu's two resize gradient kernels (once). */
export function registerCpuResizeGradKernels(): void {
  if (registered) return;
  registered = true;
  for (const config of [
    resizeGrad('ResizeBilinearGrad', bilinearMatrix),
    resizeGrad('ResizeNearestNeighborGrad', nearestMatrix),
  ]) {
    tf.unregisterKernel(config.kernelName, 'cpu');
    tf.registerKernel(config);
  }
}
