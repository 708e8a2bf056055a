/**
 * Loading and running a map function, the same way in a worker thread and in-process: the
 * per-example Rng is derived from (seed, epoch, k), the output is checked, and the examples of
 * one batch are stacked where they were mapped, so one message carries a whole batch.
 */
import { Rng } from '../../core/random.js';
import { stackBatch } from './batching.js';
import type { FeatureMap, HostBatch, MapFn, MapFnRef, PaddingSpec } from './types.js';

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
export async function runMap(
  fn: MapFn,
  bytes: Uint8Array,
  task: MapTask,
  allocFloat32?: (length: number) => Float32Array,
): Promise<FeatureMap> {
  const rng = Rng.derive(task.seed, exampleStreamName(task.epoch, task.index));
  const out = await fn(bytes, {
    rng,
    index: task.index,
    epoch: task.epoch,
    where: task.where,
    training: task.training,
    allocFloat32,
  });
  validateFeatures(out, task.where);
  return out;
}

/** Examples of one batch a worker (or the in-process mapper) maps at once. */
export const CONCURRENT_MAPS = 4;

/** One example of a batch to map: its bytes and task. */
export interface BatchItem {
  bytes: Uint8Array;
  task: MapTask;
}

/**
 * A mapped batch, or why there is none: the error of the lowest failing slot (`slot` >= 0, the
 * map function's), or of stacking (`slot` -1).
 */
export type BatchOutcome = { batch: HostBatch } | { slot: number; error: Error };

/**
 * Maps the examples of one batch, at most `concurrency` at once (maps are async: an await in one
 * lets another run), then stacks them in slot order with `padding`.
 */
export async function runBatch(
  fn: MapFn,
  items: readonly BatchItem[],
  padding: Record<string, PaddingSpec>,
  concurrency: number,
): Promise<BatchOutcome> {
  const features: FeatureMap[] = new Array<FeatureMap>(items.length);
  // MapContext.allocFloat32: each example's first float32 array of the common length is its slot
  // of one array for the whole batch, which stackBatch then keeps as the batch's feature without
  // copying. Large typed arrays live outside V8's heap and V8 runs a full garbage collection each
  // time such memory grows by tens of MB, so a fresh 224x224x3 output per image (plus its copy
  // into the batch) made that several collections a second per worker.
  let slab: Float32Array | null = null;
  const allocFor = (slot: number) => {
    let first = true;
    return (length: number): Float32Array => {
      const take = first;
      first = false;
      if (take) {
        slab ??= new Float32Array(items.length * length);
        if (slab.length === items.length * length) {
          return slab.subarray(slot * length, (slot + 1) * length);
        }
      }
      return new Float32Array(length);
    };
  };
  const failures = new Map<number, Error>();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const slot = next++;
      try {
        features[slot] = await runMap(fn, items[slot].bytes, items[slot].task, allocFor(slot));
      } catch (err) {
        failures.set(slot, err instanceof Error ? err : new Error(String(err)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  try {
    if (failures.size > 0) {
      const slot = Math.min(...failures.keys());
      return { slot, error: failures.get(slot)! };
    }
    const wheres = items.map((it) => it.task.where);
    return { batch: stackBatch(features, wheres, padding) };
  } catch (err) {
    return { slot: -1, error: err instanceof Error ? err : new Error(String(err)) };
  }
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
