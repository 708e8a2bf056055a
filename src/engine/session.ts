/**
 * onnxruntime-node glue: one InferenceSession per compiled graph, and tensor conversion between
 * tfjs (cpu or wasm backend) and ORT. Feeding reads a cpu tensor's backing array without copying;
 * a wasm tensor is copied out of the wasm heap (a view into the heap could be invalidated when the
 * heap grows while ORT runs asynchronously).
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';

export interface SessionOptions {
  /** Threads of ORT's intra-op pool; default: every core (`os.availableParallelism()`). */
  intraOpNumThreads?: number;
  /** ORT graph optimisation level; default 'all'. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Path prefix of an ORT profile (Chrome trace JSON, one event per node run): when set, the
   * session profiles every run and writes `<prefix>_<date>.json` on `session.endProfiling()`.
   */
  profileFilePrefix?: string;
}

/** Creates an ORT session for serialised ModelProto bytes. */
export async function createSession(
  model: Uint8Array,
  opts: SessionOptions = {},
): Promise<ort.InferenceSession> {
  const threads = opts.intraOpNumThreads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`engine: intraOpNumThreads must be a positive integer, got ${threads}`);
  }
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
    ...(opts.profileFilePrefix !== undefined
      ? { enableProfiling: true, profileFilePrefix: opts.profileFilePrefix }
      : {}),
  });
}

/**
 * ORT tensor with a tfjs tensor's values and shape. On the cpu backend this reads the backing
 * array without copying, except where tfjs keeps another array type than the dtype says (a
 * float32 cast of int32 values keeps the Int32Array); on wasm it is one copy out of the heap.
 */
export function toOrt(t: tf.Tensor): ort.Tensor {
  const data = t.dataSync();
  switch (t.dtype) {
    case 'float32':
      return new ort.Tensor(
        'float32',
        data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>),
        t.shape,
      );
    case 'int32':
      return new ort.Tensor(
        'int32',
        data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>),
        t.shape,
      );
    case 'bool':
      return new ort.Tensor('bool', Uint8Array.from(data as Uint8Array), t.shape);
    default:
      throw new Error(`engine: cannot feed a ${t.dtype} tensor to ONNX Runtime`);
  }
}

/** A tfjs tensor holding an ORT output's values (takes the ORT buffer, no copy for float/int). */
export function fromOrt(t: ort.Tensor, shape: number[], dtype: tf.DataType): tf.Tensor {
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

/** The first value of a scalar ORT output as a JS number. */
export function scalarOf(t: ort.Tensor): number {
  const v = (t.data as ArrayLike<number | bigint>)[0];
  return typeof v === 'bigint' ? Number(v) : v;
}
