/** vision-garden public API. */
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
