/**
 * Registered image classification experiments. Each is a function returning a complete config
 * (Model Garden's `exp_factory.register_config_factory`), with schedules derived from the
 * dataset size and batch size.
 */
import { registerExperiment } from '../../core/registry.js';
import {
  imageClassificationExperimentConfig,
  type ImageClassificationExperimentConfig,
} from './config.js';

const FASHION_MNIST_TRAIN_EXAMPLES = 60000;
const FASHION_MNIST_TEST_EXAMPLES = 10000;

/** Parses a partial config into a complete one (defaults filled, strictly checked). */
function complete(partial: object): ImageClassificationExperimentConfig {
  return imageClassificationExperimentConfig.parse(partial);
}

/** SGD momentum 0.9, cosine decay to 0 over the run, linear warmup (as resnet_rs_imagenet). */
function sgdCosine(initialLr: number, trainSteps: number, warmupSteps: number) {
  return {
    optimizer: { type: 'sgd', sgd: { momentum: 0.9 } },
    learning_rate: {
      type: 'cosine',
      cosine: { initial_learning_rate: initialLr, decay_steps: trainSteps },
    },
    warmup: { type: 'linear', linear: { warmup_steps: warmupSteps, warmup_learning_rate: 0 } },
  };
}

/** The built-in default: generated shapes, a tiny compact ResNet; trains in minutes on 2 cores. */
export function compactResnetShapes(): ImageClassificationExperimentConfig {
  const batch = 32;
  const trainSteps = 240;
  return complete({
    task: {
      model: {
        num_classes: 8,
        input_size: [32, 32, 3],
        backbone: { type: 'compact_resnet', compact_resnet: { model_id: 'xs' } },
      },
      losses: { l2_weight_decay: 5e-5, label_smoothing: 0.0 },
      evaluation: { top_k: 3 },
      train_data: {
        tfds_name: 'vg_shapes',
        tfds_split: 'train',
        global_batch_size: batch,
        aug_rand_hflip: true,
      },
      validation_data: {
        tfds_name: 'vg_shapes',
        tfds_split: 'test',
        global_batch_size: 128,
        drop_remainder: false,
      },
    },
    trainer: {
      train_steps: trainSteps,
      steps_per_loop: 20,
      summary_interval: 20,
      checkpoint_interval: 80,
      validation_interval: 120,
      validation_steps: -1,
      max_to_keep: 3,
      best_checkpoint_export_subdir: 'best_ckpt',
      best_checkpoint_eval_metric: 'accuracy',
      optimizer_config: sgdCosine(0.05, trainSteps, 20),
    },
  });
}

/** Fashion-MNIST (Debian dataset-fashion-mnist), compact ResNet 'xs', 3 epochs. */
export function compactResnetFashionMnist(): ImageClassificationExperimentConfig {
  const batch = 128;
  const stepsPerEpoch = Math.floor(FASHION_MNIST_TRAIN_EXAMPLES / batch);
  const trainSteps = 3 * stepsPerEpoch;
  return complete({
    task: {
      model: {
        num_classes: 10,
        input_size: [28, 28, 1],
        backbone: { type: 'compact_resnet', compact_resnet: { model_id: 'xs' } },
      },
      losses: { l2_weight_decay: 5e-5 },
      train_data: {
        tfds_name: 'fashion_mnist',
        tfds_split: 'train',
        global_batch_size: batch,
        aug_rand_hflip: true,
      },
      validation_data: {
        tfds_name: 'fashion_mnist',
        tfds_split: 'test',
        global_batch_size: 500,
        drop_remainder: false,
      },
    },
    trainer: {
      train_steps: trainSteps,
      steps_per_loop: 50,
      summary_interval: 50,
      checkpoint_interval: stepsPerEpoch,
      validation_interval: stepsPerEpoch,
      validation_steps: Math.ceil(FASHION_MNIST_TEST_EXAMPLES / 500),
      max_to_keep: 3,
      best_checkpoint_export_subdir: 'best_ckpt',
      best_checkpoint_eval_metric: 'accuracy',
      optimizer_config: sgdCosine(0.1, trainSteps, Math.floor(stepsPerEpoch / 4)),
    },
  });
}

registerExperiment('compact_resnet_shapes', {
  factory: compactResnetShapes,
  taskType: 'image_classification',
  description:
    'compact ResNet (xs) on generated 32x32 shapes (8 classes); the demo default, no download',
});

registerExperiment('compact_resnet_fashion_mnist', {
  factory: compactResnetFashionMnist,
  taskType: 'image_classification',
  description: 'compact ResNet (xs) on Fashion-MNIST from Debian dataset-fashion-mnist, 3 epochs',
});
