/**
 * MaxPoolGrad and MaxPool3DGrad for the wasm backend, composed from wasm kernels.
 *
 * The input is padded with -∞ (PadV2); per window tap, in scan order, the strided slice of the
 * padded input is compared with the pooled output (Equal). As in TF, only the first maximum of a
 * window receives the gradient: a running "already routed" mask (LogicalOr/LogicalNot/LogicalAnd)
 * keeps later equal taps out. The tap's share of dy (Select) is spread back onto the stride grid
 * (Reshape + PadV2), placed at the tap's offset (PadV2/Slice) and accumulated (Add); the padding
 * is cropped off at the end. Works for any number of spatial dims (NHWC and NDHWC).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  KernelScope,
  type KernelArgs,
  type WasmBackendHandle,
  kernelInput,
} from './kernel_scope.js';

/** Pooling-window geometry with one entry per spatial dimension. */
interface WindowGeometry {
  inSize: number[];
  outSize: number[];
  filter: number[];
  stride: number[];
  padFront: number[];
}

function poolGeometry(
  input: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
  spatial: 2 | 3,
): WindowGeometry {
  const a = attrs as unknown as {
    filterSize: number | number[];
    strides: number | number[];
    pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  if (spatial === 2) {
    const i = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      a.filterSize as [number, number],
      a.strides as [number, number],
      1,
      a.pad,
      a.dimRoundingMode,
    );
    return {
      inSize: [i.inHeight, i.inWidth],
      outSize: [i.outHeight, i.outWidth],
      filter: [i.filterHeight, i.filterWidth],
      stride: [i.strideHeight, i.strideWidth],
      padFront: [i.padInfo.top, i.padInfo.left],
    };
  }
  const i = tf.backend_util.computePool3DInfo(
    input.shape as [number, number, number, number, number],
    a.filterSize as [number, number, number],
    a.strides as [number, number, number],
    1,
    a.pad as 'same' | 'valid' | number,
    a.dimRoundingMode,
  );
  return {
    inSize: [i.inDepth, i.inHeight, i.inWidth],
    outSize: [i.outDepth, i.outHeight, i.outWidth],
    filter: [i.filterDepth, i.filterHeight, i.filterWidth],
    stride: [i.strideDepth, i.strideHeight, i.strideWidth],
    padFront: [i.padInfo.front, i.padInfo.top, i.padInfo.left],
  };
}

/** Every tap of the window, in row-major scan order. */
function windowTaps(filter: number[]): number[][] {
  let taps: number[][] = [[]];
  for (const f of filter) {
    const next: number[][] = [];
    for (const t of taps) for (let k = 0; k < f; k++) next.push([...t, k]);
    taps = next;
  }
  return taps;
}

function maxPoolGradND(args: KernelArgs, kernelName: string, spatial: 2 | 3): tf.TensorInfo {
  const dy = kernelInput(args, 'dy', kernelName);
  const input = kernelInput(args, 'input', kernelName);
  const output = kernelInput(args, 'output', kernelName);
  const g = poolGeometry(input, args.attrs ?? {}, spatial);
  const batch = input.shape[0];
  const channels = input.shape[input.shape.length - 1];
  // Padded extent: front padding plus as far as the last window reaches (at least the input).
  const padded = g.inSize.map((n, d) =>
    Math.max(g.padFront[d] + n, (g.outSize[d] - 1) * g.stride[d] + g.filter[d]),
  );
  return KernelScope.compute(args.backend as WasmBackendHandle, (s) => {
    // tfjs's 3D SAME padding can be negative at the front (it omits TF's max(0, ·)): the
    // forward pass then skips leading input rows, which padOrCrop crops here too.
    const xPad = s.padOrCrop(
      input,
      [
        [0, 0],
        ...g.inSize.map((n, d): [number, number] => [g.padFront[d], padded[d] - g.padFront[d] - n]),
        [0, 0],
      ],
      -Infinity,
    );
    const zeros = s.fill(dy.shape, 0, 'float32');
    let routed: tf.TensorInfo | null = null;
    let acc: tf.TensorInfo | null = null;
    for (const tap of windowTaps(g.filter)) {
      const begin = [0, ...tap, 0];
      const end = [batch, ...tap.map((k, d) => k + (g.outSize[d] - 1) * g.stride[d] + 1), channels];
      const win = s.stridedSlice(xPad, begin, end, [1, ...g.stride, 1]);
      const isMax = s.run('Equal', { a: win, b: output });
      s.free(win);
      let first = isMax;
      if (routed) {
        first = s.run('LogicalAnd', { a: isMax, b: s.run('LogicalNot', { x: routed }) });
        const nextRouted = s.run('LogicalOr', { a: routed, b: isMax });
        s.free(routed);
        routed = nextRouted;
      } else {
        routed = isMax;
      }
      const share = s.run('Select', { condition: first, t: dy, e: zeros });
      // Spread onto the stride grid one spatial dim at a time ([pre, o, 1, post] padded to
      // [pre, o, s, post]; XNNPACK's pad takes at most 6 dims).
      let spread = share;
      const shape = [...dy.shape];
      for (let d = 0; d < spatial; d++) {
        if (g.stride[d] === 1) continue;
        const pre = tf.util.sizeFromShape(shape.slice(0, d + 1));
        const post = tf.util.sizeFromShape(shape.slice(d + 2));
        const grid = s.pad(s.reshape(spread, [pre, g.outSize[d], 1, post]), [
          [0, 0],
          [0, 0],
          [0, g.stride[d] - 1],
          [0, 0],
        ]);
        shape[d + 1] = g.outSize[d] * g.stride[d];
        spread = s.reshape(grid, shape);
      }
      const placed = s.padOrCrop(spread, [
        [0, 0],
        ...tap.map((k, d): [number, number] => [k, padded[d] - k - g.outSize[d] * g.stride[d]]),
        [0, 0],
      ]);
      const nextAcc: tf.TensorInfo = acc ? s.add(acc, placed) : placed;
      if (acc) s.free(acc);
      acc = nextAcc;
    }
    if (!acc) throw new Error(`${kernelName}: empty pooling window`);
    // Padded coordinate p is input coordinate p - padFront.
    return s.padOrCrop(acc, [
      [0, 0],
      ...g.inSize.map((n, d): [number, number] => [-g.padFront[d], n + g.padFront[d] - padded[d]]),
      [0, 0],
    ]);
  });
}

/** MaxPoolGrad: inputs {dy, input, output}, attrs {filterSize, strides, pad, dimRoundingMode}. */
export function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  return maxPoolGradND(args, 'MaxPoolGrad', 2);
}

/** MaxPool3DGrad: inputs {dy, input, output}, attrs {filterSize, strides, pad, dimRoundingMode}. */
export function maxPool3DGrad(args: KernelArgs): tf.TensorInfo {
  return maxPoolGradND(args, 'MaxPool3DGrad', 3);
}
