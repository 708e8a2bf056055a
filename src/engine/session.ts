/**
 * ONNX Runtime glue: one session per compiled graph, and tensor conversion between tfjs (cpu or
 * wasm backend) and ORT. The runtime is a parameter ({@link OrtRuntime}: what the engine uses of
 * onnxruntime's JavaScript API), so onnxruntime-web (wasm / WebGPU execution providers) can run
 * the same graphs; in Node the default is onnxruntime-node, imported only by ./node_runtime.ts.
 * Feeding reads a cpu tensor's backing array without copying; a wasm tensor is copied out of the
 * wasm heap (a view into the heap could be invalidated when the heap grows while ORT runs
 * asynchronously).
 */
import * as tf from '@tensorflow/tfjs-core';

/** An ORT tensor, as far as the engine reads it. */
export interface OrtTensor {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** An ORT inference session, as far as the engine uses it. */
export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
  endProfiling(): void;
}

/** The session options the engine sets (a subset of ORT's `InferenceSession.SessionOptions`). */
export interface OrtSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  enableProfiling?: boolean;
  profileFilePrefix?: string;
  /** Where ORT writes the graph after its optimisations (the ONNX export uses it). */
  optimizedModelFilePath?: string;
  /** ORT's execution providers in order of preference (./provider_fallback.ts sets them). */
  executionProviders?: string[];
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
}

/** What the engine uses of an onnxruntime JavaScript package (`onnxruntime-node`, `-web`). */
export interface OrtRuntime {
  InferenceSession: {
    create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession>;
  };
  Tensor: new (
    type: 'float32' | 'int32' | 'bool',
    data: Float32Array | Int32Array | Uint8Array,
    dims: readonly number[],
  ) => OrtTensor;
}

export interface SessionOptions {
  /**
   * The ONNX Runtime to run on; default: onnxruntime-node (./node_runtime.ts, loaded on first
   * use). A browser build passes onnxruntime-web.
   */
  runtime?: OrtRuntime;
  /**
   * Threads of ORT's intra-op pool; default: every core (`os.availableParallelism()` in Node, or
   * the runtime's own default elsewhere).
   */
  intraOpNumThreads?: number;
  /** ORT graph optimisation level; default 'all'. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Path prefix of an ORT profile (Chrome trace JSON, one event per node run): when set, the
   * session profiles every run and writes `<prefix>_<date>.json` on `session.endProfiling()`.
   */
  profileFilePrefix?: string;
  /**
   * ORT's CPU memory arena (default true): a BFC arena that keeps every block it ever allocated
   * and grows by powers of two, so a session's RSS stays at (and rounds up) its high-water mark.
   * false allocates and frees each tensor through the system allocator: for graphs whose
   * activations are large next to the machine's memory (a DeepLabV3 R101 512 training step).
   */
  enableCpuMemArena?: boolean;
  /**
   * ORT's memory pattern (default true): after the first run, one pre-planned block per run for
   * all intermediates instead of one allocation each.
   */
  enableMemPattern?: boolean;
}

/** The runtime of `opts`, or onnxruntime-node. */
export async function ortRuntime(opts: Pick<SessionOptions, 'runtime'> = {}): Promise<OrtRuntime> {
  if (opts.runtime) return opts.runtime;
  const { nodeRuntime } = await import('./node_runtime.js');
  return nodeRuntime;
}

/** Creates an ORT session for serialised ModelProto bytes on the runtime of `opts`. */
export async function createSession(
  model: Uint8Array,
  opts: SessionOptions = {},
): Promise<OrtSession> {
  const runtime = await ortRuntime(opts);
  let threads = opts.intraOpNumThreads;
  if (threads === undefined && !opts.runtime) {
    threads = (await import('./node_runtime.js')).defaultThreads();
  }
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new Error(`engine: intraOpNumThreads must be a positive integer, got ${threads}`);
  }
  return runtime.InferenceSession.create(model, {
    ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
    ...(opts.profileFilePrefix !== undefined
      ? { enableProfiling: true, profileFilePrefix: opts.profileFilePrefix }
      : {}),
    ...(opts.enableCpuMemArena !== undefined ? { enableCpuMemArena: opts.enableCpuMemArena } : {}),
    ...(opts.enableMemPattern !== undefined ? { enableMemPattern: opts.enableMemPattern } : {}),
  });
}

/**
 * ORT tensor with a tfjs tensor's values and shape. On the cpu backend this reads the backing
 * array without copying, except where tfjs keeps another array type than the dtype says (a
 * float32 cast of int32 values keeps the Int32Array); on wasm it is one copy out of the heap.
 */
export function toOrt(runtime: OrtRuntime, t: tf.Tensor): OrtTensor {
  const data = t.dataSync();
  switch (t.dtype) {
    case 'float32':
      return new runtime.Tensor(
        'float32',
        data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>),
        t.shape,
      );
    case 'int32':
      return new runtime.Tensor(
        'int32',
        data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>),
        t.shape,
      );
    case 'bool':
      return new runtime.Tensor('bool', Uint8Array.from(data as Uint8Array), t.shape);
    default:
      throw new Error(`engine: cannot feed a ${t.dtype} tensor to ONNX Runtime`);
  }
}

/** A tfjs tensor holding an ORT output's values (takes the ORT buffer, no copy for float/int). */
export function fromOrt(t: OrtTensor, shape: number[], dtype: tf.DataType): tf.Tensor {
  switch (dtype) {
    case 'float32':
      return tf.tensor(t.data as Float32Array, shape, 'float32');
    case 'int32':
      return tf.tensor(t.data as Int32Array, shape, 'int32');
    case 'bool':
      return tf.tensor(Uint8Array.from(t.data as Uint8Array), shape, 'bool');
    default:
      throw new Error(`engine: cannot read a ${dtype} tensor from ONNX Runtime`);
  }
}

/** The tfjs dtype of an ORT output type. */
export function dtypeOfOrt(ortType: string): tf.DataType {
  if (ortType === 'float32') return 'float32';
  if (ortType === 'int32') return 'int32';
  if (ortType === 'bool') return 'bool';
  throw new Error(`engine: unexpected ONNX output type ${ortType}`);
}

/** The first value of a scalar ORT output as a JS number. */
export function scalarOf(t: OrtTensor): number {
  const v = (t.data as ArrayLike<number | bigint>)[0];
  return typeof v === 'bigint' ? Number(v) : v;
}
