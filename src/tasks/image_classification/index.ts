/** Image classification: config, task and experiments, registered on import. */
import { tasks } from '../../core/registry.js';
import {
  imageClassificationExperimentConfig,
  type ImageClassificationTaskConfig,
} from './config.js';
import { ImageClassificationTask } from './task.js';
import './experiments.js';

tasks.register('image_classification', {
  experimentSchema: imageClassificationExperimentConfig,
  create: (taskConfig: unknown) =>
    new ImageClassificationTask(taskConfig as ImageClassificationTaskConfig),
});

export * from './config.js';
export * from './task.js';
export * from './experiments.js';
