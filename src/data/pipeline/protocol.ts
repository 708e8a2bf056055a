/** Messages between the pipeline and its worker threads. */
import type { BatchItem, SerializedError } from './map_runner.js';
import type { HostBatch, MapFnRef, PaddingSpec } from './types.js';

export type ToWorker =
  | { type: 'init'; ref: MapFnRef }
  /** Map the examples of one batch and stack them (map_runner.ts runBatch). */
  | { type: 'map-batch'; id: number; items: BatchItem[]; padding: Record<string, PaddingSpec> }
  /** Finish the maps in flight, then let the thread exit (see WorkerPool.close). */
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'batch'; id: number; batch: HostBatch }
  /** `slot` >= 0: the map function failed on that example; -1: stacking failed. */
  | { type: 'batch-error'; id: number; slot: number; error: SerializedError };
