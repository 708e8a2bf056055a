/**
 * Selection kernels: TopK, GatherV2 with batch dimensions, GatherNd, ScatterNd,
 * TensorScatterUpdate and Cumsum.
 *
 *  - TopK: ONNX TopK (largest, sorted), which like tfjs puts the lower index first among equal
 *    values; indices cast to int32. tfjs's unsorted variant is refused.
 *  - GatherV2 with batchDims b (gather axis a ≥ b): the batch axes and axis a are brought
 *    together and flattened, each batch's indices offset by batch·x.shape[a], one plain Gather,
 *    then the axes between b and a are moved behind the index axes (tfjs output order
 *    x.shape[:a] + indices.shape[b:] + x.shape[a+1:]).
 *  - GatherNd / ScatterNd / TensorScatterUpdate: ONNX GatherND / ScatterND (int64 indices);
 *    ScatterNd sums duplicate indices into zeros (reduction 'add'), as tfjs.
 *  - Cumsum: ONNX CumSum with tfjs's exclusive / reverse flags (its gradient is a Cumsum with
 *    reverse flipped).
 */
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

const INT64 = 7;
const INT32 = 6;

function wrap(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function int64(ctx: KernelContext, name: string, dtype: string): string {
  return dtype === 'int64' ? name : ctx.b.op('Cast', [name], { to: attr.int(INT64) });
}

const topK: KernelLowering = (ctx) => {
  const x = input(ctx, 'x');
  if (ctx.attrs.sorted === false) {
    throw new UnsupportedKernelError('TopK', 'sorted: false (order unspecified in tfjs)');
  }
  const k = numAttr(ctx, 'k');
  const [values, indices] = ctx.outputs;
  const idx64 = ctx.b.reserve(`${indices.name}_i64`);
  ctx.b.node(
    'TopK',
    [x.name, ctx.b.int64s([k])],
    { axis: attr.int(-1), largest: attr.int(1), sorted: attr.int(1) },
    [values.name, idx64],
  );
  ctx.b.op('Cast', [idx64], { to: attr.int(INT32) }, indices.name);
};

/** GatherV2 with batchDims > 0 (see the module comment). */
export function batchGather(ctx: KernelContext, batchDims: number, axis: number): void {
  const { b } = ctx;
  const x = input(ctx, 'x');
  const indices = input(ctx, 'indices');
  const xs = x.shape;
  const batchShape = xs.slice(0, batchDims);
  const batch = batchShape.reduce((p, q) => p * q, 1);
  const mid = xs.slice(batchDims, axis);
  const rest = xs.slice(axis + 1);
  const idxShape = indices.shape.slice(batchDims);
  // x → [batch·x.shape[a], mid..., rest...]
  const perm = [
    ...batchShape.map((_, i) => i),
    axis,
    ...mid.map((_, i) => batchDims + i),
    ...rest.map((_, i) => axis + 1 + i),
  ];
  const moved = b.op('Transpose', [x.name], { perm: attr.ints(perm) });
  const flat = b.op('Reshape', [moved, b.int64s([batch * xs[axis], ...mid, ...rest])]);
  const offsets = Array.from({ length: batch }, (_, i) => i * xs[axis]);
  const offsetShape = [batch, ...idxShape.map(() => 1)];
  const idx = b.op('Add', [
    b.op('Reshape', [int64(ctx, indices.name, indices.dtype), b.int64s([batch, ...idxShape])]),
    b.constant(offsets, offsetShape, 'int64'),
  ]);
  // [batch, idx..., mid..., rest...] → [batch..., mid..., idx..., rest...]
  const gathered = b.op('Gather', [flat, idx], { axis: attr.int(0) });
  const nIdx = idxShape.length;
  const back = [
    0,
    ...mid.map((_, i) => 1 + nIdx + i),
    ...idxShape.map((_, i) => 1 + i),
    ...rest.map((_, i) => 1 + nIdx + mid.length + i),
  ];
  const ordered = b.op('Transpose', [gathered], { perm: attr.ints(back) });
  emitOut(ctx, 'Reshape', [ordered, b.int64s(output(ctx).shape)]);
}

const gatherNd: KernelLowering = (ctx) => {
  const params = input(ctx, 'params');
  const indices = input(ctx, 'indices');
  emitOut(ctx, 'GatherND', [params.name, int64(ctx, indices.name, indices.dtype)]);
};

const scatterNd: KernelLowering = (ctx) => {
  const indices = input(ctx, 'indices');
  const updates = input(ctx, 'updates');
  const out = output(ctx);
  const zeros = ctx.b.op('Expand', [ctx.b.scalar(0, updates.dtype), ctx.b.int64s(out.shape)]);
  emitOut(ctx, 'ScatterND', [zeros, int64(ctx, indices.name, indices.dtype), updates.name], {
    reduction: attr.string('add'),
  });
};

const tensorScatterUpdate: KernelLowering = (ctx) => {
  const tensor = input(ctx, 'tensor');
  const indices = input(ctx, 'indices');
  const updates = input(ctx, 'updates');
  emitOut(ctx, 'ScatterND', [tensor.name, int64(ctx, indices.name, indices.dtype), updates.name]);
};

const cumsum: KernelLowering = (ctx) => {
  const x = input(ctx, 'x');
  const axis = wrap(numAttr(ctx, 'axis'), x.shape.length);
  emitOut(ctx, 'CumSum', [x.name, ctx.b.scalar(axis, 'int64')], {
    exclusive: attr.int(ctx.attrs.exclusive ? 1 : 0),
    reverse: attr.int(ctx.attrs.reverse ? 1 : 0),
  });
};

export const SELECT_KERNELS: Record<string, KernelLowering> = {
  TopK: topK,
  GatherNd: gatherNd,
  ScatterNd: scatterNd,
  TensorScatterUpdate: tensorScatterUpdate,
  Cumsum: cumsum,
};
