/** Messages between the pipeline and its worker threads. */
import type { MapTask, SerializedError } from './map_runner.js';
import type { FeatureMap, MapFnRef } from './types.js';

export type ToWorker =
  | { type: 'init'; ref: MapFnRef }
  | { type: 'map'; id: number; bytes: Uint8Array; task: MapTask }
  /** Finish the maps in flight, then let the thread exit (see WorkerPool.close). */
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'result'; id: number; features: FeatureMap }
  | { type: 'map-error'; id: number; error: SerializedError };
