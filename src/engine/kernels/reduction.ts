/**
 * Reductions (Sum, Mean, Max, Min, Prod, All, Any, ArgMax, ArgMin), Softmax / LogSoftmax and the
 * inference batch-norm kernel. In opset 17 ReduceSum takes its axes as an input; ReduceMean,
 * ReduceMax, ReduceMin and ReduceProd take them as an attribute.
 */
import { attr } from '../graph_builder.js';
import {
  axesAttr,
  emitOut,
  input,
  optionalInput,
  output,
  type KernelContext,
  type KernelLowering,
} from './context.js';

function reduceAxes(ctx: KernelContext, attrName: string): number[] {
  return axesAttr(ctx.attrs[attrName], input(ctx, 'x').shape.length, ctx.kernelName);
}

function keepDims(ctx: KernelContext): number {
  return ctx.attrs.keepDims ? 1 : 0;
}

/** Reduces `x` (already of the output's dtype) over `axes` into the call's output. */
function reduceInto(ctx: KernelContext, opType: string, xName: string, axes: number[]): void {
  if (axes.length === 0) {
    emitOut(ctx, 'Identity', [xName]);
    return;
  }
  const keep = { keepdims: attr.int(keepDims(ctx)) };
  if (opType === 'ReduceSum') emitOut(ctx, opType, [xName, ctx.b.int64s(axes)], keep);
  else emitOut(ctx, opType, [xName], { ...keep, axes: attr.ints(axes) });
}

const reduce =
  (opType: string, attrName: string): KernelLowering =>
  (ctx) => {
    const xi = input(ctx, 'x');
    const out = output(ctx);
    let xName = xi.name;
    // tfjs sums bool and int32 into int32.
    if (xi.dtype !== out.dtype)
      xName = ctx.b.op('Cast', [xName], { to: attr.int(out.dtype === 'int32' ? 6 : 1) });
    reduceInto(ctx, opType, xName, reduceAxes(ctx, attrName));
  };

/** All / Any over bool: min / max of the values as int32, cast back to bool. */
const logicalReduce =
  (opType: string): KernelLowering =>
  (ctx) => {
    const { b } = ctx;
    const xi = input(ctx, 'x');
    const axes = reduceAxes(ctx, 'axis');
    const asInt = b.op('Cast', [xi.name], { to: attr.int(6) });
    const reduced =
      axes.length === 0
        ? asInt
        : b.op(opType, [asInt], { axes: attr.ints(axes), keepdims: attr.int(keepDims(ctx)) });
    emitOut(ctx, 'Cast', [reduced], { to: attr.int(9) });
  };

const argReduce =
  (opType: string): KernelLowering =>
  (ctx) => {
    const xi = input(ctx, 'x');
    const [axis] = axesAttr(ctx.attrs.axis, xi.shape.length, ctx.kernelName);
    const idx = ctx.b.op(opType, [xi.name], {
      axis: attr.int(axis),
      keepdims: attr.int(0),
      select_last_index: attr.int(0),
    });
    emitOut(ctx, 'Cast', [idx], { to: attr.int(6) });
  };

const softmaxLike =
  (opType: string, axisAttr: string): KernelLowering =>
  (ctx) => {
    const logits = input(ctx, 'logits');
    const raw = ctx.attrs[axisAttr];
    const rank = logits.shape.length;
    const axis = typeof raw === 'number' ? (raw < 0 ? raw + rank : raw) : rank - 1;
    emitOut(ctx, opType, [logits.name], { axis: attr.int(axis) });
  };

/**
 * FusedBatchNorm (inference form): x·a + b with a = scale·rsqrt(var + ε), b = offset − mean·a
 * (tfjs computes (x − mean)·rsqrt(var + ε)·scale + offset; the two agree to float rounding). The
 * multiply-add form is what ORT folds into a preceding Conv when the statistics are constants,
 * so an inference graph's batch norms cost nothing at run time.
 */
const fusedBatchNorm: KernelLowering = (ctx) => {
  const { b } = ctx;
  const eps = typeof ctx.attrs.varianceEpsilon === 'number' ? ctx.attrs.varianceEpsilon : 0.001;
  const mean = input(ctx, 'mean').name;
  const variance = input(ctx, 'variance').name;
  const scale = optionalInput(ctx, 'scale');
  const offset = optionalInput(ctx, 'offset');
  let a = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, b.scalar(eps, 'float32')])])]);
  if (scale) a = b.op('Mul', [a, scale.name]);
  const shift = b.op('Mul', [mean, a]);
  const bias = offset ? b.op('Sub', [offset.name, shift]) : b.op('Neg', [shift]);
  emitOut(ctx, 'Add', [b.op('Mul', [input(ctx, 'x').name, a]), bias]);
};

export const REDUCTION_KERNELS: Record<string, KernelLowering> = {
  Sum: reduce('ReduceSum', 'axis'),
  Mean: reduce('ReduceMean', 'axis'),
  Max: reduce('ReduceMax', 'reductionIndices'),
  Min: reduce('ReduceMin', 'axis'),
  Prod: reduce('ReduceProd', 'axis'),
  All: logicalReduce('ReduceMin'),
  Any: logicalReduce('ReduceMax'),
  ArgMax: argReduce('ArgMax'),
  ArgMin: argReduce('ArgMin'),
  Softmax: softmaxLike('Softmax', 'dim'),
  LogSoftmax: softmaxLike('LogSoftmax', 'axis'),
  FusedBatchNorm: fusedBatchNorm,
};
