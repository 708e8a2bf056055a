/**
 * The browser build's ./atomic_write.ts (package.json `browser`): writing files needs Node.
 */
import type * as NodeAtomic from './atomic_write.js';
import { nodeOnly } from './node_only.js';

export type { AtomicWritePhase, AtomicWriteHook } from './atomic_write.js';

export const TEMP_SUFFIX: typeof NodeAtomic.TEMP_SUFFIX = /\.tmp-(\d+)$/;
export const tempPathFor: typeof NodeAtomic.tempPathFor = (path) =>
  nodeOnly(`writing file '${path}'`);
export const writeFileAtomic: typeof NodeAtomic.writeFileAtomic = async (path) =>
  nodeOnly(`writing file '${path}'`);
export const writeFileAtomicSync: typeof NodeAtomic.writeFileAtomicSync = (path) =>
  nodeOnly(`writing file '${path}'`);
export const writeAllSync: typeof NodeAtomic.writeAllSync = () => nodeOnly('writing a file');
