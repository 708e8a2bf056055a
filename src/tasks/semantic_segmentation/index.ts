/** Semantic segmentation: config, task and experiments, registered on import. */
import { tasks } from '../../core/registry.js';
import {
  semanticSegmentationExperimentConfig,
  type SemanticSegmentationTaskConfig,
} from './config.js';
import { SemanticSegmentationTask } from './task.js';
import './experiments.js';

tasks.register('semantic_segmentation', {
  experimentSchema: semanticSegmentationExperimentConfig,
  create: (taskConfig: unknown) =>
    new SemanticSegmentationTask(taskConfig as SemanticSegmentationTaskConfig),
});

export * from './config.js';
export * from './task.js';
export * from './experiments.js';
