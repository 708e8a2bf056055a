/**
 * Layout kernels: Reshape, Transpose, Pack/Unpack, Concat, Slice/StridedSlice, Pad, Tile,
 * Reverse, BroadcastTo, SplitV, gather/scatter (GatherV2, UnsortedSegmentSum), OneHot, Range,
 * Einsum. Shapes are static: a lowering takes target shapes from the traced outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchGather } from './select.js';
import { attr } from '../graph_builder.js';
import {
  emitOut,
  input,
  numAttr,
  output,
  UnsupportedKernelError,
  type KernelContext,
  type KernelLowering,
} from './context.js';

/** ONNX Slice clamps out-of-range bounds; this is "before index 0" for a negative step. */
const BEFORE_START = -2147483648;

const reshapeToOutput: KernelLowering = (ctx) =>
  emitOut(ctx, 'Reshape', [ctx.inputs[0].name, ctx.b.int64s(output(ctx).shape)]);

function wrapAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

const transpose: KernelLowering = (ctx) => {
  const perm = ctx.attrs.perm;
  if (!Array.isArray(perm)) throw new Error('Transpose: attribute perm must be a list');
  emitOut(ctx, 'Transpose', [input(ctx, 'x').name], { perm: attr.ints(perm as number[]) });
};

const pack: KernelLowering = (ctx) => {
  const out = output(ctx);
  const axis = wrapAxis(numAttr(ctx, 'axis'), out.shape.length);
  const axes = ctx.b.int64s([axis]);
  const expanded = ctx.inputs.map((i) => ctx.b.op('Unsqueeze', [i.name, axes]));
  if (expanded.length === 1) emitOut(ctx, 'Identity', expanded);
  else emitOut(ctx, 'Concat', expanded, { axis: attr.int(axis) });
};

const unpack: KernelLowering = (ctx) => {
  const xi = input(ctx, 'value');
  const axis = wrapAxis(numAttr(ctx, 'axis'), xi.shape.length);
  const n = ctx.outputs.length;
  const pieces = ctx.b.node(
    'Split',
    [xi.name, ctx.b.int64s(new Array<number>(n).fill(1))],
    { axis: attr.int(axis) },
    n,
  );
  const axes = ctx.b.int64s([axis]);
  pieces.forEach((p, i) => ctx.b.op('Squeeze', [p, axes], {}, ctx.outputs[i].name));
};

const concat: KernelLowering = (ctx) => {
  const out = output(ctx);
  const axis = wrapAxis(numAttr(ctx, 'axis'), out.shape.length);
  const parts = ctx.inputs.filter((i) => tf.util.sizeFromShape(i.shape) > 0).map((i) => i.name);
  if (parts.length === 0) throw new UnsupportedKernelError('Concat', 'all inputs are empty');
  if (parts.length === 1) emitOut(ctx, 'Identity', parts);
  else emitOut(ctx, 'Concat', parts, { axis: attr.int(axis) });
};

function sliceNode(
  ctx: KernelContext,
  x: string,
  starts: number[],
  ends: number[],
  steps: number[],
  into?: string,
): string {
  const axes = starts.map((_, i) => i);
  const b = ctx.b;
  return b.op(
    'Slice',
    [x, b.int64s(starts), b.int64s(ends), b.int64s(axes), b.int64s(steps)],
    {},
    into,
  );
}

const slice: KernelLowering = (ctx) => {
  const xi = input(ctx, 'x');
  const out = output(ctx);
  const rank = xi.shape.length;
  const beginAttr = ctx.attrs.begin;
  const begin =
    typeof beginAttr === 'number'
      ? [beginAttr, ...new Array<number>(rank - 1).fill(0)]
      : [...(beginAttr as number[])];
  while (begin.length < rank) begin.push(0);
  const ends = begin.map((s, i) => s + out.shape[i]);
  sliceNode(ctx, xi.name, begin, ends, new Array<number>(rank).fill(1), out.name);
};

const stridedSlice: KernelLowering = (ctx) => {
  const xi = input(ctx, 'x');
  const out = output(ctx);
  const a = ctx.attrs as Record<string, number | number[]>;
  const info = tf.slice_util.sliceInfo(
    xi.shape,
    a.begin as number[],
    a.end as number[],
    a.strides as number[],
    a.beginMask as number,
    a.endMask as number,
    a.ellipsisMask as number,
    a.newAxisMask as number,
    a.shrinkAxisMask as number,
  );
  const ends = info.end.map((e, i) => (info.strides[i] < 0 && e < 0 ? BEFORE_START : e));
  const sliced = sliceNode(ctx, xi.name, info.begin, ends, info.strides);
  emitOut(ctx, 'Reshape', [sliced, ctx.b.int64s(out.shape)]);
};

const pad: KernelLowering = (ctx) => {
  const xi = input(ctx, 'x');
  const paddings = ctx.attrs.paddings as [number, number][];
  const pads = [...paddings.map((p) => p[0]), ...paddings.map((p) => p[1])];
  const value = typeof ctx.attrs.constantValue === 'number' ? ctx.attrs.constantValue : 0;
  emitOut(ctx, 'Pad', [xi.name, ctx.b.int64s(pads), ctx.b.scalar(value, xi.dtype)], {
    mode: attr.string('constant'),
  });
};

const mirrorPad: KernelLowering = (ctx) => {
  if (ctx.attrs.mode !== 'reflect') {
    throw new UnsupportedKernelError('MirrorPad', `mode '${String(ctx.attrs.mode)}'`);
  }
  const paddings = ctx.attrs.paddings as [number, number][];
  const pads = [...paddings.map((p) => p[0]), ...paddings.map((p) => p[1])];
  emitOut(ctx, 'Pad', [input(ctx, 'x').name, ctx.b.int64s(pads)], { mode: attr.string('reflect') });
};

const tile: KernelLowering = (ctx) =>
  emitOut(ctx, 'Tile', [input(ctx, 'x').name, ctx.b.int64s(ctx.attrs.reps as number[])]);

const reverse: KernelLowering = (ctx) => {
  const xi = input(ctx, 'x');
  const rank = xi.shape.length;
  const raw = ctx.attrs.dims;
  const dims = (typeof raw === 'number' ? [raw] : (raw as number[])).map((d) => wrapAxis(d, rank));
  if (dims.length === 0) {
    emitOut(ctx, 'Identity', [xi.name]);
    return;
  }
  const b = ctx.b;
  emitOut(ctx, 'Slice', [
    xi.name,
    b.int64s(dims.map(() => -1)),
    b.int64s(dims.map(() => BEFORE_START)),
    b.int64s(dims),
    b.int64s(dims.map(() => -1)),
  ]);
};

const broadcastTo: KernelLowering = (ctx) =>
  emitOut(ctx, 'Expand', [input(ctx, 'x').name, ctx.b.int64s(output(ctx).shape)]);

const splitV: KernelLowering = (ctx) => {
  const xi = input(ctx, 'x');
  const axis = wrapAxis(numAttr(ctx, 'axis'), xi.shape.length);
  const sizes = ctx.outputs.map((o) => o.shape[axis]);
  ctx.b.node(
    'Split',
    [xi.name, ctx.b.int64s(sizes)],
    { axis: attr.int(axis) },
    ctx.outputs.map((o) => o.name),
  );
};

const gather: KernelLowering = (ctx) => {
  const xi = input(ctx, 'x');
  const batchDims = typeof ctx.attrs.batchDims === 'number' ? ctx.attrs.batchDims : 0;
  const axis = wrapAxis(numAttr(ctx, 'axis'), xi.shape.length);
  if (batchDims !== 0) {
    batchGather(ctx, wrapAxis(batchDims, input(ctx, 'indices').shape.length), axis);
    return;
  }
  const gathered = ctx.b.op('Gather', [xi.name, input(ctx, 'indices').name], {
    axis: attr.int(axis),
  });
  emitOut(ctx, 'Reshape', [gathered, ctx.b.int64s(output(ctx).shape)]);
};

/** Σ of rows of x per segment id: ScatterND(add) of x into zeros [numSegments, ...]. */
const unsortedSegmentSum: KernelLowering = (ctx) => {
  const { b } = ctx;
  const xi = input(ctx, 'x');
  const ids = input(ctx, 'segmentIds');
  const out = output(ctx);
  const idRank = ids.shape.length;
  const rows = tf.util.sizeFromShape(ids.shape);
  const rest = xi.shape.slice(idRank);
  const flatX = b.op('Reshape', [xi.name, b.int64s([rows, ...rest])]);
  const idx = b.op('Reshape', [b.op('Cast', [ids.name], { to: attr.int(7) }), b.int64s([rows, 1])]);
  const zeros = b.op('Expand', [b.scalar(0, out.dtype), b.int64s(out.shape)]);
  emitOut(ctx, 'ScatterND', [zeros, idx, flatX], { reduction: attr.string('add') });
};

/** OneHot as Equal(indices, range) so out-of-range (and negative) indices give all off. */
const oneHot: KernelLowering = (ctx) => {
  const { b } = ctx;
  const idx = input(ctx, 'indices');
  const out = output(ctx);
  const depth = numAttr(ctx, 'depth');
  const range = b.constant(
    Int32Array.from({ length: depth }, (_, i) => i),
    [depth],
    'int32',
  );
  const asInt = idx.dtype === 'int32' ? idx.name : b.op('Cast', [idx.name], { to: attr.int(6) });
  const hit = b.op('Equal', [b.op('Unsqueeze', [asInt, b.int64s([-1])]), range]);
  const on = typeof ctx.attrs.onValue === 'number' ? ctx.attrs.onValue : 1;
  const off = typeof ctx.attrs.offValue === 'number' ? ctx.attrs.offValue : 0;
  emitOut(ctx, 'Where', [hit, b.scalar(on, out.dtype), b.scalar(off, out.dtype)]);
};

/** Range has no tensor inputs: its values are a constant. */
const range: KernelLowering = (ctx) => {
  const out = output(ctx);
  const start = numAttr(ctx, 'start');
  const stepSize = numAttr(ctx, 'step');
  const values = Array.from(
    { length: tf.util.sizeFromShape(out.shape) },
    (_, i) => start + i * stepSize,
  );
  emitOut(ctx, 'Identity', [ctx.b.constant(values, out.shape, out.dtype as 'float32' | 'int32')]);
};

const einsum: KernelLowering = (ctx) =>
  emitOut(
    ctx,
    'Einsum',
    ctx.inputs.map((i) => i.name),
    { equation: attr.string(String(ctx.attrs.equation)) },
  );

export const SHAPE_KERNELS: Record<string, KernelLowering> = {
  Reshape: reshapeToOutput,
  Squeeze: reshapeToOutput,
  ExpandDims: reshapeToOutput,
  Transpose: transpose,
  Pack: pack,
  Unpack: unpack,
  Concat: concat,
  Slice: slice,
  StridedSlice: stridedSlice,
  PadV2: pad,
  MirrorPad: mirrorPad,
  Tile: tile,
  Reverse: reverse,
  BroadcastTo: broadcastTo,
  SplitV: splitV,
  GatherV2: gather,
  UnsortedSegmentSum: unsortedSegmentSum,
  OneHot: oneHot,
  Range: range,
  Einsum: einsum,
};
