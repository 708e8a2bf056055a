/**
 * Registered video classification experiments with Model Garden's names
 * (official/vision/configs/video_classification.py and official/projects/movinet/configs/movinet.py):
 *
 * - `video_classification`: the task's defaults (ResNet-3D-50, no data set).
 * - `video_classification_kinetics400` / `_kinetics600`: ResNet-3D-50 (norm momentum 0.9, eps
 *   1e-5), l2 1e-4, train clips 64×224×224, evaluation 250×224×224, batch 1024 / 64, and MG's
 *   `add_trainer` schedule: SGD Nesterov momentum 0.9, cosine from 1.6 over 44 epochs, linear
 *   warmup from 0 over 5 epochs, epochs of `num_examples // batch` steps.
 * - `movinet_kinetics600`: the Kinetics-600 experiment with the MoViNet model (MG sets
 *   `task.model = MovinetModel()` on `video_classification_kinetics600`).
 */
import { registerExperiment } from '../../core/registry.js';
import {
  videoClassificationExperimentConfig,
  type VideoClassificationExperimentConfig,
} from './config.js';

/** MG `video_classification.kinetics400/600` data sets: classes and train / valid sizes. */
const KINETICS = {
  kinetics400: { classes: 400, train: 215570, valid: 17706 },
  kinetics600: { classes: 600, train: 366016, valid: 27780 },
} as const;

/** MG `add_trainer`: the schedule in epochs of `trainExamples // trainBatch` steps. */
function addTrainer(
  trainExamples: number,
  validExamples: number,
  trainBatch: number,
  evalBatch: number,
  learningRate = 1.6,
  trainEpochs = 44,
  warmupEpochs = 5,
) {
  const steps = Math.floor(trainExamples / trainBatch);
  return {
    steps_per_loop: steps,
    summary_interval: steps,
    checkpoint_interval: steps,
    train_steps: trainEpochs * steps,
    validation_steps: Math.floor(validExamples / evalBatch),
    validation_interval: steps,
    optimizer_config: {
      optimizer: { type: 'sgd', sgd: { momentum: 0.9, nesterov: true } },
      learning_rate: {
        type: 'cosine',
        cosine: { initial_learning_rate: learningRate, decay_steps: trainEpochs * steps },
      },
      warmup: {
        type: 'linear',
        linear: { warmup_steps: warmupEpochs * steps, warmup_learning_rate: 0 },
      },
    },
  };
}

/** MG `video_classification_kinetics400/600`, with `model` when given (else ResNet-3D-50). */
function kinetics(
  name: keyof typeof KINETICS,
  model: object = {
    backbone: { type: 'resnet_3d', resnet_3d: { model_id: 50 } },
    norm_activation: { norm_momentum: 0.9, norm_epsilon: 1e-5, use_sync_bn: false },
  },
): VideoClassificationExperimentConfig {
  const k = KINETICS[name];
  const data = (training: boolean) => ({
    name,
    num_classes: k.classes,
    is_training: training,
    split: training ? 'train' : 'valid',
    num_examples: training ? k.train : k.valid,
    feature_shape: training ? [64, 224, 224, 3] : [250, 224, 224, 3],
    drop_remainder: training,
    global_batch_size: training ? 1024 : 64,
  });
  return videoClassificationExperimentConfig.parse({
    task: {
      model,
      losses: { l2_weight_decay: 1e-4 },
      train_data: data(true),
      validation_data: data(false),
    },
    trainer: addTrainer(k.train, k.valid, 1024, 64),
  });
}

export const videoClassificationKinetics400 = (): VideoClassificationExperimentConfig =>
  kinetics('kinetics400');
export const videoClassificationKinetics600 = (): VideoClassificationExperimentConfig =>
  kinetics('kinetics600');
export const movinetKinetics600 = (): VideoClassificationExperimentConfig =>
  kinetics('kinetics600', { model_type: 'movinet' });

registerExperiment('video_classification', {
  factory: () => videoClassificationExperimentConfig.parse({}),
  taskType: 'video_classification',
  description:
    "Model Garden video_classification: the task's defaults (ResNet-3D-50); give the rest with --config_file",
});
registerExperiment('video_classification_kinetics400', {
  factory: videoClassificationKinetics400,
  taskType: 'video_classification',
  description: 'Model Garden video_classification_kinetics400: ResNet-3D-50 on Kinetics-400',
});
registerExperiment('video_classification_kinetics600', {
  factory: videoClassificationKinetics600,
  taskType: 'video_classification',
  description: 'Model Garden video_classification_kinetics600: ResNet-3D-50 on Kinetics-600',
});
registerExperiment('movinet_kinetics600', {
  factory: movinetKinetics600,
  taskType: 'video_classification',
  description: 'Model Garden movinet_kinetics600: MoViNet video classification on Kinetics-600',
});
