/** RetinaNet: config, task and experiments, registered on import. */
import { tasks } from '../../core/registry.js';
import { retinanetExperimentConfig, type RetinaNetTaskConfig } from './config.js';
import { RetinaNetTask } from './task.js';
import './experiments.js';

tasks.register('retinanet', {
  experimentSchema: retinanetExperimentConfig,
  create: (taskConfig: unknown) => new RetinaNetTask(taskConfig as RetinaNetTaskConfig),
});

export * from './config.js';
export * from './task.js';
export * from './experiments.js';
