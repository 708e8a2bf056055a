/**
 * The browser build's ./tfrecord_to_coco.ts (package.json `browser`): scanning TFRecord files
 * for a COCO ground truth reads the file system, so it needs Node.
 */
import type * as NodeSource from './tfrecord_to_coco.js';
import { nodeOnly } from '../../core/node_only.js';

export type { TfRecordCocoOptions, CocoInstancesJson } from './tfrecord_to_coco.js';

export const cocoInstancesFromTfRecords: typeof NodeSource.cocoInstancesFromTfRecords = async (
  pattern,
) => nodeOnly(`scanning TFRecord files '${String(pattern)}' for the COCO ground truth`);
