/**
 * Convolutions, 2-D and 3-D, regular and depthwise, forward and both gradients.
 *
 * tfjs is channels-last (NHWC / NDHWC, filters [k..., in, out]); ONNX Conv is channels-first with
 * OIHW filters, so the forward pass is Transpose → Conv → Transpose (the transposes of
 * neighbouring convs cancel in ORT's layout optimiser or in a later pass of ours).
 *
 *  - input gradient: for unit strides a Conv over dy with the spatially flipped, in/out-swapped
 *    filter and pads (k_eff − 1 − pad); otherwise ConvTranspose. engine-notes.md measured the Conv
 *    form at ~95–107 GFLOP/s against ~62 for ConvTranspose.
 *  - filter gradient: im2col — one strided Slice of the padded input per filter tap, concatenated
 *    on channels, then one Gemm with dy (engine-notes.md: ~40–52 GFLOP/s, the best measured form).
 *    Depthwise filters reduce tap·dy products over batch and space instead.
 * Padding comes from tfjs's own conv geometry (backend_util.computeConv2DInfo/3DInfo), so 'same'
 * splits the padding exactly as tfjs (and TF) does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { attr } from '../graph_builder.js';
import {
  input,
  optionalInput,
  output,
  toChannelsFirst,
  toChannelsLast,
  tupleAttr,
  UnsupportedKernelError,
  type KernelContext,
  type KernelLowering,
} from './context.js';
import { fusedActivation } from './matmul.js';

/** Static geometry of one convolution, channels last. */
export interface ConvGeometry {
  /** Number of spatial dims (2 or 3). */
  spatial: number;
  /** Input [N, ...spatial, C]. */
  inShape: number[];
  outSpatial: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  padBefore: number[];
  padAfter: number[];
}

type PadAttr = 'same' | 'valid' | number;

/** tfjs's conv geometry for an input shape and a filter shape ([k..., in, out|multiplier]). */
export function convGeometry(
  ctx: KernelContext,
  inShape: number[],
  filterShape: number[],
  depthwise: boolean,
): ConvGeometry {
  const spatial = inShape.length - 2;
  const strides = tupleAttr(ctx, 'strides', spatial, 1);
  const dilations = tupleAttr(ctx, 'dilations', spatial, 1);
  const pad = ctx.attrs.pad as PadAttr;
  const format = ctx.attrs.dataFormat;
  if (format === 'NCHW' || format === 'NCDHW') {
    throw new UnsupportedKernelError(ctx.kernelName, `dataFormat ${format}`);
  }
  if (typeof pad === 'object' && pad !== null) {
    throw new UnsupportedKernelError(ctx.kernelName, 'explicit padding');
  }
  const rounding = ctx.attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined;
  if (spatial === 2) {
    const info = tf.backend_util.computeConv2DInfo(
      inShape as [number, number, number, number],
      filterShape as [number, number, number, number],
      strides as [number, number],
      dilations as [number, number],
      pad,
      rounding,
      depthwise,
      'channelsLast',
    );
    return {
      spatial,
      inShape,
      outSpatial: [info.outHeight, info.outWidth],
      kernel: filterShape.slice(0, 2),
      strides,
      dilations,
      padBefore: [info.padInfo.top, info.padInfo.left],
      padAfter: [info.padInfo.bottom, info.padInfo.right],
    };
  }
  if (spatial === 3) {
    const info = tf.backend_util.computeConv3DInfo(
      inShape as [number, number, number, number, number],
      filterShape as [number, number, number, number, number],
      strides as [number, number, number],
      dilations as [number, number, number],
      pad as 'same' | 'valid',
      depthwise,
      'channelsLast',
      rounding,
    );
    return {
      spatial,
      inShape,
      outSpatial: [info.outDepth, info.outHeight, info.outWidth],
      kernel: filterShape.slice(0, 3),
      strides,
      dilations,
      padBefore: [info.padInfo.front, info.padInfo.top, info.padInfo.left],
      padAfter: [info.padInfo.back, info.padInfo.bottom, info.padInfo.right],
    };
  }
  throw new UnsupportedKernelError(ctx.kernelName, `${spatial} spatial dims`);
}

function effectiveKernel(g: ConvGeometry): number[] {
  return g.kernel.map((k, i) => (k - 1) * g.dilations[i] + 1);
}

function convAttrs(g: ConvGeometry, group: number, pads: number[], strides = g.strides) {
  return {
    kernel_shape: attr.ints(g.kernel),
    strides: attr.ints(strides),
    dilations: attr.ints(g.dilations),
    pads: attr.ints(pads),
    group: attr.int(group),
  };
}

function transpose(ctx: KernelContext, x: string, perm: number[]): string {
  return ctx.b.op('Transpose', [x], { perm: attr.ints(perm) });
}

/** Filter [k..., in, out] → ONNX OI(k...) [out, in, k...]. */
function filterOi(ctx: KernelContext, filter: string, spatial: number): string {
  return transpose(ctx, filter, [spatial + 1, spatial, ...Array(spatial).keys()]);
}

/** Depthwise filter [k..., C, M] → grouped ONNX weight [C·M, 1, k...]. */
function depthwiseWeight(ctx: KernelContext, filter: string, shape: number[]): string {
  const s = shape.length - 2;
  const [c, m] = shape.slice(s);
  const flat = ctx.b.op('Reshape', [filter, ctx.b.int64s([...shape.slice(0, s), c * m])]);
  const first = transpose(ctx, flat, [s, ...Array(s).keys()]);
  return ctx.b.op('Reshape', [first, ctx.b.int64s([c * m, 1, ...shape.slice(0, s)])]);
}

/** Reverses the spatial axes (2.. of an ONNX weight). */
function flipSpatial(ctx: KernelContext, w: string, spatial: number): string {
  const axes = Array.from({ length: spatial }, (_, i) => i + 2);
  const b = ctx.b;
  return b.op('Slice', [
    w,
    b.int64s(axes.map(() => -1)),
    b.int64s(axes.map(() => -2147483648)),
    b.int64s(axes),
    b.int64s(axes.map(() => -1)),
  ]);
}

/** Channels-last conv forward: Transpose → Conv → Transpose, written to `into` (or fresh). */
function convForward(
  ctx: KernelContext,
  x: string,
  weight: string,
  g: ConvGeometry,
  group: number,
  into?: string,
): string {
  const rank = g.spatial + 2;
  const xCf = transpose(ctx, x, toChannelsFirst(rank));
  const y = ctx.b.op('Conv', [xCf, weight], convAttrs(g, group, [...g.padBefore, ...g.padAfter]));
  return ctx.b.op('Transpose', [y], { perm: attr.ints(toChannelsLast(rank)) }, into);
}

const conv: KernelLowering = (ctx) => {
  const x = input(ctx, 'x');
  const f = input(ctx, 'filter');
  const g = convGeometry(ctx, x.shape, f.shape, false);
  convForward(ctx, x.name, filterOi(ctx, f.name, g.spatial), g, 1, output(ctx).name);
};

const depthwiseConv: KernelLowering = (ctx) => {
  const x = input(ctx, 'x');
  const f = input(ctx, 'filter');
  const g = convGeometry(ctx, x.shape, f.shape, true);
  const c = x.shape[x.shape.length - 1];
  convForward(ctx, x.name, depthwiseWeight(ctx, f.name, f.shape), g, c, output(ctx).name);
};

/** FusedConv2D / FusedDepthwiseConv2D: conv + bias + activation. */
const fusedConv =
  (depthwise: boolean): KernelLowering =>
  (ctx) => {
    const x = input(ctx, 'x');
    const f = input(ctx, 'filter');
    const g = convGeometry(ctx, x.shape, f.shape, depthwise);
    const c = x.shape[x.shape.length - 1];
    const w = depthwise ? depthwiseWeight(ctx, f.name, f.shape) : filterOi(ctx, f.name, g.spatial);
    let y = convForward(ctx, x.name, w, g, depthwise ? c : 1);
    const bias = optionalInput(ctx, 'bias');
    if (bias) y = ctx.b.op('Add', [y, bias.name]);
    fusedActivation(ctx, y, output(ctx).name);
  };

/**
 * dx of a channels-last conv from dy. `forwardWeight` is the ONNX forward weight (for
 * ConvTranspose), `flippedWeight()` builds the flipped in/out-swapped one (for the Conv form).
 */
function inputGradient(
  ctx: KernelContext,
  dy: string,
  g: ConvGeometry,
  group: number,
  forwardWeight: () => string,
  flippedWeight: () => string,
): void {
  const rank = g.spatial + 2;
  const dyCf = transpose(ctx, dy, toChannelsFirst(rank));
  const eff = effectiveKernel(g);
  const before = eff.map((k, i) => k - 1 - g.padBefore[i]);
  const after = eff.map((k, i) => k - 1 - g.padAfter[i]);
  const inSpatial = g.inShape.slice(1, rank - 1);
  // The Conv form reproduces every input position only when strides are 1 and pads fit.
  const unitStride = g.strides.every((s) => s === 1);
  const padsFit = [...before, ...after].every((p) => p >= 0);
  const sizesMatch = inSpatial.every(
    (n, i) => g.outSpatial[i] + before[i] + after[i] - eff[i] + 1 === n,
  );
  let dxCf: string;
  if (unitStride && padsFit && sizesMatch) {
    dxCf = ctx.b.op('Conv', [dyCf, flippedWeight()], convAttrs(g, group, [...before, ...after]));
  } else {
    const outputPadding = inSpatial.map(
      (n, i) =>
        n - ((g.outSpatial[i] - 1) * g.strides[i] + eff[i] - g.padBefore[i] - g.padAfter[i]),
    );
    if (outputPadding.some((p) => p < 0)) {
      throw new UnsupportedKernelError(ctx.kernelName, 'negative output padding');
    }
    dxCf = ctx.b.op('ConvTranspose', [dyCf, forwardWeight()], {
      ...convAttrs(g, group, [...g.padBefore, ...g.padAfter]),
      output_padding: attr.ints(outputPadding),
    });
  }
  ctx.b.op('Transpose', [dxCf], { perm: attr.ints(toChannelsLast(rank)) }, output(ctx).name);
}

const convBackpropInput: KernelLowering = (ctx) => {
  const dy = input(ctx, 'dy');
  const f = input(ctx, 'filter');
  const inShape = ctx.attrs.inputShape as number[];
  const g = convGeometry(ctx, inShape, f.shape, false);
  const s = g.spatial;
  inputGradient(
    ctx,
    dy.name,
    g,
    1,
    () => filterOi(ctx, f.name, s),
    // [k..., in, out] → [in, out, k...], flipped: the weight of the transposed convolution.
    () => flipSpatial(ctx, transpose(ctx, f.name, [s, s + 1, ...Array(s).keys()]), s),
  );
};

const depthwiseBackpropInput: KernelLowering = (ctx) => {
  const dy = input(ctx, 'dy');
  const f = input(ctx, 'filter');
  const inShape = ctx.attrs.inputShape as number[];
  const g = convGeometry(ctx, inShape, f.shape, true);
  const s = g.spatial;
  const c = inShape[inShape.length - 1];
  inputGradient(
    ctx,
    dy.name,
    g,
    c,
    () => depthwiseWeight(ctx, f.name, f.shape),
    // [k..., C, M] → [C, M, k...] flipped: group c maps dy channels c·M..c·M+M−1 to dx channel c.
    () => flipSpatial(ctx, transpose(ctx, f.name, [s, s + 1, ...Array(s).keys()]), s),
  );
};

/** The strided input windows of every filter tap: names of [N, ...outSpatial, C] slices. */
function tapSlices(ctx: KernelContext, x: string, g: ConvGeometry): string[] {
  const { b } = ctx;
  const rank = g.spatial + 2;
  const inSpatial = g.inShape.slice(1, rank - 1);
  const span = g.kernel.map(
    (k, i) => (k - 1) * g.dilations[i] + (g.outSpatial[i] - 1) * g.strides[i] + 1,
  );
  const after = span.map((n, i) => Math.max(0, n - inSpatial[i] - g.padBefore[i]));
  let padded = x;
  if ([...g.padBefore, ...after].some((p) => p > 0)) {
    const pads = [0, ...g.padBefore, 0, 0, ...after, 0];
    padded = b.op('Pad', [x, b.int64s(pads), b.scalar(0, 'float32')], {
      mode: attr.string('constant'),
    });
  }
  const taps: string[] = [];
  const total = g.kernel.reduce((a, k) => a * k, 1);
  for (let t = 0; t < total; t++) {
    const index: number[] = [];
    let rest = t;
    for (let i = g.spatial - 1; i >= 0; i--) {
      index.unshift(rest % g.kernel[i]);
      rest = Math.floor(rest / g.kernel[i]);
    }
    const starts = index.map((k, i) => k * g.dilations[i]);
    const ends = starts.map((s0, i) => s0 + (g.outSpatial[i] - 1) * g.strides[i] + 1);
    const axes = Array.from({ length: g.spatial }, (_, i) => i + 1);
    const whole =
      starts.every((s0) => s0 === 0) &&
      g.strides.every((s0) => s0 === 1) &&
      ends.every((e, i) => e === inSpatial[i] + g.padBefore[i] + after[i]);
    taps.push(
      whole
        ? padded
        : b.op('Slice', [
            padded,
            b.int64s(starts),
            b.int64s(ends),
            b.int64s(axes),
            b.int64s(g.strides),
          ]),
    );
  }
  return taps;
}

const convBackpropFilter: KernelLowering = (ctx) => {
  const { b } = ctx;
  const x = input(ctx, 'x');
  const dy = input(ctx, 'dy');
  const filterShape = ctx.attrs.filterShape as number[];
  const g = convGeometry(ctx, x.shape, filterShape, false);
  const cin = x.shape[x.shape.length - 1];
  const cout = filterShape[filterShape.length - 1];
  const taps = tapSlices(ctx, x.name, g);
  const rows = x.shape[0] * g.outSpatial.reduce((a, n) => a * n, 1);
  const cols =
    taps.length === 1 ? taps[0] : b.op('Concat', taps, { axis: attr.int(g.spatial + 1) });
  const cols2d = b.op('Reshape', [cols, b.int64s([rows, taps.length * cin])]);
  const dy2d = b.op('Reshape', [dy.name, b.int64s([rows, cout])]);
  const dw = b.op('Gemm', [cols2d, dy2d], { transA: attr.int(1) });
  b.op('Reshape', [dw, b.int64s(filterShape)], {}, output(ctx).name);
};

const depthwiseBackpropFilter: KernelLowering = (ctx) => {
  const { b } = ctx;
  const x = input(ctx, 'x');
  const dy = input(ctx, 'dy');
  const filterShape = ctx.attrs.filterShape as number[];
  const g = convGeometry(ctx, x.shape, filterShape, true);
  const s = g.spatial;
  const [c, m] = filterShape.slice(s);
  const tapAxis = b.int64s([s + 1]);
  const taps = tapSlices(ctx, x.name, g).map((t) => b.op('Unsqueeze', [t, tapAxis]));
  const stacked = taps.length === 1 ? taps[0] : b.op('Concat', taps, { axis: attr.int(s + 1) });
  // [N, out..., K, C, 1] · [N, out..., 1, C, M] summed over batch and space → [K, C, M].
  const xs = b.op('Unsqueeze', [stacked, b.int64s([s + 3])]);
  const dyr = b.op('Reshape', [dy.name, b.int64s([x.shape[0], ...g.outSpatial, 1, c, m])]);
  const prod = b.op('Mul', [xs, dyr]);
  const summed = b.op('ReduceSum', [prod, b.int64s([...Array(s + 1).keys()])], {
    keepdims: attr.int(0),
  });
  b.op('Reshape', [summed, b.int64s(filterShape)], {}, output(ctx).name);
};

export const CONV_KERNELS: Record<string, KernelLowering> = {
  Conv2D: conv,
  Conv3D: conv,
  DepthwiseConv2dNative: depthwiseConv,
  FusedConv2D: fusedConv(false),
  FusedDepthwiseConv2D: fusedConv(true),
  Conv2DBackpropInput: convBackpropInput,
  Conv3DBackpropInputV2: convBackpropInput,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  Conv2DBackpropFilter: convBackpropFilter,
  Conv3DBackpropFilterV2: convBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
};
