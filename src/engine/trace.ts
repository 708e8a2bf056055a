/**
 * Kernel tracing: records every tfjs kernel call a function makes while it runs eagerly on the
 * cpu or wasm backend, so the call sequence can be rebuilt as one ONNX graph (./graph_builder.ts).
 *
 * How: {@link installKernelHooks} replaces each kernel registered for the active backend with a
 * wrapper that calls the original and, while a {@link Trace} is active, logs the kernel name, its
 * attributes and the TensorInfos it read and wrote. Only outermost calls are logged: a composed
 * kernel (the wasm training kernels call other wasm kernels) is one call. A tensor is identified
 * by its backend `dataId` plus shape and dtype (the cpu and wasm `Reshape` kernels return their
 * input's dataId with a new shape, so one dataId can carry several "views").
 *
 * The wasm backend is the fast one to trace on: its training kernels (Conv2DBackpropFilter above
 * all) run through XNNPACK, where tfjs-backend-cpu loops over scalars in JavaScript.
 *
 * Every tensor a kernel reads that no traced kernel wrote is classified when first seen:
 *  - an input the caller bound with {@link Trace.bindInput} (weights, slots, batch, lr, step ...);
 *  - a random draw reported by src/core/random_ops.ts (fed fresh on every compiled step);
 *  - otherwise a constant created inside the traced function (`tf.scalar(0.5)`, gradient seeds):
 *    its values are copied at once and become an ONNX initializer.
 * A read of a traced (non-constant) tensor's values from JavaScript during the trace (`dataSync`,
 * `data`, `arraySync`) means the function's control flow or constants may depend on data; the
 * trace records it in {@link Trace.dataReads} and the compiled step refuses to compile it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { activeLayerPath } from '../core/layer.js';
import type { Rng } from '../core/random.js';
import { setRandomObserver, type RandomDraw } from '../core/random_ops.js';
import {
  CONV3D_GROUPED,
  CONV3D_GROUPED_BACKPROP_FILTER,
  CONV3D_GROUPED_BACKPROP_INPUT,
} from '../core/backend/custom/index.js';

/** A tensor seen by the trace: a view (shape, dtype) of one backend buffer. */
export interface TracedValue {
  /** Unique within the trace. */
  readonly id: number;
  readonly shape: number[];
  readonly dtype: tf.DataType;
  readonly source: ValueSource;
}

export type ValueSource =
  | { kind: 'kernel'; call: number; output: number }
  | { kind: 'input'; name: string }
  | { kind: 'random'; index: number }
  | { kind: 'constant'; values: tf.TypedArray }
  /** Same buffer as `of`, read with another shape (a cpu Reshape that shares data). */
  | { kind: 'view'; of: number };

/** One recorded kernel call. Inputs keep the kernel's input names and their order. */
export interface KernelCall {
  readonly index: number;
  readonly kernelName: string;
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly inputs: { name: string; value: TracedValue }[];
  readonly outputs: TracedValue[];
  /** Keras path of the layer whose `apply` made the call; null outside layers (gradients, losses). */
  readonly layer?: string | null;
}

/** A random tensor drawn during the trace, with the stream it came from. */
export interface TracedRandom {
  readonly value: TracedValue;
  readonly shape: number[];
  readonly minval: number;
  readonly maxval: number;
  readonly rng: Rng;
}

interface BufferViews {
  views: TracedValue[];
}

type AnyKernelFunc = tf.KernelConfig['kernelFunc'];

let activeTrace: Trace | null = null;
function activate(trace: Trace | null): void {
  activeTrace = trace;
}

/**
 * Depth of hooked kernel calls in progress. Only outermost calls are recorded: the composed wasm
 * training kernels (src/core/backend/wasm) call other registered kernels' functions, and those
 * inner calls are part of the outer kernel. Reads of data inside a kernel are no data dependence.
 */
let kernelDepth = 0;

/** tfjs backends whose kernels can be traced. */
export const TRACEABLE_BACKENDS = ['cpu', 'wasm'] as const;
export type TraceableBackend = (typeof TRACEABLE_BACKENDS)[number];

function isTraceable(name: string): name is TraceableBackend {
  return (TRACEABLE_BACKENDS as readonly string[]).includes(name);
}

/** What the tracer needs of a tfjs backend object (cpu and wasm both have these). */
interface BackendLike {
  readSync(dataId: object, ...rest: unknown[]): unknown;
  read(dataId: object): Promise<unknown>;
  /** 0 when the backend holds no data for `dataId`. */
  refCount(dataId: object): number;
}

/** Per hooked backend: the original kernel functions and the unpatched synchronous read. */
interface BackendHooks {
  readonly originals: Map<string, AnyKernelFunc>;
  readonly wrappers: WeakSet<AnyKernelFunc>;
  /** The backend's own readSync: a cpu backing array or a copy out of the wasm heap. */
  readonly readSync: (dataId: object) => unknown;
}

const hooks = new Map<TraceableBackend, BackendHooks>();

/** The kernel names wrapped for a backend (for tests and diagnostics). */
export function hookedKernelNames(backendName: TraceableBackend = 'cpu'): string[] {
  return [...(hooks.get(backendName)?.originals.keys() ?? [])];
}

function backendObject(name: TraceableBackend): BackendLike {
  const backend = tf.findBackend(name) as unknown as BackendLike | null;
  if (!backend) {
    throw new Error(
      `engine: the tfjs ${name} backend is not registered; call initBackend('${name}') ` +
        `(or import '@tensorflow/tfjs-backend-${name}') before tracing`,
    );
  }
  return backend;
}

/**
 * Wraps every kernel registered for `backendName` (default: the active backend) and its data
 * reads. Idempotent; kernels registered (or re-registered) later are wrapped on the next call.
 * Outside an active trace the wrappers only forward the call.
 */
export function installKernelHooks(backendName: string = tf.getBackend()): void {
  if (!isTraceable(backendName)) {
    throw new Error(
      `trace: kernels of the tfjs backend '${backendName}' cannot be traced ` +
        `(traceable: ${TRACEABLE_BACKENDS.join(', ')})`,
    );
  }
  let h = hooks.get(backendName);
  if (!h) {
    const backend = backendObject(backendName);
    const readSync = backend.readSync.bind(backend);
    const read = backend.read.bind(backend);
    backend.readSync = (dataId: object, ...rest: unknown[]) => {
      activeTrace?.noteRead(dataId);
      return readSync(dataId, ...rest);
    };
    backend.read = (dataId: object) => {
      activeTrace?.noteRead(dataId);
      return read(dataId);
    };
    h = { originals: new Map(), wrappers: new WeakSet(), readSync };
    hooks.set(backendName, h);
  }
  for (const config of tf.getKernelsForBackend(backendName)) {
    if (h.wrappers.has(config.kernelFunc)) continue;
    const original = config.kernelFunc;
    const name = config.kernelName;
    h.originals.set(name, original);
    const wrapped: AnyKernelFunc = (params) => {
      const outermost = kernelDepth === 0;
      kernelDepth++;
      let out: tf.TensorInfo | tf.TensorInfo[];
      try {
        const skip = outermost && activeTrace?.shapeOnly ? shapeOnlyOutput(name, params) : null;
        out = skip ?? original(params);
      } finally {
        kernelDepth--;
      }
      if (outermost) activeTrace?.recordCall(name, params.inputs, params.attrs ?? {}, out);
      return out;
    };
    h.wrappers.add(wrapped);
    tf.unregisterKernel(name, backendName);
    tf.registerKernel({ ...config, kernelFunc: wrapped });
  }
}

type ShapeRule = (inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => number[] | null;

function convOutShape(depthwise: boolean): ShapeRule {
  return (inputs, attrs) => {
    const x = inputs.x;
    const f = inputs.filter;
    const format = (attrs.dataFormat as string | undefined) ?? 'NHWC';
    if (!x || !f || format !== 'NHWC' || typeof attrs.pad === 'object') return null;
    return tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      f.shape as [number, number, number, number],
      attrs.strides as number | [number, number],
      (attrs.dilations as number | [number, number] | undefined) ?? 1,
      attrs.pad as 'same' | 'valid' | number,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
      depthwise,
    ).outShape;
  };
}

const conv3dOutShape: ShapeRule = (inputs, attrs) => {
  const x = inputs.x;
  const f = inputs.filter;
  const format = (attrs.dataFormat as string | undefined) ?? 'NDHWC';
  if (!x || !f || format !== 'NDHWC') return null;
  return tf.backend_util.computeConv3DInfo(
    x.shape as [number, number, number, number, number],
    f.shape as [number, number, number, number, number],
    attrs.strides as number | [number, number, number],
    (attrs.dilations as number | [number, number, number] | undefined) ?? 1,
    attrs.pad as 'same' | 'valid',
  ).outShape;
};

const fromAttr =
  (key: string): ShapeRule =>
  (_inputs, attrs) =>
    Array.isArray(attrs[key]) ? [...(attrs[key] as number[])] : null;

const matMulOutShape: ShapeRule = (inputs, attrs) => {
  const a = inputs.a?.shape;
  const b = inputs.b?.shape;
  if (!a || !b || a.length < 2 || b.length < 2) return null;
  const m = attrs.transposeA ? a[a.length - 1] : a[a.length - 2];
  const n = attrs.transposeB ? b[b.length - 2] : b[b.length - 1];
  const batch = tf.broadcast_util.assertAndGetBroadcastShape(a.slice(0, -2), b.slice(0, -2));
  return [...batch, m, n];
};

const broadcastOutShape: ShapeRule = (inputs) => {
  const a = inputs.a?.shape;
  const b = inputs.b?.shape;
  return a && b ? tf.backend_util.assertAndGetBroadcastShape(a, b) : null;
};

const sameAsX: ShapeRule = (inputs) => (inputs.x ? [...inputs.x.shape] : null);

/**
 * UnsortedSegmentSum (the gradient of GatherV2): [numSegments, ...x.shape after the ids' rank].
 * tfjs-backend-cpu computes it as one masked sum per segment, quadratic in the data: the
 * gradient of a gather from a large table (RoIAlign's gather-based crop over all pyramid levels)
 * took minutes per trace.
 */
const segmentSumOutShape: ShapeRule = (inputs, attrs) => {
  const x = inputs.x?.shape;
  const ids = inputs.segmentIds?.shape;
  const n = attrs.numSegments;
  return x && ids && typeof n === 'number' ? [n, ...x.slice(ids.length)] : null;
};

const reductionOutShape: ShapeRule = (inputs, attrs) => {
  const x = inputs.x?.shape;
  if (!x) return null;
  // Max names its axes `reductionIndices`; Sum, Mean and Min name them `axis`.
  const axis = (attrs.axis ?? attrs.reductionIndices) as number | number[] | undefined;
  if (axis === undefined) return null;
  const axes = tf.util.parseAxisParam(axis, x);
  const [out] = tf.backend_util.computeOutAndReduceShapes(x, axes);
  return attrs.keepDims ? tf.backend_util.expandShapeToKeepDim(out, axes) : out;
};

/** float32 → float32 elementwise kernels (inputs a, b broadcast; or x). */
const BINARY = ['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'SquaredDifference'];
const UNARY = [
  ...['Relu', 'Relu6', 'Elu', 'LeakyRelu', 'Step', 'Sigmoid', 'Tanh', 'Softplus'],
  ...['Sqrt', 'Rsqrt', 'Square', 'Exp', 'Log', 'Neg', 'Reciprocal', 'Abs'],
  ...['ZerosLike', 'OnesLike'],
];

/**
 * The kernels a shape-only trace does not run: float32 kernels whose output shape follows from
 * their input shapes and attributes alone (the heavy ones: convolutions and their gradients,
 * matrix products; and the elementwise and reduction work around them, which tfjs-backend-cpu
 * does slowly through generic broadcasting loops; and gather gradients). Everything else runs for real, including
 * every kernel whose output shape or dtype depends on values or that is not float32.
 */
const SHAPE_ONLY_RULES: Readonly<Record<string, ShapeRule>> = {
  ...Object.fromEntries(BINARY.map((k) => [k, broadcastOutShape])),
  ...Object.fromEntries(UNARY.map((k) => [k, sameAsX])),
  Sum: reductionOutShape,
  Mean: reductionOutShape,
  Max: reductionOutShape,
  Min: reductionOutShape,
  Conv2D: convOutShape(false),
  FusedConv2D: convOutShape(false),
  DepthwiseConv2dNative: convOutShape(true),
  FusedDepthwiseConv2D: convOutShape(true),
  Conv2DBackpropInput: fromAttr('inputShape'),
  Conv2DBackpropFilter: fromAttr('filterShape'),
  DepthwiseConv2dNativeBackpropInput: fromAttr('inputShape'),
  DepthwiseConv2dNativeBackpropFilter: fromAttr('filterShape'),
  Conv3D: conv3dOutShape,
  Conv3DBackpropInputV2: fromAttr('inputShape'),
  Conv3DBackpropFilterV2: fromAttr('filterShape'),
  [CONV3D_GROUPED]: conv3dOutShape,
  [CONV3D_GROUPED_BACKPROP_INPUT]: fromAttr('inputShape'),
  [CONV3D_GROUPED_BACKPROP_FILTER]: fromAttr('filterShape'),
  BatchMatMul: matMulOutShape,
  _FusedMatMul: matMulOutShape,
  UnsortedSegmentSum: segmentSumOutShape,
};

/** Integer index inputs a shape-only kernel takes beside its float32 data (which sets its dtype). */
const INDEX_INPUTS: ReadonlySet<string> = new Set(['segmentIds']);

interface TensorMaker {
  /** tfjs-backend-cpu. */
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values?: tf.TypedArray): tf.TensorInfo;
  /** tfjs-backend-wasm: allocates the output in the wasm heap. */
  makeOutput?(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap?(info: tf.TensorInfo): tf.TypedArray;
}

/** An uncomputed output of a heavy kernel's shape, or null to run the kernel (see above). */
function shapeOnlyOutput(
  kernelName: string,
  params: Parameters<AnyKernelFunc>[0],
): tf.TensorInfo | null {
  const rule = SHAPE_ONLY_RULES[kernelName];
  if (!rule) return null;
  const inputs = Object.entries(params.inputs);
  const dataIsFloat = ([name, t]: [string, tf.TensorInfo | undefined]) =>
    t !== undefined && (t.dtype === 'float32' || INDEX_INPUTS.has(name));
  if (inputs.length === 0 || !inputs.every(dataIsFloat)) return null;
  const shape = rule(params.inputs, params.attrs ?? {});
  if (!shape) return null;
  const backend = params.backend as unknown as TensorMaker;
  // cpu's makeOutput has another signature (values first): check makeTensorInfo first.
  if (backend.makeTensorInfo) {
    const zeros = new Float32Array(tf.util.sizeFromShape(shape));
    return backend.makeTensorInfo(shape, 'float32', zeros);
  }
  if (!backend.makeOutput || !backend.typedArrayFromHeap) return null;
  // Zeroed, as on cpu: a value that reaches integer use (Cast → Gather indices) stays in range.
  const out = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(out).fill(0);
  return out;
}

function copyAttrs(attrs: tf.NamedAttrMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs)) {
    out[k] = Array.isArray(v) ? JSON.parse(JSON.stringify(v)) : v;
  }
  return out;
}

export interface TraceOptions {
  /**
   * Do not run the float32 kernels whose output shape follows from input shapes and attributes
   * (convolutions and their gradients, matrix products, elementwise and reduction kernels: see
   * SHAPE_ONLY_RULES): their outputs get the right shape and dtype and zeros for values. The
   * graph needs only the call sequence, attributes and shapes, so it is the same; the traced
   * run's values are then meaningless (the compiled step never uses them). Default false.
   */
  shapeOnly?: boolean;
  /**
   * The tfjs backend whose kernel semantics the lowering reproduces where tfjs backends differ
   * (ResizeBilinearGrad: see ./kernels/resize.ts). Default: the backend the trace records on.
   */
  semanticsOf?: TraceableBackend;
}

/** A recording of the kernel calls of one function run. Use {@link traceFunction}. */
export class Trace {
  readonly shapeOnly: boolean;
  private readonly semanticsOfOption: TraceableBackend | undefined;

  constructor(opts: TraceOptions = {}) {
    this.shapeOnly = opts.shapeOnly ?? false;
    this.semanticsOfOption = opts.semanticsOf;
  }

  /** See {@link TraceOptions.semanticsOf}. */
  get semanticsOf(): TraceableBackend {
    return this.semanticsOfOption ?? this.backendName;
  }

  readonly calls: KernelCall[] = [];
  readonly randoms: TracedRandom[] = [];
  readonly inputs = new Map<string, TracedValue>();
  /** Descriptions of JavaScript reads of traced values (data dependence). */
  readonly dataReads: string[] = [];
  /**
   * Names of tfjs variables the function read that were not bound as inputs: their values were
   * frozen into constants, which is wrong if they ever change.
   */
  readonly unboundVariables: string[] = [];
  private variableBuffers = new Map<object, string>();
  private readonly buffers = new Map<object, BufferViews>();
  private readonly byId = new Map<number, TracedValue>();
  private nextId = 0;
  private backend: TraceableBackend | null = null;

  private newValue(shape: number[], dtype: tf.DataType, source: ValueSource): TracedValue {
    const value: TracedValue = { id: this.nextId++, shape: [...shape], dtype, source };
    this.byId.set(value.id, value);
    return value;
  }

  /** The value with id `id`. */
  value(id: number): TracedValue {
    const v = this.byId.get(id);
    if (!v) throw new Error(`trace: no value with id ${id}`);
    return v;
  }

  /** Whether `tensor`'s buffer is already bound (an input or a random draw). */
  isBound(tensor: tf.Tensor): boolean {
    return this.buffers.has(tensor.dataId);
  }

  /** Declares `tensor` a named graph input (call before {@link run}). */
  bindInput(name: string, tensor: tf.Tensor): TracedValue {
    if (this.inputs.has(name)) throw new Error(`trace: input '${name}' is bound twice`);
    if (this.buffers.has(tensor.dataId)) {
      throw new Error(`trace: input '${name}' shares its buffer with an input bound earlier`);
    }
    const value = this.newValue(tensor.shape, tensor.dtype, { kind: 'input', name });
    this.buffers.set(tensor.dataId, { views: [value] });
    this.inputs.set(name, value);
    return value;
  }

  /** Registers a random draw (called by the random-op observer). */
  private bindRandom(draw: RandomDraw): void {
    const t = draw.tensor;
    const value = this.newValue(t.shape, t.dtype, { kind: 'random', index: this.randoms.length });
    this.buffers.set(t.dataId, { views: [value] });
    this.randoms.push({
      value,
      shape: draw.shape,
      minval: draw.minval,
      maxval: draw.maxval,
      rng: draw.rng,
    });
  }

  /** The tfjs backend whose kernels this trace records (set by {@link run}). */
  get backendName(): TraceableBackend {
    if (this.backend) return this.backend;
    const active = tf.getBackend();
    if (!isTraceable(active)) {
      throw new Error(`trace: the active tfjs backend '${active}' cannot be traced`);
    }
    return active;
  }

  /** A private copy of the values of a tensor no traced kernel wrote (a constant). */
  private constantValues(info: tf.TensorInfo): tf.TypedArray {
    const name = this.backendName;
    const h = hooks.get(name);
    if (!h || backendObject(name).refCount(info.dataId) === 0) {
      throw new Error(
        `trace: tensor [${info.shape}] ${info.dtype} has no data on the ${name} backend ` +
          '(created on another backend?)',
      );
    }
    const values = h.readSync(info.dataId);
    if (!ArrayBuffer.isView(values)) {
      throw new Error(`trace: tensor [${info.shape}] ${info.dtype} has no numeric values`);
    }
    // The cpu backend hands out its backing array; wasm already returns a copy of the heap.
    return name === 'cpu'
      ? ((values as tf.TypedArray).slice() as tf.TypedArray)
      : (values as tf.TypedArray);
  }

  /** The traced value a tensor (or TensorInfo) stands for, creating a view or constant if new. */
  lookup(info: tf.TensorInfo): TracedValue {
    const buf = this.buffers.get(info.dataId);
    if (!buf) {
      const values = this.constantValues(info);
      const variable = this.variableBuffers.get(info.dataId);
      if (variable !== undefined) this.unboundVariables.push(variable);
      const value = this.newValue(info.shape, info.dtype, { kind: 'constant', values });
      this.buffers.set(info.dataId, { views: [value] });
      return value;
    }
    const same = buf.views.find(
      (v) => v.dtype === info.dtype && tf.util.arraysEqual(v.shape, info.shape),
    );
    if (same) return same;
    const base = buf.views[0];
    if (
      base.dtype !== info.dtype ||
      tf.util.sizeFromShape(base.shape) !== tf.util.sizeFromShape(info.shape)
    ) {
      throw new Error(
        `trace: buffer seen as [${base.shape}] ${base.dtype} is read as [${info.shape}] ${info.dtype}`,
      );
    }
    const view = this.newValue(info.shape, info.dtype, { kind: 'view', of: base.id });
    buf.views.push(view);
    return view;
  }

  /** Logs one kernel call (from the kernel wrappers). */
  recordCall(
    kernelName: string,
    inputs: tf.NamedTensorInfoMap,
    attrs: tf.NamedAttrMap,
    out: tf.TensorInfo | tf.TensorInfo[],
  ): void {
    const index = this.calls.length;
    const ins: { name: string; value: TracedValue }[] = [];
    for (const [name, info] of Object.entries(inputs)) {
      if (info) ins.push({ name, value: this.lookup(info) });
    }
    const outs = (Array.isArray(out) ? out : [out]).map((info, i) => {
      const value = this.newValue(info.shape, info.dtype, {
        kind: 'kernel',
        call: index,
        output: i,
      });
      const buf = this.buffers.get(info.dataId);
      // A kernel that returns an input's buffer (Identity, Reshape, Cast to the same dtype)
      // produces a new value; later readers of that buffer with this shape see the new value.
      if (buf) buf.views.unshift(value);
      else this.buffers.set(info.dataId, { views: [value] });
      return value;
    });
    this.calls.push({
      index,
      kernelName,
      attrs: copyAttrs(attrs),
      inputs: ins,
      outputs: outs,
      layer: activeLayerPath(),
    });
  }

  /** Notes a JavaScript read of a buffer (from the patched backend read functions). */
  noteRead(dataId: object): void {
    if (kernelDepth > 0) return;
    const buf = this.buffers.get(dataId);
    if (!buf) return;
    const v = buf.views[0];
    if (v.source.kind === 'constant') return;
    this.dataReads.push(`[${v.shape}] ${v.dtype} (${v.source.kind})`);
  }

  /** Runs `fn` with this trace active and returns its result. */
  run<T>(fn: () => T): T {
    if (activeTrace) throw new Error('trace: traces cannot nest');
    const active = tf.getBackend();
    if (!isTraceable(active)) {
      throw new Error(
        `trace: the active tfjs backend is '${active}'; tracing records the kernels of ` +
          `${TRACEABLE_BACKENDS.map((b) => `'${b}'`).join(' or ')}`,
      );
    }
    if (this.backend && this.backend !== active) {
      throw new Error(`trace: started on '${this.backend}', the active backend is now '${active}'`);
    }
    installKernelHooks(active);
    this.backend = active;
    this.variableBuffers = new Map(
      Object.values(tf.engine().registeredVariables).map((v) => [v.dataId, v.name]),
    );
    activate(this);
    const previous = setRandomObserver((draw) => this.bindRandom(draw));
    try {
      return fn();
    } finally {
      activate(null);
      setRandomObserver(previous);
    }
  }
}

/** Traces one run of `fn` with `inputs` bound by name; returns the trace and `fn`'s result. */
export function traceFunction<T>(
  inputs: Record<string, tf.Tensor>,
  fn: () => T,
): { trace: Trace; result: T } {
  const trace = new Trace();
  for (const [name, t] of Object.entries(inputs)) trace.bindInput(name, t);
  const result = trace.run(fn);
  return { trace, result };
}
