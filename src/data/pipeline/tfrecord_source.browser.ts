/**
 * The browser build's ./tfrecord_source.ts (package.json `browser`): TFRecord files are read
 * from the file system, so they need Node.
 */
import type * as NodeSource from './tfrecord_source.js';
import { nodeOnly } from '../../core/node_only.js';

export type { TFRecordSourceOptions, TFRecordExampleSource } from './tfrecord_source.js';

export const tfrecordSource: typeof NodeSource.tfrecordSource = (pattern) =>
  nodeOnly(`reading TFRecord files '${String(pattern)}'`);
