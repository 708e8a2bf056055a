/**
 * BatchMatMul and _FusedMatMul (matmul + bias + activation). ONNX MatMul broadcasts leading
 * (batch) dims as tfjs's BatchMatMul does; transposes of the two inner dims become Transpose nodes.
 */
import { attr } from '../graph_builder.js';
import {
  input,
  optionalInput,
  output,
  UnsupportedKernelError,
  type KernelContext,
  type KernelLowering,
  type LoweredTensor,
} from './context.js';

function innerTranspose(ctx: KernelContext, t: LoweredTensor): string {
  const r = t.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return ctx.b.op('Transpose', [t.name], { perm: attr.ints(perm) });
}

/** a·b with the kernel's transpose flags; returns the product's name (shape of the output). */
function product(ctx: KernelContext, into?: string): string {
  const a = input(ctx, 'a');
  const b = input(ctx, 'b');
  const an = ctx.attrs.transposeA ? innerTranspose(ctx, a) : a.name;
  const bn = ctx.attrs.transposeB ? innerTranspose(ctx, b) : b.name;
  const out = output(ctx);
  const prod = ctx.b.op('MatMul', [an, bn]);
  // tfjs reports the broadcast batch shape; make the ONNX value match it exactly.
  return ctx.b.op('Reshape', [prod, ctx.b.int64s(out.shape)], {}, into);
}

/**
 * Applies a tfjs fused activation (`linear`, `relu`, `relu6`, `elu`, `sigmoid`, `leakyrelu`,
 * `prelu`) to `x`, writing `into`. `preluAlpha` overrides the name of the prelu weights input
 * (a channels-first caller passes them permuted).
 */
export function fusedActivation(
  ctx: KernelContext,
  x: string,
  into: string,
  preluAlpha?: string,
): void {
  const { b } = ctx;
  const activation = String(ctx.attrs.activation ?? 'linear');
  switch (activation) {
    case 'linear':
      b.op('Identity', [x], {}, into);
      return;
    case 'relu':
      b.op('Relu', [x], {}, into);
      return;
    case 'relu6':
      b.op('Clip', [x, b.scalar(0, 'float32'), b.scalar(6, 'float32')], {}, into);
      return;
    case 'elu':
      b.op('Elu', [x], {}, into);
      return;
    case 'sigmoid':
      b.op('Sigmoid', [x], {}, into);
      return;
    case 'leakyrelu': {
      const alpha = typeof ctx.attrs.leakyreluAlpha === 'number' ? ctx.attrs.leakyreluAlpha : 0.2;
      b.op('LeakyRelu', [x], { alpha: attr.float(alpha) }, into);
      return;
    }
    case 'prelu': {
      const alpha = preluAlpha ?? optionalInput(ctx, 'preluActivationWeights')?.name;
      if (!alpha) throw new Error(`${ctx.kernelName}: prelu activation without weights`);
      b.op('PRelu', [x, alpha], {}, into);
      return;
    }
    default:
      throw new UnsupportedKernelError(ctx.kernelName, `activation '${activation}'`);
  }
}

const batchMatMul: KernelLowering = (ctx) => {
  product(ctx, output(ctx).name);
};

const fusedMatMul: KernelLowering = (ctx) => {
  let y = product(ctx);
  const bias = optionalInput(ctx, 'bias');
  if (bias) y = ctx.b.op('Add', [y, bias.name]);
  fusedActivation(ctx, y, output(ctx).name);
};

export const MATMUL_KERNELS: Record<string, KernelLowering> = {
  BatchMatMul: batchMatMul,
  _FusedMatMul: fusedMatMul,
};
