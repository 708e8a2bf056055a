/** vision-garden public API. Importing it registers every experiment (src/tasks/index.ts). */
export * from './api/index.js';
export * from './core/random.js';
export * from './core/layer.js';
export * from './core/backend/index.js';
export * from './core/config/index.js';
export * from './core/registry.js';
export * from './core/task.js';
export * from './core/step.js';
export * from './core/proto/index.js';
export * from './data/tfrecord/index.js';
export * from './evaluation/coco/index.js';
export * from './ops/masks/index.js';
export * from './evaluation/segmentation.js';
export * from './evaluation/video.js';
export * from './evaluation/classification.js';
export * from './train/checkpoint.js';
export * from './train/trainer.js';
export {
  readNpy,
  readNpz,
  writeNpy,
  writeNpz,
  parseNpy,
  parseNpz,
  encodeNpy,
  encodeNpz,
  type NdArray,
  type NpyDtype,
} from './interop/numpy.js';
export {
  mapWeights,
  formatReport,
  graphFromKeys,
  graphFromTrackable,
  type MappingReport,
} from './interop/weight_map.js';
export {
  tfCheckpointSource,
  tensorMapSource,
  type CheckpointSource,
} from './interop/checkpoint_source.js';
export { loadWeights, type LoadOptions, type LoadResult } from './interop/load.js';
export { writeModelTfCheckpoint } from './interop/export_tf.js';
export { kerasH5Source } from './interop/keras/h5_source.js';
export { openCheckpointSource } from './train/open_checkpoint.js';
