/** Mask R-CNN (and Faster R-CNN, Cascade RCNN-RS): config, task and experiments, registered on import. */
import { tasks } from '../../core/registry.js';
import { maskrcnnExperimentConfig, type MaskRCNNTaskConfig } from './config.js';
import { MaskRCNNTask } from './task.js';
import './experiments.js';

tasks.register('maskrcnn', {
  experimentSchema: maskrcnnExperimentConfig,
  create: (taskConfig: unknown) => new MaskRCNNTask(taskConfig as MaskRCNNTaskConfig),
});

export * from './config.js';
export * from './task.js';
export * from './experiments.js';
