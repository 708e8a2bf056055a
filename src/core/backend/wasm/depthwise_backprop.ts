/**
 * Depthwise Conv2D gradients for the wasm backend, composed from wasm kernels (NHWC only, as the
 * depthwise ops of tfjs-core).
 *
 * - {@link depthwiseConv2dBackpropFilter}: the padded input is laid out channel-major
 *   ([inC, N, H, W]) once; per filter tap its strided window is a [inC, 1, P] batch of rows that
 *   BatchMatMul multiplies with dy as [inC, P, M] (P = N·outH·outW, M = channel multiplier), giving
 *   that tap's [inC, 1, M] gradient; taps are concatenated into [fh, fw, inC, M].
 * - {@link depthwiseConv2dBackpropInput}: dy ([N, outH, outW, inC·M]) is zero-interleaved for the
 *   stride and padded like a transposed convolution, then a stride-1 wasm DepthwiseConv2dNative
 *   with the spatially flipped filter (as [fh, fw, inC·M, 1], dilated like the forward pass) gives
 *   every (channel, multiplier) contribution; for M > 1 those are summed over the multiplier.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  KernelScope,
  type KernelArgs,
  type WasmBackendHandle,
  kernelInput,
} from './kernel_scope.js';
import { convGeometry, padForTaps, spreadForTransposedConv, tapWindow } from './conv2d_backprop.js';

type Pair = [number, number];

interface DepthwiseBackpropAttrs {
  strides: number | Pair;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | Pair;
}

/** DepthwiseConv2dNativeBackpropFilter: inputs {x, dy}, attrs {strides, pad, dilations, dimRoundingMode, filterShape}. */
export function depthwiseConv2dBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const x = kernelInput(args, 'x', 'DepthwiseConv2dNativeBackpropFilter');
  const dy = kernelInput(args, 'dy', 'DepthwiseConv2dNativeBackpropFilter');
  const attrs = args.attrs as unknown as DepthwiseBackpropAttrs & { filterShape: number[] };
  const g = convGeometry(x.shape, attrs.filterShape, attrs, true);
  const mult = attrs.filterShape[3];
  return KernelScope.compute(args.backend as WasmBackendHandle, (s) => {
    const positions = g.batch * g.outH * g.outW;
    // dy [N, oh, ow, inC·M] -> [inC, P, M]
    const dyT = s.transpose(s.reshape(dy, [positions, g.inC, mult]), [1, 0, 2]);
    const xPadT = s.transpose(padForTaps(s, x, g), [3, 0, 1, 2]); // [inC, N, Hp, Wp]
    const taps: tf.TensorInfo[] = [];
    for (let i = 0; i < g.fh; i++) {
      for (let j = 0; j < g.fw; j++) {
        const win = s.reshape(tapWindow(s, xPadT, g, i, j, 2), [g.inC, 1, positions]);
        taps.push(s.matMul(win, dyT)); // [inC, 1, M]
      }
    }
    return s.reshape(s.concat(taps, 0), [g.fh, g.fw, g.inC, mult]);
  });
}

/** DepthwiseConv2dNativeBackpropInput: inputs {dy, filter}, attrs {strides, pad, dilations, dimRoundingMode, inputShape}. */
export function depthwiseConv2dBackpropInput(args: KernelArgs): tf.TensorInfo {
  const dy = kernelInput(args, 'dy', 'DepthwiseConv2dNativeBackpropInput');
  const filter = kernelInput(args, 'filter', 'DepthwiseConv2dNativeBackpropInput');
  const attrs = args.attrs as unknown as DepthwiseBackpropAttrs & { inputShape: number[] };
  const g = convGeometry(attrs.inputShape, filter.shape, attrs, true);
  const [fh, fw, inC, mult] = filter.shape;
  return KernelScope.compute(args.backend as WasmBackendHandle, (s) => {
    const spread = spreadForTransposedConv(s, dy, g);
    const flipped = s.reshape(s.reverse(filter, [0, 1]), [fh, fw, inC * mult, 1]);
    const perChannel = s.run(
      'DepthwiseConv2dNative',
      { x: spread, filter: flipped },
      { strides: [1, 1], pad: 'valid', dilations: [g.dh, g.dw] },
    ); // [N, H, W, inC·M]
    if (mult === 1) return perChannel;
    const split = s.reshape(perChannel, [g.batch, g.inH, g.inW, inC, mult]);
    return s.sum(split, [4]);
  });
}
