/**
 * Loading and running a map function, the same way in a worker thread and in-process: the
 * per-example Rng is derived from (seed, epoch, k), and the output is checked before it travels.
 */
import { Rng } from '../../core/random.js';
import type { FeatureMap, MapFn, MapFnRef } from './types.js';

/** What one map call needs besides the bytes (all structured-cloneable). */
export interface MapTask {
  index: number;
  epoch: number;
  where: string;
  training: boolean;
  seed: number;
}

/** Name of the per-example random stream given to Rng.derive with the pipeline seed. */
export function exampleStreamName(epoch: number, index: number): string {
  return `pipeline/epoch/${epoch}/example/${index}`;
}

/** Imports `ref.module` and calls its factory once; errors name the module and export. */
export async function loadMapFn(ref: MapFnRef): Promise<MapFn> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(ref.module)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot import map module ${ref.module}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const factory = mod[ref.factory];
  if (typeof factory !== 'function') {
    throw new TypeError(
      `map module ${ref.module} has no exported function '${ref.factory}' ` +
        `(exports: ${Object.keys(mod).join(', ') || 'none'})`,
    );
  }
  const fn: unknown = await (factory as (options: unknown) => unknown)(ref.options);
  if (typeof fn !== 'function') {
    throw new TypeError(
      `map factory '${ref.factory}' of ${ref.module} returned ${typeof fn}, not a function`,
    );
  }
  return fn as MapFn;
}

function isFeatureData(x: unknown): boolean {
  return x instanceof Float32Array || x instanceof Int32Array || x instanceof Uint8Array;
}

/** Throws unless `out` is a record of {data: Float32/Int32/Uint8Array, shape} that agree. */
export function validateFeatures(out: unknown, where: string): asserts out is FeatureMap {
  if (typeof out !== 'object' || out === null || Array.isArray(out)) {
    throw new TypeError(
      `map function returned ${out === null ? 'null' : typeof out} for ${where}, expected a record of features`,
    );
  }
  for (const [name, feature] of Object.entries(out)) {
    const f = feature as { data?: unknown; shape?: unknown } | null;
    if (!f || !isFeatureData(f.data)) {
      throw new TypeError(
        `feature '${name}' of ${where}: data must be a Float32Array, Int32Array or Uint8Array`,
      );
    }
    const shape = f.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new TypeError(
        `feature '${name}' of ${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
      );
    }
    const size = shape.reduce((a: number, b: number) => a * b, 1);
    const length = (f.data as ArrayLike<number>).length;
    if (size !== length) {
      throw new RangeError(
        `feature '${name}' of ${where}: shape [${shape.join(', ')}] holds ${size} values but data has ${length}`,
      );
    }
  }
}

/** Runs `fn` on one example with its derived Rng and checks the output. */
export async function runMap(fn: MapFn, bytes: Uint8Array, task: MapTask): Promise<FeatureMap> {
  const rng = Rng.derive(task.seed, exampleStreamName(task.epoch, task.index));
  const out = await fn(bytes, {
    rng,
    index: task.index,
    epoch: task.epoch,
    where: task.where,
    training: task.training,
  });
  validateFeatures(out, task.where);
  return out;
}

/**
 * The ArrayBuffers to transfer with `features`: each array that spans a whole (non-shared)
 * buffer. An array that is a view into a larger buffer (e.g. Node's pooled Buffers) is first
 * replaced by a compact copy, so a transfer never detaches memory the map function still uses.
 */
export function transferList(features: FeatureMap): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const f of Object.values(features)) {
    const d = f.data;
    if (!(d.buffer instanceof ArrayBuffer)) continue; // SharedArrayBuffer: shared, not moved
    if (d.byteOffset !== 0 || d.byteLength !== d.buffer.byteLength || buffers.has(d.buffer)) {
      f.data = d.slice();
    }
    buffers.add(f.data.buffer as ArrayBuffer);
  }
  return [...buffers];
}

/** Serialisable form of an error thrown in a worker. */
export interface SerializedError {
  message: string;
  name: string;
  stack?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) return { message: err.message, name: err.name, stack: err.stack };
  return { message: String(err), name: 'Error' };
}

/** The error next() rejects with when the map function fails on an example. */
export function mapFailure(where: string, cause: SerializedError | Error): Error {
  const err = new Error(`map function failed on ${where}: ${cause.message}`);
  err.cause = cause;
  return err;
}
