/**
 * The browser build's ./spawn_worker.ts (package.json `browser`): no worker threads; the input
 * pipeline maps in-process (the default worker count is 0).
 */
import type * as NodeSpawn from './spawn_worker.js';
import { nodeOnly } from '../../core/node_only.js';

export const spawnWorker: typeof NodeSpawn.spawnWorker = async () =>
  nodeOnly('input pipeline worker threads', 'use 0 workers');
export const defaultWorkerCount: typeof NodeSpawn.defaultWorkerCount = async () => 0;
