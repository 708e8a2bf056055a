/**
 * The map stage: worker threads (node:worker_threads) each running the map function, or the
 * same function in-process when workers = 0. A batch's examples all go to one worker, the
 * least-loaded, which maps and stacks them; the batch comes back with its buffers transferred.
 * So the main thread sends one message and receives one per batch, and never copies examples
 * into batches. Workers are unref'd while nobody waits on them, so a pipeline that is dropped
 * without close() does not keep the process alive.
 */
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from './spawn_worker.js';
import {
  CONCURRENT_MAPS,
  loadMapFn,
  mapFailure,
  runBatch,
  type BatchItem,
  type BatchOutcome,
  type SerializedError,
} from './map_runner.js';
import type { FromWorker, ToWorker } from './protocol.js';
import type { HostBatch, MapFnRef, PaddingSpec } from './types.js';

export { defaultWorkerCount } from './spawn_worker.js';

/** Runs the map function on batches of examples, wherever it runs. */
export interface Mapper {
  readonly workers: number;
  /**
   * Maps the examples of one batch and stacks them with `padding`. Rejects with the error of the
   * lowest failing example (naming its `task.where` and the original message), or of stacking.
   */
  mapBatch(
    items: BatchItem[],
    padding: Record<string, PaddingSpec>,
    transferBytes: boolean,
  ): Promise<HostBatch>;
  /** Keep the process alive for the workers (true while a consumer waits on the pipeline). */
  setActive(active: boolean): void;
  close(): Promise<void>;
}

/** The map function in the calling thread. */
export async function inProcessMapper(ref: MapFnRef): Promise<Mapper> {
  const fn = await loadMapFn(ref);
  return {
    workers: 0,
    mapBatch: async (items, padding) =>
      settle(items, await runBatch(fn, items, padding, CONCURRENT_MAPS)),
    setActive: () => {},
    close: async () => {},
  };
}

/**
 * The error the pipeline reports for a failed batch: the map function's on the example in `slot`
 * (naming it), or the stacking error itself (slot -1), rebuilt when it crossed a thread.
 */
function batchFailure(
  items: readonly BatchItem[],
  slot: number,
  cause: Error | SerializedError,
): Error {
  if (slot >= 0) return mapFailure(items[slot].task.where, cause);
  return cause instanceof Error
    ? cause
    : Object.assign(new Error(cause.message), { name: cause.name });
}

/** The batch of `out`, or the error the pipeline reports for it. */
function settle(items: readonly BatchItem[], out: BatchOutcome): HostBatch {
  if ('batch' in out) return out.batch;
  throw batchFailure(items, out.slot, out.error);
}

/** How long close() lets a worker finish its maps in flight before terminating it. */
const CLOSE_GRACE_MS = 10_000;

interface Pending {
  resolve: (b: HostBatch) => void;
  reject: (e: Error) => void;
  items: BatchItem[];
  /** The worker it was sent to. */
  slot: number;
}

/** A pool of worker threads running the map function named by `ref`. */
export class WorkerPool implements Mapper {
  private readonly pending = new Map<number, Pending>();
  private readonly load: number[];
  private nextId = 0;
  private failure: Error | null = null;
  private closed = false;
  private active = false;

  private constructor(private readonly threads: Worker[]) {
    this.load = threads.map(() => 0);
    threads.forEach((w, slot) => {
      w.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
      w.on('error', (err) =>
        this.crash(new Error(`pipeline worker ${slot} failed: ${err.message}`, { cause: err })),
      );
      w.on('exit', (code) => {
        if (!this.closed)
          this.crash(new Error(`pipeline worker ${slot} exited unexpectedly (code ${code})`));
      });
    });
  }

  get workers(): number {
    return this.threads.length;
  }

  /** Spawns `count` workers and waits until each has loaded the map function. */
  static async start(count: number, ref: MapFnRef, active = false): Promise<WorkerPool> {
    // Referenced while starting (the caller awaits this); then as `active` says.
    const threads = await Promise.all(Array.from({ length: count }, () => spawnWorker()));
    try {
      await Promise.all(
        threads.map(
          (w, slot) =>
            new Promise<void>((resolve, reject) => {
              const done = (err?: Error) => {
                w.off('message', onMessage);
                w.off('error', onError);
                w.off('exit', onExit);
                if (err) reject(err);
                else resolve();
              };
              const onMessage = (msg: FromWorker) => {
                if (msg.type === 'ready') done();
                else if (msg.type === 'init-error') done(new Error(msg.error.message));
              };
              const onError = (err: Error) =>
                done(
                  new Error(`pipeline worker ${slot} failed to start: ${err.message}`, {
                    cause: err,
                  }),
                );
              const onExit = (code: number) =>
                done(new Error(`pipeline worker ${slot} exited while starting (code ${code})`));
              w.on('message', onMessage);
              w.on('error', onError);
              w.on('exit', onExit);
              w.postMessage({ type: 'init', ref } satisfies ToWorker);
            }),
        ),
      );
    } catch (err) {
      await Promise.all(threads.map((w) => w.terminate()));
      throw err;
    }
    const pool = new WorkerPool(threads);
    pool.active = true;
    pool.setActive(active);
    return pool;
  }

  mapBatch(
    items: BatchItem[],
    padding: Record<string, PaddingSpec>,
    transferBytes: boolean,
  ): Promise<HostBatch> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('pipeline workers are closed'));
    let slot = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i] < this.load[slot]) slot = i;
    const id = this.nextId++;
    const transfer: ArrayBuffer[] = [];
    if (transferBytes) {
      for (const { bytes } of items) {
        const b = bytes.buffer;
        if (b instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === b.byteLength)
          transfer.push(b);
      }
    }
    return new Promise<HostBatch>((resolve, reject) => {
      const msg: ToWorker = { type: 'map-batch', id, items, padding };
      try {
        this.threads[slot].postMessage(msg, transfer);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.pending.set(id, { resolve, reject, items, slot });
      this.load[slot] += items.length;
    });
  }

  private onMessage(slot: number, msg: FromWorker): void {
    if (msg.type !== 'batch' && msg.type !== 'batch-error') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    this.load[slot] -= p.items.length;
    if (msg.type === 'batch') p.resolve(msg.batch);
    else p.reject(batchFailure(p.items, msg.slot, msg.error));
  }

  private crash(err: Error): void {
    if (this.failure || this.closed) return;
    this.failure = err;
    for (const p of this.pending.values()) {
      const what = `a batch of ${p.items.length} starting with ${p.items[0]?.task.where}`;
      p.reject(new Error(`${err.message} while mapping ${what}`, { cause: err }));
    }
    this.pending.clear();
  }

  setActive(active: boolean): void {
    if (active === this.active || this.closed) return;
    this.active = active;
    for (const w of this.threads) {
      if (active) w.ref();
      else w.unref();
    }
  }

  /**
   * Stops the workers: each finishes the maps it has in flight and exits; one that has not
   * exited after CLOSE_GRACE_MS is terminated. Terminating a thread while it is inside a native
   * call can abort the whole process with some native addons (a JPEG binding tried for issue 4
   * threw a C++ exception nothing caught when its thread was stopped mid-decode), so it is only
   * the fallback.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    await Promise.all(
      this.threads.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.threadId === -1) return resolve(); // already exited
            const timer = setTimeout(
              () => void w.terminate().then(() => resolve()),
              CLOSE_GRACE_MS,
            );
            w.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            w.postMessage({ type: 'close' } satisfies ToWorker);
          }),
      ),
    );
  }
}
