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
  tupleAttr,
  UnsupportedKernelError,
  type KernelContext,
  type KernelLowering,
} from './context.js';
import { transposeValues } from '../layout.js';
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

/*
 * Filter layouts. ORT runs a general 4-D Transpose as a strided gather: [kh, kw, in, out] →
 * [out, in, kh, kw] took ~50 ms for a 3×3×512×512 filter (2 threads). Its 2-D and batched 2-D
 * transposes are blocked and fast (~4–7 ms for the same bytes), but its transpose optimiser
 * merges neighbouring Transposes, Reshapes and Slices back into the slow general one. So the
 * taps axis is moved last by a Gemm with a taps×taps permutation matrix (the identity, or the
 * reversal for flipped filters), which ORT leaves alone: ~14 ms in all for the OIHW weight
 * (bench/engine/weight_layout.ts times the forms).
 */

/**
 * [taps, rest] → [rest, taps] as Gemm(rowsᵀ, P); P reverses the taps when `flip`. One tap: the
 * bytes do not move, so nothing is emitted.
 */
function tapsLast(ctx: KernelContext, rows: string, taps: number, flip: boolean): string {
  if (taps === 1) return rows;
  const permutation = new Float32Array(taps * taps);
  for (let t = 0; t < taps; t++) permutation[t * taps + (flip ? taps - 1 - t : t)] = 1;
  const p = ctx.b.constant(permutation, [taps, taps], 'float32');
  return ctx.b.op('Gemm', [rows, p], { transA: attr.int(1) });
}

function tapCount(shape: number[]): number {
  return shape.slice(0, shape.length - 2).reduce((a, k) => a * k, 1);
}

/**
 * The filter input `key` ([k..., a, b]) permuted as [taps, a, b] → `perm`, reshaped to `shape`,
 * with the taps reversed when `flip`: a constant made now when the filter is a constant, else null.
 */
function constantFilter(
  ctx: KernelContext,
  key: string,
  filterShape: number[],
  perm: number[],
  shape: number[],
  flip = false,
): string | null {
  const values = ctx.constantValues(key);
  if (!values) return null;
  const s = filterShape.length - 2;
  const taps = tapCount(filterShape);
  let v = values;
  if (flip) {
    const per = values.length / taps;
    v = values.slice();
    for (let t = 0; t < taps; t++)
      v.set(values.subarray((taps - 1 - t) * per, (taps - t) * per), t * per);
  }
  const permuted = transposeValues(v, [taps, filterShape[s], filterShape[s + 1]], perm);
  return ctx.b.constant(permuted, shape, 'float32');
}

/** Filter input `key` [k..., in, out] → ONNX OI(k...) [out, in, k...]. */
export function filterOi(ctx: KernelContext, key: string, shape: number[]): string {
  const s = shape.length - 2;
  const [cin, cout] = shape.slice(s);
  const taps = tapCount(shape);
  const known = constantFilter(ctx, key, shape, [2, 1, 0], [cout, cin, ...shape.slice(0, s)]);
  if (known) return known;
  const filter = input(ctx, key).name;
  const b = ctx.b;
  const oiShape = b.int64s([cout, cin, ...shape.slice(0, s)]);
  // Per tap [in, out] → [out, in] (a batched 2-D transpose): [taps, out, in].
  const perTap = transpose(ctx, b.op('Reshape', [filter, b.int64s([taps, cin, cout])]), [0, 2, 1]);
  const rows = b.op('Reshape', [perTap, b.int64s([taps, cout * cin])]);
  return b.op('Reshape', [tapsLast(ctx, rows, taps, false), oiShape]);
}

/**
 * Filter [k..., a, b] → [a, b, k...] with every spatial axis reversed (reversing all spatial axes
 * of a row-major kernel reverses its flattened tap index): the weight of the Conv form of the
 * input gradient ([in, out, k...]) and of the depthwise one ([C, M, k...]).
 */
export function flippedSwapped(ctx: KernelContext, key: string, shape: number[]): string {
  const s = shape.length - 2;
  const target = [...shape.slice(s), ...shape.slice(0, s)];
  const known = constantFilter(ctx, key, shape, [1, 2, 0], target, true);
  if (known) return known;
  const filter = input(ctx, key).name;
  const b = ctx.b;
  const taps = tapCount(shape);
  const rows = b.op('Reshape', [filter, b.int64s([taps, shape[s] * shape[s + 1]])]);
  const swapped = tapsLast(ctx, rows, taps, true);
  return b.op('Reshape', [swapped, b.int64s(target)]);
}

/** Depthwise filter [k..., C, M] → grouped ONNX weight [C·M, 1, k...]. */
function depthwiseWeight(ctx: KernelContext, key: string, shape: number[]): string {
  const s = shape.length - 2;
  const [c, m] = shape.slice(s);
  const target = [c * m, 1, ...shape.slice(0, s)];
  const known = constantFilter(ctx, key, shape, [1, 2, 0], target);
  if (known) return known;
  const filter = input(ctx, key).name;
  const taps = tapCount(shape);
  const b = ctx.b;
  const rows = b.op('Reshape', [filter, b.int64s([taps, c * m])]);
  return b.op('Reshape', [tapsLast(ctx, rows, taps, false), b.int64s(target)]);
}

/** Conv of the channels-first input `xCf`, written to `into` (or a fresh name). */
export function convForward(
  ctx: KernelContext,
  xCf: string,
  weight: string,
  g: ConvGeometry,
  group: number,
  into?: string,
): string {
  return ctx.b.op(
    'Conv',
    [xCf, weight],
    convAttrs(g, group, [...g.padBefore, ...g.padAfter]),
    into,
  );
}

const conv: KernelLowering = (ctx) => {
  const x = input(ctx, 'x');
  const f = input(ctx, 'filter');
  const g = convGeometry(ctx, x.shape, f.shape, false);
  const w = filterOi(ctx, 'filter', f.shape);
  convForward(ctx, ctx.channelsFirst('x'), w, g, 1, ctx.channelsFirstOutput());
};

const depthwiseConv: KernelLowering = (ctx) => {
  const x = input(ctx, 'x');
  const f = input(ctx, 'filter');
  const g = convGeometry(ctx, x.shape, f.shape, true);
  const c = x.shape[x.shape.length - 1];
  const w = depthwiseWeight(ctx, 'filter', f.shape);
  convForward(ctx, ctx.channelsFirst('x'), w, g, c, ctx.channelsFirstOutput());
};

/** FusedConv2D / FusedDepthwiseConv2D: conv + bias + activation, all channels-first. */
const fusedConv =
  (depthwise: boolean): KernelLowering =>
  (ctx) => {
    const x = input(ctx, 'x');
    const f = input(ctx, 'filter');
    const g = convGeometry(ctx, x.shape, f.shape, depthwise);
    const rank = x.shape.length;
    const c = x.shape[rank - 1];
    const w = depthwise
      ? depthwiseWeight(ctx, 'filter', f.shape)
      : filterOi(ctx, 'filter', f.shape);
    let y = convForward(ctx, ctx.channelsFirst('x'), w, g, depthwise ? c : 1);
    if (optionalInput(ctx, 'bias')) {
      y = ctx.b.op('Add', [y, ctx.channelsFirstOperand('bias', rank)]);
    }
    const alpha = optionalInput(ctx, 'preluActivationWeights')
      ? ctx.channelsFirstOperand('preluActivationWeights', rank)
      : undefined;
    fusedActivation(ctx, y, ctx.channelsFirstOutput(), alpha);
  };

/**
 * dx of a conv from dy, both channels-first. `forwardWeight` is the ONNX forward weight (for
 * ConvTranspose), `flippedWeight()` builds the flipped in/out-swapped one (for the Conv form).
 */
export function inputGradient(
  ctx: KernelContext,
  g: ConvGeometry,
  group: number,
  forwardWeight: () => string,
  flippedWeight: () => string,
): void {
  const rank = g.spatial + 2;
  const dyCf = ctx.channelsFirst('dy');
  const dxCf = ctx.channelsFirstOutput();
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
  if (unitStride && padsFit && sizesMatch) {
    const attrs = convAttrs(g, group, [...before, ...after]);
    ctx.b.op('Conv', [dyCf, flippedWeight()], attrs, dxCf);
  } else {
    const outputPadding = inSpatial.map(
      (n, i) =>
        n - ((g.outSpatial[i] - 1) * g.strides[i] + eff[i] - g.padBefore[i] - g.padAfter[i]),
    );
    if (outputPadding.some((p) => p < 0)) {
      throw new UnsupportedKernelError(ctx.kernelName, 'negative output padding');
    }
    const attrs = {
      ...convAttrs(g, group, [...g.padBefore, ...g.padAfter]),
      output_padding: attr.ints(outputPadding),
    };
    ctx.b.op('ConvTranspose', [dyCf, forwardWeight()], attrs, dxCf);
  }
}

const convBackpropInput: KernelLowering = (ctx) => {
  const f = input(ctx, 'filter');
  const inShape = ctx.attrs.inputShape as number[];
  const g = convGeometry(ctx, inShape, f.shape, false);
  inputGradient(
    ctx,
    g,
    1,
    () => filterOi(ctx, 'filter', f.shape),
    // [k..., in, out] → [in, out, k...], flipped: dy convolved with it gives dx.
    () => flippedSwapped(ctx, 'filter', f.shape),
  );
};

const depthwiseBackpropInput: KernelLowering = (ctx) => {
  const f = input(ctx, 'filter');
  const inShape = ctx.attrs.inputShape as number[];
  const g = convGeometry(ctx, inShape, f.shape, true);
  const c = inShape[inShape.length - 1];
  inputGradient(
    ctx,
    g,
    c,
    () => depthwiseWeight(ctx, 'filter', f.shape),
    // [k..., C, M] → [C, M, k...] flipped: group c maps dy channels c·M..c·M+M−1 to dx channel c.
    () => flippedSwapped(ctx, 'filter', f.shape),
  );
};

/**
 * The strided input windows of every filter tap, in tap order (row-major over the kernel): `x`
 * is laid out with its spatial axes at 2.. (channels-first, or channels and batch swapped); each
 * window has `x`'s leading two dims and the output's spatial size.
 */
export function tapSlices(ctx: KernelContext, x: string, g: ConvGeometry): string[] {
  const { b } = ctx;
  const rank = g.spatial + 2;
  const inSpatial = g.inShape.slice(1, rank - 1);
  const span = g.kernel.map(
    (k, i) => (k - 1) * g.dilations[i] + (g.outSpatial[i] - 1) * g.strides[i] + 1,
  );
  const after = span.map((n, i) => Math.max(0, n - inSpatial[i] - g.padBefore[i]));
  let padded = x;
  if ([...g.padBefore, ...after].some((p) => p > 0)) {
    const pads = [0, 0, ...g.padBefore, 0, 0, ...after];
    padded = b.op('Pad', [x, b.int64s(pads), b.scalar(0, 'float32')], {
      mode: attr.string('constant'),
    });
  }
  const taps: string[] = [];
  const total = g.kernel.reduce((a, k) => a * k, 1);
  const axes = Array.from({ length: g.spatial }, (_, i) => i + 2);
  for (let t = 0; t < total; t++) {
    const index: number[] = [];
    let rest = t;
    for (let i = g.spatial - 1; i >= 0; i--) {
      index.unshift(rest % g.kernel[i]);
      rest = Math.floor(rest / g.kernel[i]);
    }
    const starts = index.map((k, i) => k * g.dilations[i]);
    const ends = starts.map((s0, i) => s0 + (g.outSpatial[i] - 1) * g.strides[i] + 1);
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

/** Swaps the two leading axes (NC… ↔ CN…): moves whole spatial planes, not single values. */
export function swapLeading(ctx: KernelContext, x: string, rank: number): string {
  return transpose(ctx, x, [1, 0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)]);
}

/**
 * dW[taps·in, out] = Σ over batch and output positions of window · dy, as one Gemm over
 * im2col: x and dy channels-first are first swapped to [C, N, spatial...] (plane copies), the
 * tap windows of x are stacked on axis 0 into [taps·Cin, N·outSpatial] and dy into
 * [Cout, N·outSpatial], so Gemm(transB) contracts the long axis without transposing im2col.
 */
const convBackpropFilter: KernelLowering = (ctx) => {
  const { b } = ctx;
  const x = input(ctx, 'x');
  const filterShape = ctx.attrs.filterShape as number[];
  const g = convGeometry(ctx, x.shape, filterShape, false);
  const rank = x.shape.length;
  const cin = x.shape[rank - 1];
  const cout = filterShape[filterShape.length - 1];
  const taps = tapSlices(ctx, swapLeading(ctx, ctx.channelsFirst('x'), rank), g);
  const cols = x.shape[0] * g.outSpatial.reduce((a, n) => a * n, 1);
  const stacked = taps.length === 1 ? taps[0] : b.op('Concat', taps, { axis: attr.int(0) });
  const im2col = b.op('Reshape', [stacked, b.int64s([taps.length * cin, cols])]);
  const dyRows = b.op('Reshape', [
    swapLeading(ctx, ctx.channelsFirst('dy'), rank),
    b.int64s([cout, cols]),
  ]);
  const dw = b.op('Gemm', [im2col, dyRows], { transB: attr.int(1) });
  b.op('Reshape', [dw, b.int64s(filterShape)], {}, output(ctx).name);
};

/** Depthwise dW[taps, C, M] = Σ over batch and space of window(c) · dy(c·M + m). */
const depthwiseBackpropFilter: KernelLowering = (ctx) => {
  const { b } = ctx;
  const x = input(ctx, 'x');
  const filterShape = ctx.attrs.filterShape as number[];
  const g = convGeometry(ctx, x.shape, filterShape, true);
  const s = g.spatial;
  const [c, m] = filterShape.slice(s);
  const tapAxis = b.int64s([1]);
  const taps = tapSlices(ctx, ctx.channelsFirst('x'), g).map((t) =>
    b.op('Unsqueeze', [t, tapAxis]),
  );
  const stacked = taps.length === 1 ? taps[0] : b.op('Concat', taps, { axis: attr.int(1) });
  // [N, K, C, 1, out...] · [N, 1, C, M, out...] summed over batch and space → [K, C, M].
  const xs = b.op('Unsqueeze', [stacked, b.int64s([3])]);
  const batch = x.shape[0];
  const dyr = b.op('Reshape', [
    ctx.channelsFirst('dy'),
    b.int64s([batch, 1, c, m, ...g.outSpatial]),
  ]);
  const prod = b.op('Mul', [xs, dyr]);
  const spatialAxes = Array.from({ length: s }, (_, i) => i + 4);
  const summed = b.op('ReduceSum', [prod, b.int64s([0, ...spatialAxes])], {
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
