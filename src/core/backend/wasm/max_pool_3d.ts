/**
 * MaxPool3D for the wasm backend. wasm's own kernel starts each window's running maximum at
 * FLT_MIN (the smallest *positive* float), so any window whose values are all negative comes out
 * as 1.2e-38 — always visible with a 1×1×1 window, and now and then with larger ones. Pooling is
 * separable, so it is computed here with two correct wasm (XNNPACK) 2D max poolings: over
 * (H, W) for every depth plane, then over (D, ·) with a window of [fd, 1], on the input padded
 * with -∞ by tfjs's 3D padding.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  KernelScope,
  type KernelArgs,
  type WasmBackendHandle,
  kernelInput,
} from './kernel_scope.js';

/** MaxPool3D: inputs {x}, attrs {filterSize, strides, pad, dimRoundingMode, dataFormat}. */
export function maxPool3D(args: KernelArgs): tf.TensorInfo {
  const x = kernelInput(args, 'x', 'MaxPool3D');
  const attrs = (args.attrs ?? {}) as unknown as {
    filterSize: number | number[];
    strides: number | number[];
    pad: 'same' | 'valid' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    dataFormat?: 'NDHWC' | 'NCDHW';
  };
  if (x.shape.length !== 5) {
    throw new Error(`MaxPool3D: x must be rank 5 (NDHWC), got [${x.shape}]`);
  }
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NDHWC') {
    throw new Error(`MaxPool3D: only dataFormat 'NDHWC' is supported, got '${attrs.dataFormat}'`);
  }
  const info = tf.backend_util.computePool3DInfo(
    x.shape as [number, number, number, number, number],
    attrs.filterSize as [number, number, number],
    attrs.strides as [number, number, number],
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const [n, , , , c] = x.shape;
  const [, outD, outH, outW] = info.outShape;
  const p = info.padInfo;
  return KernelScope.compute(args.backend as WasmBackendHandle, (s) => {
    // tfjs's 3D padding (which the other backends follow) may be negative at the front; pad with
    // -∞ or crop so that VALID poolings see exactly the 3D windows.
    const need = (o: number, st: number, f: number) => (o - 1) * st + f;
    const sizes = [
      need(outD, info.strideDepth, info.filterDepth),
      need(outH, info.strideHeight, info.filterHeight),
      need(outW, info.strideWidth, info.filterWidth),
    ];
    const fronts = [p.front, p.top, p.left];
    const padded = s.padOrCrop(
      x,
      [
        [0, 0],
        ...fronts.map((f, k): [number, number] => [f, sizes[k] - f - x.shape[k + 1]]),
        [0, 0],
      ],
      -Infinity,
    );
    const [, dp, hp, wp] = padded.shape;
    const pool = (t: tf.TensorInfo, filterSize: number[], strides: number[]) =>
      s.run('MaxPool', { x: t }, { filterSize, strides, pad: 'valid' });
    const planes = pool(
      s.reshape(padded, [n * dp, hp, wp, c]),
      [info.filterHeight, info.filterWidth],
      [info.strideHeight, info.strideWidth],
    ); // [N·D', outH, outW, C]
    const depthMajor = s.reshape(planes, [n, dp, outH * outW, c]);
    const pooled = pool(depthMajor, [info.filterDepth, 1], [info.strideDepth, 1]);
    return s.reshape(pooled, [n, outD, outH, outW, c]);
  });
}
