/**
 * Elementwise kernels: unary maths and activations (with the gradient kernels tfjs registers for
 * them), binary arithmetic and comparisons (ONNX broadcasting is numpy's, as tfjs's), Select,
 * Cast, Identity, fills and AddN.
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

const x = (ctx: KernelContext) => input(ctx, 'x').name;

/** A kernel that is one ONNX op on input `x`. */
const unary =
  (opType: string): KernelLowering =>
  (ctx) =>
    emitOut(ctx, opType, [x(ctx)]);

/** A kernel that is one ONNX op on inputs `a`, `b`. */
const binary =
  (opType: string): KernelLowering =>
  (ctx) =>
    emitOut(ctx, opType, [input(ctx, 'a').name, input(ctx, 'b').name]);

/**
 * tfjs Step: 1 where x > 0, else `alpha` (NaN stays NaN). With alpha 0 (ReLU's gradient) it is
 * Relu(Sign(x)): two streaming passes instead of four (ORT's Sign keeps NaN and gives 1 for
 * positive denormals; test/engine/kernels.test.ts pins NaN, ±inf, ±0 and denormals).
 */
const step: KernelLowering = (ctx) => {
  const { b } = ctx;
  const xi = input(ctx, 'x');
  const alpha = typeof ctx.attrs.alpha === 'number' ? ctx.attrs.alpha : 0;
  if (alpha === 0 && xi.dtype === 'float32') {
    emitOut(ctx, 'Relu', [b.op('Sign', [xi.name])]);
    return;
  }
  const positive = b.op('Greater', [xi.name, b.scalar(0, xi.dtype)]);
  const stepped = b.op('Where', [positive, b.scalar(1, xi.dtype), b.scalar(alpha, xi.dtype)]);
  emitOut(ctx, 'Where', [b.op('IsNaN', [xi.name]), xi.name, stepped]);
};

/** Binary with the operands cast to float32 and the result floored (int FloorDiv). */
const floorDiv: KernelLowering = (ctx) => {
  const { b } = ctx;
  const out = output(ctx);
  const a = input(ctx, 'a');
  const bb = input(ctx, 'b');
  if (a.dtype === 'float32') {
    emitOut(ctx, 'Floor', [b.op('Div', [a.name, bb.name])]);
    return;
  }
  const fa = b.op('Cast', [a.name], { to: attr.int(1) });
  const fb = b.op('Cast', [bb.name], { to: attr.int(1) });
  const floored = b.op('Floor', [b.op('Div', [fa, fb])]);
  emitOut(ctx, 'Cast', [floored], { to: attr.int(out.dtype === 'int32' ? 6 : 1) });
};

const castTo: Record<string, number> = { float32: 1, int32: 6, bool: 9 };

const cast: KernelLowering = (ctx) => {
  const to = castTo[String(ctx.attrs.dtype)];
  if (to === undefined)
    throw new UnsupportedKernelError('Cast', `to dtype ${String(ctx.attrs.dtype)}`);
  emitOut(ctx, 'Cast', [x(ctx)], { to: attr.int(to) });
};

/** A tensor of the output's shape filled with `value`. */
function filled(ctx: KernelContext, value: number): void {
  const out = output(ctx);
  emitOut(ctx, 'Expand', [ctx.b.scalar(value, out.dtype), ctx.b.int64s(out.shape)]);
}

const fill: KernelLowering = (ctx) => {
  const value = ctx.attrs.value;
  if (typeof value !== 'number') throw new UnsupportedKernelError('Fill', 'non-numeric fill value');
  filled(ctx, value);
};

const eluGrad: KernelLowering = (ctx) => {
  const { b } = ctx;
  const dy = input(ctx, 'dy').name;
  const y = input(ctx, 'y').name;
  const nonNeg = b.op('GreaterOrEqual', [y, b.scalar(0, 'float32')]);
  const scaled = b.op('Mul', [dy, b.op('Add', [y, b.scalar(1, 'float32')])]);
  emitOut(ctx, 'Where', [nonNeg, dy, scaled]);
};

/** Select(condition, t, e); a rank-1 condition picks whole rows of t / e (tfjs semantics). */
const select: KernelLowering = (ctx) => {
  const { b } = ctx;
  const c = input(ctx, 'condition');
  const t = input(ctx, 't');
  let cond = c.name;
  if (c.shape.length === 1 && t.shape.length > 1) {
    cond = b.op('Reshape', [
      c.name,
      b.int64s([c.shape[0], ...new Array<number>(t.shape.length - 1).fill(1)]),
    ]);
  }
  emitOut(ctx, 'Where', [cond, t.name, input(ctx, 'e').name]);
};

const clip: KernelLowering = (ctx) => {
  const xi = input(ctx, 'x');
  emitOut(ctx, 'Clip', [
    xi.name,
    ctx.b.scalar(numAttr(ctx, 'clipValueMin'), xi.dtype),
    ctx.b.scalar(numAttr(ctx, 'clipValueMax'), xi.dtype),
  ]);
};

const addN: KernelLowering = (ctx) => {
  const names = ctx.inputs.map((i) => i.name);
  if (names.length === 1) emitOut(ctx, 'Identity', names);
  else emitOut(ctx, 'Sum', names);
};

/** Softplus as tfjs computes it: log(1 + exp(x)) with the large/small-x shortcuts. */
const softplus: KernelLowering = (ctx) => emitOut(ctx, 'Softplus', [x(ctx)]);

export const ELEMENTWISE_KERNELS: Record<string, KernelLowering> = {
  Abs: unary('Abs'),
  Acos: unary('Acos'),
  Asin: unary('Asin'),
  Atan: unary('Atan'),
  Ceil: unary('Ceil'),
  Cos: unary('Cos'),
  Cosh: unary('Cosh'),
  Elu: unary('Elu'),
  Erf: unary('Erf'),
  Exp: unary('Exp'),
  Floor: unary('Floor'),
  Identity: unary('Identity'),
  IsNan: unary('IsNaN'),
  Log: unary('Log'),
  LogicalNot: unary('Not'),
  Neg: unary('Neg'),
  Reciprocal: unary('Reciprocal'),
  Relu: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  Sign: unary('Sign'),
  Sin: unary('Sin'),
  Sinh: unary('Sinh'),
  Sqrt: unary('Sqrt'),
  Tan: unary('Tan'),
  Tanh: unary('Tanh'),
  Softplus: softplus,
  Expm1: (ctx) => emitOut(ctx, 'Sub', [ctx.b.op('Exp', [x(ctx)]), ctx.b.scalar(1, 'float32')]),
  Log1p: (ctx) => emitOut(ctx, 'Log', [ctx.b.op('Add', [x(ctx), ctx.b.scalar(1, 'float32')])]),
  Rsqrt: (ctx) => emitOut(ctx, 'Reciprocal', [ctx.b.op('Sqrt', [x(ctx)])]),
  Square: (ctx) => emitOut(ctx, 'Mul', [x(ctx), x(ctx)]),
  Relu6: (ctx) =>
    emitOut(ctx, 'Clip', [x(ctx), ctx.b.scalar(0, 'float32'), ctx.b.scalar(6, 'float32')]),
  LeakyRelu: (ctx) =>
    emitOut(ctx, 'LeakyRelu', [x(ctx)], { alpha: attr.float(numAttr(ctx, 'alpha')) }),
  Prelu: (ctx) => emitOut(ctx, 'PRelu', [x(ctx), input(ctx, 'alpha').name]),
  Selu: unary('Selu'),
  Step: step,
  EluGrad: eluGrad,
  ClipByValue: clip,
  Cast: cast,
  Add: binary('Add'),
  Sub: binary('Sub'),
  Multiply: binary('Mul'),
  RealDiv: binary('Div'),
  Pow: binary('Pow'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Equal: binary('Equal'),
  Greater: binary('Greater'),
  GreaterEqual: binary('GreaterOrEqual'),
  Less: binary('Less'),
  LessEqual: binary('LessOrEqual'),
  LogicalAnd: binary('And'),
  LogicalOr: binary('Or'),
  NotEqual: (ctx) =>
    emitOut(ctx, 'Not', [ctx.b.op('Equal', [input(ctx, 'a').name, input(ctx, 'b').name])]),
  FloorDiv: floorDiv,
  SquaredDifference: (ctx) => {
    const d = ctx.b.op('Sub', [input(ctx, 'a').name, input(ctx, 'b').name]);
    emitOut(ctx, 'Mul', [d, d]);
  },
  Select: select,
  AddN: addN,
  Fill: fill,
  ZerosLike: (ctx) => filled(ctx, 0),
  OnesLike: (ctx) => filled(ctx, 1),
};
