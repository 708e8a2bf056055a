/**
 * What a kernel lowering sees: one recorded tfjs kernel call (attributes, input and output shapes
 * and dtypes, all static) and the graph builder to emit ONNX nodes into. A lowering must write
 * every output under the name `ctx.outputs[i].name`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { AttrValue, GraphBuilder } from '../graph_builder.js';

/** One tensor of a kernel call in the ONNX graph. */
export interface LoweredTensor {
  /** ONNX value name. */
  name: string;
  shape: number[];
  dtype: tf.DataType;
}

export interface KernelContext {
  readonly b: GraphBuilder;
  readonly kernelName: string;
  /**
   * The tfjs backend the call was recorded on ('cpu' or 'wasm'). Lowerings reproduce that
   * backend's eager result; where backends disagree they may branch on it (none does today: the
   * resize gradients, the last case, agree since cpu's were replaced by exact adjoints).
   */
  readonly traceBackend: string;
  readonly attrs: Readonly<Record<string, unknown>>;
  /** Inputs in the kernel's order, with the kernel's input names. */
  readonly inputs: readonly (LoweredTensor & { key: string })[];
  readonly outputs: readonly LoweredTensor[];
  /**
   * The channels-first (NC…) form of the rank-≥3 input `key`: its own name when its producer
   * wrote it channels-first, else a Transpose made once per value. For lowerings of kernels that
   * ONNX computes channels-first (convolutions, pooling); see ../layout.ts.
   */
  channelsFirst(key: string): string;
  /**
   * Input `key` broadcast against a rank-`rank` channels-first tensor: a rank-`rank` input is
   * {@link channelsFirst}; a lower-rank one is aligned numpy-style to rank `rank` and permuted
   * (`[C]` becomes `[1, C, 1, 1]`).
   */
  channelsFirstOperand(key: string, rank: number): string;
  /**
   * Name under which the lowering writes output `i` (default 0) channels-first instead of
   * `outputs[i].name`; consumers that need the tfjs layout get it transposed back on demand.
   */
  channelsFirstOutput(i?: number): string;
  /**
   * The values of input `key` when it is a constant of the traced function (inference and export
   * graphs hold their weights so), else null: a lowering may then change its layout when the
   * graph is built instead of at run time.
   */
  constantValues(key: string): tf.TypedArray | null;
}

/**
 * Emits the ONNX nodes computing one kernel call. Optionally declares that the kernel's output
 * shape depends on input VALUES (not only on input shapes and attributes): such a call is refused
 * at compile time, since the graph would bake in the shape of the traced run. Default: static.
 */
export type KernelLowering = ((ctx: KernelContext) => void) & {
  readonly valueDependentShape?: ValueDependence;
};

/** `true`, or a predicate on the call's attributes (e.g. NMS is static when padded). */
export type ValueDependence = boolean | ((attrs: Readonly<Record<string, unknown>>) => boolean);

/** Thrown when a kernel call uses a variant the lowering does not cover (the step runs eagerly). */
export class UnsupportedKernelError extends Error {
  override name = 'UnsupportedKernelError';
  constructor(kernelName: string, detail: string) {
    super(`${kernelName}: ${detail}`);
  }
}

/** The input named `key` (throws naming the kernel when absent). */
export function input(ctx: KernelContext, key: string): LoweredTensor {
  const found = ctx.inputs.find((i) => i.key === key);
  if (!found) {
    throw new Error(
      `${ctx.kernelName}: no input '${key}' (has: ${ctx.inputs.map((i) => i.key).join(', ')})`,
    );
  }
  return found;
}

/** The input named `key`, or null. */
export function optionalInput(ctx: KernelContext, key: string): LoweredTensor | null {
  return ctx.inputs.find((i) => i.key === key) ?? null;
}

/** The single output. */
export function output(ctx: KernelContext): LoweredTensor {
  if (ctx.outputs.length !== 1) {
    throw new Error(`${ctx.kernelName}: expected one output, got ${ctx.outputs.length}`);
  }
  return ctx.outputs[0];
}

/** A numeric attribute (throws naming the kernel and attribute when missing). */
export function numAttr(ctx: KernelContext, name: string): number {
  const v = ctx.attrs[name];
  if (typeof v !== 'number') {
    throw new Error(`${ctx.kernelName}: attribute '${name}' must be a number, got ${String(v)}`);
  }
  return v;
}

/** A number-or-tuple attribute expanded to `n` entries (tfjs accepts both for strides etc.). */
export function tupleAttr(ctx: KernelContext, name: string, n: number, dflt?: number): number[] {
  const v = ctx.attrs[name] ?? dflt;
  if (typeof v === 'number') return new Array<number>(n).fill(v);
  if (Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number')) return [...v];
  throw new Error(`${ctx.kernelName}: attribute '${name}' must be a number or ${n} numbers`);
}

/** Normalised reduction axes: null/undefined = all, negatives wrapped, sorted, unique. */
export function axesAttr(value: unknown, rank: number, kernelName: string): number[] {
  if (value === null || value === undefined) return [...Array(rank).keys()];
  const list = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(list) || !list.every((a) => typeof a === 'number')) {
    throw new Error(`${kernelName}: axis must be a number or a list of numbers`);
  }
  const out = new Set<number>();
  for (const a of list) {
    const w = a < 0 ? a + rank : a;
    if (w < 0 || w >= rank)
      throw new Error(`${kernelName}: axis ${a} is out of range for rank ${rank}`);
    out.add(w);
  }
  return [...out].sort((x, y) => x - y);
}

/** Emits a node writing into the single output of the call. */
export function emitOut(
  ctx: KernelContext,
  opType: string,
  inputs: string[],
  attrs: Record<string, AttrValue> = {},
): void {
  ctx.b.op(opType, inputs, attrs, output(ctx).name);
}

/** ONNX Transpose permutation for channels-last → channels-first of a rank-`r` tensor. */
export function toChannelsFirst(rank: number): number[] {
  return [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
}

/** ONNX Transpose permutation for channels-first → channels-last. */
export function toChannelsLast(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
}
