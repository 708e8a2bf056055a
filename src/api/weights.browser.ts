/**
 * The browser build's ./weights.ts (package.json `browser`): checkpoints are files, so loading
 * one needs Node; the browser loads vg models (`loadModel(url)`).
 */
import type * as NodeWeights from './weights.js';
import { nodeOnly } from '../core/node_only.js';

export type { LoadedCheckpoint } from './weights.js';

const hint = 'export it with `vision-garden export --format vg` and loadModel(url) it';
export const loadOurCheckpoint: typeof NodeWeights.loadOurCheckpoint = async (_m, file) =>
  nodeOnly(`loading checkpoint '${file}'`, hint);
export const loadCheckpoint: typeof NodeWeights.loadCheckpoint = async (_m, path) =>
  nodeOnly(`loading checkpoint '${path}'`, hint);
