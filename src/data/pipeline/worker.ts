/**
 * Worker-thread entry of the parallel pipeline: imports the map function named by the `init`
 * message (once), then maps and stacks the examples of each `map-batch` message and posts the
 * batch back, moving its buffers (transfer list) instead of copying them.
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
let inFlight = 0;
let closing = false;
/** Closing the port leaves the thread nothing to wait for, so it exits by itself. */
const closeWhenIdle = (): void => {
  if (closing && inFlight === 0) port.close();
};
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(msg, transfer);

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'close') {
    closing = true;
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
  const { id, items, padding } = msg;
  if (!mapFn) {
    post({
      type: 'batch-error',
      id,
      slot: -1,
      error: { name: 'Error', message: 'worker got work before init' },
    });
    return;
  }
  inFlight++;
  mapFn
    .then((fn) => runBatch(fn, items, padding, CONCURRENT_MAPS))
    .then(
      (out) => {
        if ('batch' in out) post({ type: 'batch', id, batch: out.batch }, transferList(out.batch));
        else post({ type: 'batch-error', id, slot: out.slot, error: serializeError(out.error) });
      },
      (err: unknown) => post({ type: 'batch-error', id, slot: -1, error: serializeError(err) }),
    )
    .finally(() => {
      inFlight--;
      closeWhenIdle();
    });
});
