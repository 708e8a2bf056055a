/** Video classification (MoViNet): config, task and experiments, registered on import. */
import { tasks } from '../../core/registry.js';
import {
  videoClassificationExperimentConfig,
  type VideoClassificationTaskConfig,
} from './config.js';
import { VideoClassificationTask } from './task.js';
import './experiments.js';

tasks.register('video_classification', {
  experimentSchema: videoClassificationExperimentConfig,
  create: (taskConfig: unknown) =>
    new VideoClassificationTask(taskConfig as VideoClassificationTaskConfig),
});

export * from './config.js';
export * from './task.js';
export * from './experiments.js';
