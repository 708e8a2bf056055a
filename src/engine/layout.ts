/**
 * Layout assignment for the lowered graph. tfjs is channels-last (NHWC / NDHWC); ONNX Runtime's
 * convolution and pooling kernels are channels-first (NCHW / NCDHW). Lowering every call in the
 * tfjs layout would put a Transpose pair around each convolution and pooling, forward and
 * backward: 16% of a CIFAR ResNet-18 training step in ORT's profiler before this pass.
 *
 * Instead each traced value may exist in two forms, the tfjs layout and channels-first, each
 * made at most once:
 *  - convolutions and pooling read their activations channels-first and write them
 *    channels-first (`KernelContext.channelsFirst` / `channelsFirstOutput`);
 *  - layout-agnostic kernels run in whichever layout most of their inputs already have:
 *    elementwise kernels (numpy broadcasting; lower-rank operands are aligned and permuted, so a
 *    `[C]` bias becomes `[1, C, 1, 1]`) and reductions (axes renumbered; without keepDims only
 *    when the kept axes keep their order, e.g. Mean over H, W → `[N, C]`) and kernels whose
 *    attributes name axes (Tile, pads, Concat, SplitV, Reverse, Slice: attributes permuted);
 *  - Identity and same-shape Reshape calls are aliases of their input (no node at all);
 *  - everything else (reshapes, slices, matrix products, graph outputs) reads the tfjs layout, and
 *    a value written only channels-first is transposed back once, on first such use.
 * So batch norm, activations, residual adds and their gradients between two convolutions stay
 * channels-first, and a Transpose appears only where the network leaves the conv layout.
 */
import * as tf from '@tensorflow/tfjs-core';
import { attr, type GraphBuilder } from './graph_builder.js';
import { axesAttr, toChannelsFirst, toChannelsLast } from './kernels/context.js';
import type { KernelCall, TracedValue } from './trace.js';

/**
 * Kernels that are elementwise with numpy broadcasting over all inputs (the same lowering works
 * on channels-first operands). Select only when its condition has the output's rank (a rank-1
 * condition picks rows, which is not broadcasting).
 */
export const ELEMENTWISE_KERNELS = new Set([
  'Abs', 'Acos', 'Asin', 'Atan', 'Ceil', 'Cos', 'Cosh', 'Elu', 'Erf', 'Exp', 'Floor', 'Identity',
  'IsNan', 'Log', 'LogicalNot', 'Neg', 'Reciprocal', 'Relu', 'Sigmoid', 'Sign', 'Sin', 'Sinh',
  'Sqrt', 'Tan', 'Tanh', 'Softplus', 'Expm1', 'Log1p', 'Rsqrt', 'Square', 'Relu6', 'LeakyRelu',
  'Prelu', 'Selu', 'Step', 'EluGrad', 'ClipByValue', 'Cast', 'Add', 'Sub', 'Multiply', 'RealDiv',
  'Pow', 'Maximum', 'Minimum', 'Equal', 'Greater', 'GreaterEqual', 'Less', 'LessEqual',
  'LogicalAnd', 'LogicalOr', 'NotEqual', 'FloorDiv', 'SquaredDifference', 'Select', 'AddN',
  'ZerosLike', 'OnesLike', 'FusedBatchNorm',
]); // prettier-ignore

/** Reductions, by the attribute that holds their axes. */
export const REDUCTION_AXIS_ATTR: Readonly<Record<string, string>> = {
  Sum: 'axis',
  Mean: 'axis',
  Max: 'reductionIndices',
  Min: 'axis',
  Prod: 'axis',
  All: 'axis',
  Any: 'axis',
};

/** `attrs` with its single `axis` moved to its channels-first position. */
function withAxis(
  attrs: Readonly<Record<string, unknown>>,
  pos: number[],
): Record<string, unknown> | null {
  const axis = attrs.axis;
  if (typeof axis !== 'number') return null;
  return { ...attrs, axis: pos[axis < 0 ? axis + pos.length : axis] };
}

/**
 * Kernels whose attributes name axes of their rank-R input(s) and output; channels-first they
 * run with the attributes permuted. Values: attrs → attrs for a channels-first position map.
 */
const AXIS_ATTR_KERNELS: Readonly<
  Record<string, (attrs: Readonly<Record<string, unknown>>, perm: number[], pos: number[]) => Record<string, unknown> | null>
> = {
  Tile: (a, perm) => (Array.isArray(a.reps) ? { ...a, reps: permute(a.reps, perm) } : null),
  PadV2: (a, perm) => (Array.isArray(a.paddings) ? { ...a, paddings: permute(a.paddings, perm) } : null),
  MirrorPad: (a, perm) =>
    Array.isArray(a.paddings) ? { ...a, paddings: permute(a.paddings, perm) } : null,
  SplitV: (a, _perm, pos) => withAxis(a, pos),
  Concat: (a, _perm, pos) => withAxis(a, pos),
  Reverse: (a, _perm, pos) => {
    const dims = typeof a.dims === 'number' ? [a.dims] : a.dims;
    if (!Array.isArray(dims)) return null;
    return { ...a, dims: (dims as number[]).map((d) => pos[d < 0 ? d + pos.length : d]) };
  },
  Slice: (a, perm) => {
    const rank = perm.length;
    const begin = typeof a.begin === 'number' ? [a.begin] : a.begin;
    const size = typeof a.size === 'number' ? [a.size] : a.size;
    if (!Array.isArray(begin) || !Array.isArray(size)) return null;
    const full = (v: unknown[], fill: number) => [...v, ...new Array<number>(rank - v.length).fill(fill)];
    return { ...a, begin: permute(full(begin, 0), perm), size: permute(full(size, -1), perm) };
  },
}; // prettier-ignore

/** Ranks that have a channels-first form (2-D and 3-D images with batch and channels). */
export function hasChannelsFirstForm(rank: number): boolean {
  return rank === 4 || rank === 5;
}

/** `shape` permuted by `perm` (output axis i is input axis perm[i]). */
export function permute<T>(shape: readonly T[], perm: readonly number[]): T[] {
  return perm.map((a) => shape[a]);
}

/** Channels-first position of each tfjs-layout axis of a rank-`rank` tensor. */
export function channelsFirstPosition(rank: number): number[] {
  const perm = toChannelsFirst(rank);
  const pos = new Array<number>(rank);
  perm.forEach((a, i) => (pos[a] = i));
  return pos;
}

/** True when permuting `shape` by `perm` moves no bytes (the non-unit dims keep their order). */
function permutationIsReshape(shape: readonly number[], perm: readonly number[]): boolean {
  const nonUnit = (axes: readonly number[]) => axes.filter((a) => shape[a] !== 1).join();
  return nonUnit(perm) === nonUnit([...shape.keys()]);
}

/** True when the channels-first form of `shape` holds the same bytes (a Reshape). */
function relayoutIsFree(shape: readonly number[]): boolean {
  return (
    hasChannelsFirstForm(shape.length) && permutationIsReshape(shape, toChannelsFirst(shape.length))
  );
}

/** True when every dim is 1. */
function allOnes(shape: readonly number[]): boolean {
  return shape.every((d) => d === 1);
}

/**
 * The two forms of every lowered value. `tfjs` names are those the kernel lowerings and graph
 * outputs read; `channelsFirst` names are written by channels-first lowerings. `tfjsOf` makes a
 * value's tfjs-layout name when it has none yet (graph input, constant, view).
 */
export class LayoutNames {
  private readonly tfjs = new Map<number, string>();
  private readonly channelsFirstNames = new Map<number, string>();
  /** Reserved tfjs-layout names of values so far written only channels-first. */
  private readonly pendingTfjs = new Map<number, string>();
  private readonly broadcasts = new Map<string, string>();
  /** Values that are another value under a new id (Identity, same-shape Reshape). */
  private readonly aliases = new Map<number, TracedValue>();

  constructor(
    private readonly b: GraphBuilder,
    private readonly tfjsOf: (v: TracedValue) => string,
  ) {}

  /** Makes `value` share every name of `of` (made before or after). */
  alias(value: TracedValue, of: TracedValue): void {
    this.aliases.set(value.id, this.resolve(of));
  }

  /** The value `v` stands for (itself unless it is an alias). */
  resolve(v: TracedValue): TracedValue {
    return this.aliases.get(v.id) ?? v;
  }

  /** True when the value already exists channels-first (no Transpose needed to read it so). */
  hasChannelsFirst(v: TracedValue): boolean {
    return this.channelsFirstNames.has(this.resolve(v).id);
  }

  setTfjs(id: number, name: string): void {
    this.tfjs.set(id, name);
    this.pendingTfjs.delete(id);
  }

  /** Records that `id` was written channels-first; its tfjs form will go to `reserved`. */
  setChannelsFirst(id: number, name: string, reserved: string): void {
    this.channelsFirstNames.set(id, name);
    if (!this.tfjs.has(id)) this.pendingTfjs.set(id, reserved);
  }

  /**
   * The tfjs-layout name if the value has one or was written channels-first (transposed back on
   * first use); undefined for values not lowered yet.
   */
  knownTfjsName(value: TracedValue): string | undefined {
    const v = this.resolve(value);
    const known = this.tfjs.get(v.id);
    if (known) return known;
    const reserved = this.pendingTfjs.get(v.id);
    const cf = this.channelsFirstNames.get(v.id);
    if (reserved === undefined || cf === undefined) return undefined;
    const shape = permute(v.shape, toChannelsFirst(v.shape.length));
    relayout(this.b, cf, shape, toChannelsLast(v.shape.length), reserved);
    this.setTfjs(v.id, reserved);
    return reserved;
  }

  /**
   * The channels-first name of a rank-4/5 value: made once, by a Transpose of its tfjs form, or
   * for a constant as a channels-first constant (no node at run time).
   */
  channelsFirst(value: TracedValue): string {
    const v = this.resolve(value);
    if (!hasChannelsFirstForm(v.shape.length)) {
      throw new Error(`lowering: a rank-${v.shape.length} value has no channels-first form`);
    }
    const known = this.channelsFirstNames.get(v.id);
    if (known) return known;
    const perm = toChannelsFirst(v.shape.length);
    let name: string;
    if (v.source.kind === 'constant') {
      const values = transposeValues(v.source.values, v.shape, perm);
      name = constantTensor(this.b, values, permute(v.shape, perm), v.dtype);
    } else name = relayout(this.b, this.tfjsOf(v), v.shape, perm);
    this.channelsFirstNames.set(v.id, name);
    return name;
  }

  /**
   * Value `v` as an operand broadcast against a rank-`rank` channels-first tensor: a rank-`rank`
   * value is {@link channelsFirst}; a lower-rank one is aligned to rank `rank` as numpy
   * broadcasting does and permuted: a Reshape when its non-unit dims keep their order (a `[C]`
   * vector becomes `[1, C, 1, 1]`), else Reshape + Transpose.
   */
  broadcastOperand(value: TracedValue, rank: number): string {
    const v = this.resolve(value);
    const shape = v.shape;
    if (shape.length === rank) return this.channelsFirst(v);
    if (shape.length === 0 || allOnes(shape)) return this.tfjsOf(v);
    const key = `${v.id}|${rank}`;
    const known = this.broadcasts.get(key);
    if (known) return known;
    const aligned = [...new Array<number>(rank - shape.length).fill(1), ...shape];
    const b = this.b;
    const out = relayout(
      b,
      b.op('Reshape', [this.tfjsOf(v), b.int64s(aligned)]),
      aligned,
      toChannelsFirst(rank),
    );
    this.broadcasts.set(key, out);
    return out;
  }
}

/**
 * `x` of `shape` permuted by `perm`: a Reshape when the non-unit dims keep their order (the bytes
 * do not move: `[N, 1, 1, C]` ↔ `[N, C, 1, 1]`), else a Transpose.
 */
function relayout(
  b: GraphBuilder,
  x: string,
  shape: readonly number[],
  perm: readonly number[],
  into?: string,
): string {
  if (permutationIsReshape(shape, perm)) {
    return b.op('Reshape', [x, b.int64s(permute(shape, perm))], {}, into);
  }
  return b.op('Transpose', [x], { perm: attr.ints([...perm]) }, into);
}

/** `values` of row-major `shape` permuted by `perm` (output axis i is input axis perm[i]). */
export function transposeValues(
  values: tf.TypedArray,
  shape: readonly number[],
  perm: readonly number[],
): tf.TypedArray {
  const rank = shape.length;
  const srcStrides = [...tf.util.computeStrides(shape as number[]), 1];
  const outShape = permute(shape, perm);
  const out = new (values.constructor as new (n: number) => tf.TypedArray)(values.length);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < values.length; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += index[i] * srcStrides[perm[i]];
    out[o] = values[src];
    for (let i = rank - 1; i >= 0; i--) {
      if (++index[i] < outShape[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

/**
 * Uniform constants from this many elements on become an Expand. Smaller ones (a fresh model's
 * zero / one batch-norm vectors) stay initializers, which ORT folds into neighbouring convs.
 */
const UNIFORM_EXPAND_MIN = 1 << 16;

/**
 * A constant of `shape`: an initializer, or for a large uniform tensor (the `ones(x.shape)` of a
 * mean's gradient) an Expand of one scalar, so the model does not carry megabytes of one value.
 */
export function constantTensor(
  b: GraphBuilder,
  values: tf.TypedArray,
  shape: readonly number[],
  dtype: tf.DataType,
): string {
  const d = dtype as 'float32' | 'int32' | 'bool';
  if (values.length >= UNIFORM_EXPAND_MIN && values.every((x) => x === values[0])) {
    return b.op('Expand', [b.scalar(values[0], d), b.int64s([...shape])]);
  }
  return b.constant(values, [...shape], d);
}

/** How a layout-agnostic call is lowered channels-first (see {@link channelsFirstAdaptation}). */
export interface ChannelsFirstAdaptation {
  /** The call's attributes with axes renumbered. */
  attrs: Readonly<Record<string, unknown>>;
  /** Shapes the lowering sees, per input. */
  inputShapes: number[][];
  /** ONNX name of input k as the lowering must read it. */
  inputName(k: number): string;
  outputShapes: number[][];
  /** Per output: written channels-first (else in the tfjs layout, e.g. a reduction to [N, C]). */
  outputChannelsFirst: boolean[];
}

/**
 * Whether a layout-agnostic call (elementwise or reduction) is lowered channels-first, and how:
 * null keeps the tfjs layout. Elementwise calls go channels-first when at least as many of their
 * full-rank inputs exist channels-first as exist only in the tfjs layout.
 */
export function channelsFirstAdaptation(
  call: KernelCall,
  layouts: LayoutNames,
): ChannelsFirstAdaptation | null {
  if (ELEMENTWISE_KERNELS.has(call.kernelName) || isIdentityReshape(call)) {
    return elementwise(call, layouts);
  }
  if (call.kernelName in AXIS_ATTR_KERNELS) return axisAttributes(call, layouts);
  const axisAttr = REDUCTION_AXIS_ATTR[call.kernelName];
  if (axisAttr) return reduction(call, layouts, axisAttr);
  return null;
}

/**
 * Identity, or a Reshape to the shape it already has (tfjs gradients reshape dy to x's shape):
 * the output is the input under a new id (see {@link LayoutNames.alias}).
 */
export function isIdentityCall(call: KernelCall): boolean {
  if (call.inputs.length !== 1 || call.outputs.length !== 1) return false;
  const [x, y] = [call.inputs[0].value, call.outputs[0]];
  if (x.dtype !== y.dtype) return false;
  return call.kernelName === 'Identity' || isIdentityReshape(call);
}

/**
 * The vote of a layout-agnostic call's inputs: channels-first unless more of them exist only in
 * the tfjs layout than exist channels-first. Constants (made channels-first when the graph is
 * built) and [N, 1, 1, C]-like values (a Reshape) do not vote; with no votes, channels-first.
 */
function votesChannelsFirst(values: readonly TracedValue[], layouts: LayoutNames): boolean {
  let channelsFirst = 0;
  let tfjsOnly = 0;
  for (const v of values) {
    if (v.source.kind === 'constant' || relayoutIsFree(v.shape)) continue;
    if (layouts.hasChannelsFirst(v)) channelsFirst++;
    else tfjsOnly++;
  }
  return channelsFirst >= tfjsOnly;
}

/** A Reshape to the shape it already has. */
function isIdentityReshape(call: KernelCall): boolean {
  return (
    call.kernelName === 'Reshape' &&
    call.inputs.length === 1 &&
    call.outputs.length === 1 &&
    call.inputs[0].value.shape.join() === call.outputs[0].shape.join()
  );
}

function elementwise(call: KernelCall, layouts: LayoutNames): ChannelsFirstAdaptation | null {
  if (call.outputs.length !== 1) return null;
  const rank = call.outputs[0].shape.length;
  if (!hasChannelsFirstForm(rank)) return null;
  if (call.inputs.some((i) => i.value.shape.length > rank)) return null;
  if (call.kernelName === 'Select') {
    const cond = call.inputs.find((i) => i.name === 'condition');
    if (!cond || (cond.value.shape.length !== rank && cond.value.shape.length !== 0)) return null;
  }
  // Only full-size inputs vote: a broadcast operand's layout change is a Reshape.
  const size = tf.util.sizeFromShape(call.outputs[0].shape);
  const voters = call.inputs
    .map((i) => i.value)
    .filter((v) => v.shape.length === rank && tf.util.sizeFromShape(v.shape) === size);
  if (!votesChannelsFirst(voters, layouts)) return null;
  const perm = toChannelsFirst(rank);
  const aligned = (shape: number[]) =>
    shape.length === 0 || allOnes(shape)
      ? shape
      : permute([...new Array<number>(rank - shape.length).fill(1), ...shape], perm);
  return {
    attrs: call.attrs,
    inputShapes: call.inputs.map((i) => aligned(i.value.shape)),
    inputName: (k) => layouts.broadcastOperand(call.inputs[k].value, rank),
    outputShapes: [permute(call.outputs[0].shape, perm)],
    outputChannelsFirst: [true],
  };
}

/**
 * Tile, pads, Concat, SplitV, Reverse and Slice channels-first: every rank-R input is read
 * channels-first, the axis attributes are permuted, the outputs are channels-first. Chosen when at least as many
 * inputs exist channels-first as exist only in the tfjs layout, among those a Transpose would
 * convert (constants and `[N, 1, 1, C]`-like values change layout for free).
 */
function axisAttributes(call: KernelCall, layouts: LayoutNames): ChannelsFirstAdaptation | null {
  const rank = call.outputs[0]?.shape.length ?? 0;
  if (!hasChannelsFirstForm(rank)) return null;
  const inputs = call.inputs.map((i) => i.value);
  if ([...inputs, ...call.outputs].some((v) => v.shape.length !== rank)) return null;
  if (!votesChannelsFirst(inputs, layouts)) return null;
  const perm = toChannelsFirst(rank);
  const attrs = AXIS_ATTR_KERNELS[call.kernelName](call.attrs, perm, channelsFirstPosition(rank));
  if (!attrs) return null;
  return {
    attrs,
    inputShapes: call.inputs.map((i) => permute(i.value.shape, perm)),
    inputName: (k) => layouts.channelsFirst(call.inputs[k].value),
    outputShapes: call.outputs.map((o) => permute(o.shape, perm)),
    outputChannelsFirst: call.outputs.map(() => true),
  };
}

function reduction(
  call: KernelCall,
  layouts: LayoutNames,
  axisAttr: string,
): ChannelsFirstAdaptation | null {
  const x = call.inputs.find((i) => i.name === 'x');
  if (!x || call.inputs.length !== 1 || call.outputs.length !== 1) return null;
  const rank = x.value.shape.length;
  if (!hasChannelsFirstForm(rank) || !layouts.hasChannelsFirst(x.value)) return null;
  const axes = axesAttr(call.attrs[axisAttr], rank, call.kernelName);
  const pos = channelsFirstPosition(rank);
  const keepDims = Boolean(call.attrs.keepDims);
  const kept = [...Array(rank).keys()].filter((a) => !axes.includes(a));
  // Without keepDims the result is in the tfjs layout only if the kept axes keep their order.
  if (!keepDims && !kept.every((a, i) => i === 0 || pos[kept[i - 1]] < pos[a])) return null;
  const perm = toChannelsFirst(rank);
  const out = call.outputs[0].shape;
  return {
    attrs: { ...call.attrs, [axisAttr]: axes.map((a) => pos[a]) },
    inputShapes: [permute(x.value.shape, perm)],
    inputName: () => layouts.channelsFirst(x.value),
    outputShapes: [keepDims ? permute(out, perm) : out],
    outputChannelsFirst: [keepDims],
  };
}
