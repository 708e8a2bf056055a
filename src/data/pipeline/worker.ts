/**
 * Worker-thread entry of the parallel pipeline: imports the map function named by the `init`
 * message (once), then maps and stacks the examples of each `map-batch` message, one batch at a
 * time in arrival order, and posts the batch back, moving its buffers (transfer list) instead of
 * copying them.
 */
import { parentPort } from 'node:worker_threads';
import {
  CONCURRENT_MAPS,
  loadMapFn,
  runBatch,
  serializeError,
  transferList,
} from './map_runner.js';
import type { FromWorker, ToWorker } from './protocol.js';
import type { MapFn } from './types.js';

const port = parentPort;
if (!port)
  throw new Error('src/data/pipeline/worker is a worker_threads entry, not a module to import');

let mapFn: Promise<MapFn> | undefined;
/** Batches wait here and are mapped one at a time, in arrival order. */
const queue: Extract<ToWorker, { type: 'map-batch' }>[] = [];
let busy = false;
let closing = false;
/** Closing the port leaves the thread nothing to wait for, so it exits by itself. */
const closeWhenIdle = (): void => {
  if (closing && !busy) port.close();
};
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(msg, transfer);

/** Maps the next queued batch, if none is being mapped. */
async function pump(): Promise<void> {
  if (busy) return;
  const job = queue.shift();
  if (!job) return closeWhenIdle();
  busy = true;
  const { id, items, padding } = job;
  try {
    if (!mapFn) throw new Error('worker got work before init');
    const out = await runBatch(await mapFn, items, padding, CONCURRENT_MAPS);
    if ('batch' in out) post({ type: 'batch', id, batch: out.batch }, transferList(out.batch));
    else post({ type: 'batch-error', id, slot: out.slot, error: serializeError(out.error) });
  } catch (err) {
    post({ type: 'batch-error', id, slot: -1, error: serializeError(err) });
  } finally {
    busy = false;
    void pump();
  }
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'close') {
    // Batches not started are dropped: nobody waits for them any more (WorkerPool.close).
    closing = true;
    queue.length = 0;
    closeWhenIdle();
    return;
  }
  if (msg.type === 'init') {
    mapFn = loadMapFn(msg.ref);
    mapFn.then(
      () => post({ type: 'ready' }),
      (err: unknown) => post({ type: 'init-error', error: serializeError(err) }),
    );
    return;
  }
  queue.push(msg);
  void pump();
});
