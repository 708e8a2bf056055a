/**
 * Conv2D gradients for the wasm backend, composed from wasm kernels.
 *
 * - {@link conv2dBackpropFilter}: per filter tap, a strided slice of the zero-padded input
 *   ([N, outH, outW, inC], i.e. one im2col column block) times dy ([N·outH·outW, outC]) with
 *   BatchMatMul(transposeA); the taps are concatenated into [fh, fw, inC, outC].
 * - {@link conv2dBackpropInput}: the transposed convolution written as a stride-1 convolution:
 *   dy is zero-interleaved (stride), padded/cropped so that a VALID correlation yields exactly
 *   [N, H, W, inC], then convolved (wasm/XNNPACK Conv2D, dilated like the forward pass) with the
 *   spatially flipped filter whose channel axes are swapped ([fh, fw, outC, inC]).
 *
 * Both honour `dilations` when the attrs carry it (tfjs-core's own ops never pass it for the
 * Conv2D backprops, so it defaults to 1) and accept NCHW by transposing to NHWC and back.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  KernelScope,
  type Paddings,
  type KernelArgs,
  type WasmBackendHandle,
  kernelInput,
} from './kernel_scope.js';

type Pair = [number, number];
type Shape4 = [number, number, number, number];

/** The attrs shared by the Conv2D backprop kernels (plus the optional dilations). */
interface Conv2DBackpropAttrs {
  strides: number | Pair;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | Pair;
}

/** Geometry of the forward convolution, NHWC. */
export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  padTop: number;
  padLeft: number;
}

/** Forward-conv geometry from shapes in `dataFormat` and the op attrs. */
export function convGeometry(
  xShape: number[],
  filterShape: number[],
  attrs: Conv2DBackpropAttrs,
  depthwise: boolean,
): ConvGeometry {
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  const info = tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    format,
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];

/**
 * Zero-pads the NHWC input `x` at top/left by the forward padding and at bottom/right as far as
 * the last filter tap reaches, so every tap's window is a plain strided slice.
 */
export function padForTaps(s: KernelScope, x: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  const needH = (g.outH - 1) * g.sh + (g.fh - 1) * g.dh + 1;
  const needW = (g.outW - 1) * g.sw + (g.fw - 1) * g.dw + 1;
  return s.pad(x, [
    [0, 0],
    [g.padTop, Math.max(0, needH - g.padTop - g.inH)],
    [g.padLeft, Math.max(0, needW - g.padLeft - g.inW)],
    [0, 0],
  ]);
}

/**
 * The input window seen by filter tap (i, j): `xPad[:, i·dh :: sh, j·dw :: sw, :]`, `outH × outW`
 * positions. `hAxis` is the index of the height axis in `xPad` (width follows it).
 */
export function tapWindow(
  s: KernelScope,
  xPad: tf.TensorInfo,
  g: ConvGeometry,
  i: number,
  j: number,
  hAxis: number,
): tf.TensorInfo {
  const rank = xPad.shape.length;
  const begin = new Array<number>(rank).fill(0);
  const end = [...xPad.shape];
  const strides = new Array<number>(rank).fill(1);
  begin[hAxis] = i * g.dh;
  end[hAxis] = i * g.dh + (g.outH - 1) * g.sh + 1;
  strides[hAxis] = g.sh;
  begin[hAxis + 1] = j * g.dw;
  end[hAxis + 1] = j * g.dw + (g.outW - 1) * g.sw + 1;
  strides[hAxis + 1] = g.sw;
  return s.stridedSlice(xPad, begin, end, strides);
}

/**
 * Spreads NHWC `dy` [N, outH, outW, C] onto the stride grid and pads/crops it so that a VALID,
 * stride-1 correlation with a (dilated) fh × fw filter gives [N, inH, inW, ·]: the adjoint of a
 * strided, padded correlation.
 */
export function spreadForTransposedConv(
  s: KernelScope,
  dy: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  const [n, oh, ow, c] = dy.shape;
  let z = dy;
  if (g.sh > 1 || g.sw > 1) {
    // [N, oh, 1, ow, 1, C] padded to [N, oh, sh, ow, sw, C]: each dy value followed by zeros.
    const r = s.reshape(dy, [n, oh, 1, ow, 1, c]);
    const p = s.pad(r, [
      [0, 0],
      [0, 0],
      [0, g.sh - 1],
      [0, 0],
      [0, g.sw - 1],
      [0, 0],
    ]);
    z = s.reshape(p, [n, oh * g.sh, ow * g.sw, c]);
  }
  // Value z[t] sits at padded position t + front; output row y reads rows y .. y + (fh-1)·dh.
  const frontH = (g.fh - 1) * g.dh - g.padTop;
  const frontW = (g.fw - 1) * g.dw - g.padLeft;
  const paddings: Paddings = [
    [0, 0],
    [frontH, g.inH + (g.fh - 1) * g.dh - frontH - oh * g.sh],
    [frontW, g.inW + (g.fw - 1) * g.dw - frontW - ow * g.sw],
    [0, 0],
  ];
  return s.padOrCrop(z, paddings);
}

/** Conv2DBackpropFilter: inputs {x, dy}, attrs {strides, pad, dataFormat, dimRoundingMode, filterShape}. */
export function conv2dBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const x = kernelInput(args, 'x', 'Conv2DBackpropFilter');
  const dy = kernelInput(args, 'dy', 'Conv2DBackpropFilter');
  const attrs = args.attrs as unknown as Conv2DBackpropAttrs & { filterShape: number[] };
  const g = convGeometry(x.shape, attrs.filterShape, attrs, false);
  const nchw = attrs.dataFormat === 'NCHW';
  return KernelScope.compute(args.backend as WasmBackendHandle, (s) => {
    const xN = nchw ? s.transpose(x, NCHW_TO_NHWC) : x;
    const dyN = nchw ? s.transpose(dy, NCHW_TO_NHWC) : dy;
    const positions = g.batch * g.outH * g.outW;
    const dy3 = s.reshape(dyN, [1, positions, g.outC]);
    const xPad = padForTaps(s, xN, g);
    const taps: tf.TensorInfo[] = [];
    for (let i = 0; i < g.fh; i++) {
      for (let j = 0; j < g.fw; j++) {
        const win = s.reshape(tapWindow(s, xPad, g, i, j, 1), [1, positions, g.inC]);
        taps.push(s.matMul(win, dy3, true, false)); // [1, inC, outC]
      }
    }
    return s.reshape(s.concat(taps, 0), [g.fh, g.fw, g.inC, g.outC]);
  });
}

/** Conv2DBackpropInput: inputs {dy, filter}, attrs {strides, pad, dataFormat, dimRoundingMode, inputShape}. */
export function conv2dBackpropInput(args: KernelArgs): tf.TensorInfo {
  const dy = kernelInput(args, 'dy', 'Conv2DBackpropInput');
  const filter = kernelInput(args, 'filter', 'Conv2DBackpropInput');
  const attrs = args.attrs as unknown as Conv2DBackpropAttrs & { inputShape: number[] };
  const g = convGeometry(attrs.inputShape, filter.shape, attrs, false);
  const nchw = attrs.dataFormat === 'NCHW';
  return KernelScope.compute(args.backend as WasmBackendHandle, (s) => {
    const dyN = nchw ? s.transpose(dy, NCHW_TO_NHWC) : dy;
    const spread = spreadForTransposedConv(s, dyN, g);
    // Flip the taps and swap the channel axes: [fh, fw, inC, outC] -> [fh, fw, outC, inC].
    const flipped = s.transpose(s.reverse(filter, [0, 1]), [0, 1, 3, 2]);
    const dx = s.run(
      'Conv2D',
      { x: spread, filter: flipped },
      {
        strides: [1, 1],
        pad: 'valid',
        dataFormat: 'NHWC',
        dilations: [g.dh, g.dw],
      },
    );
    return nchw ? s.transpose(dx, NHWC_TO_NCHW) : dx;
  });
}
