/**
 * Registered video classification experiments with Model Garden's names. `movinet_kinetics600`
 * as official/projects/movinet/configs/movinet.py: Model Garden's `video_classification_kinetics600`
 * (600 classes; train clips 64×224×224, evaluation 250×224×224, batch 1024 / 64) with the MoViNet
 * model. The data set's other fields (name, split, example counts) belong to the input pipeline,
 * which is not implemented yet (config.ts); the trainer section is the defaults.
 */
import { registerExperiment } from '../../core/registry.js';
import {
  videoClassificationExperimentConfig,
  type VideoClassificationExperimentConfig,
} from './config.js';

export function movinetKinetics600(): VideoClassificationExperimentConfig {
  return videoClassificationExperimentConfig.parse({
    task: {
      train_data: {
        num_classes: 600,
        is_training: true,
        feature_shape: [64, 224, 224, 3],
        global_batch_size: 1024,
      },
      validation_data: {
        num_classes: 600,
        is_training: false,
        feature_shape: [250, 224, 224, 3],
        global_batch_size: 64,
        drop_remainder: false,
      },
    },
  });
}

registerExperiment('movinet_kinetics600', {
  factory: movinetKinetics600,
  taskType: 'video_classification',
  description: 'Model Garden movinet_kinetics600: MoViNet video classification on Kinetics-600',
});
