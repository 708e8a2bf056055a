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
      allow_image_summary: true,
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

/** Fashion-MNIST (Debian dataset-fashion-mnist), compact ResNet 'xs', 5 epochs. */
export function compactResnetFashionMnist(): ImageClassificationExperimentConfig {
  const batch = 128;
  const stepsPerEpoch = Math.floor(FASHION_MNIST_TRAIN_EXAMPLES / batch);
  const trainSteps = 5 * stepsPerEpoch;
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

registerExperiment('image_classification', {
  factory: () => complete({}),
  taskType: 'image_classification',
  description:
    "Model Garden image_classification: the task's defaults only; give the rest with --config_file",
});

registerExperiment('compact_resnet_shapes', {
  factory: compactResnetShapes,
  taskType: 'image_classification',
  description:
    'compact ResNet (xs) on generated 32x32 shapes (8 classes); the demo default, no download',
});

registerExperiment('compact_resnet_fashion_mnist', {
  factory: compactResnetFashionMnist,
  taskType: 'image_classification',
  description: 'compact ResNet (xs) on Fashion-MNIST from Debian dataset-fashion-mnist, 5 epochs',
});

// ImageNet experiments of Model Garden (official/vision/configs/image_classification.py).
const IMAGENET_TRAIN_EXAMPLES = 1281167;
const IMAGENET_VAL_EXAMPLES = 50000;
const IMAGENET_INPUT_PATH_BASE = 'imagenet-2012-tfrecord';

/** Train/validation data on the ImageNet TFRecords, MG's paths and batch sizes. */
function imagenetData(trainBatch: number, evalBatch: number, train: object = {}) {
  return {
    train_data: {
      input_path: `${IMAGENET_INPUT_PATH_BASE}/train*`,
      is_training: true,
      global_batch_size: trainBatch,
      ...train,
    },
    validation_data: {
      input_path: `${IMAGENET_INPUT_PATH_BASE}/valid*`,
      is_training: false,
      global_batch_size: evalBatch,
    },
  };
}

/** Per-epoch loop, summary, checkpoint and validation cadence, as all MG ImageNet experiments. */
function imagenetTrainer(stepsPerEpoch: number, epochs: number, evalBatch: number) {
  return {
    steps_per_loop: stepsPerEpoch,
    summary_interval: stepsPerEpoch,
    checkpoint_interval: stepsPerEpoch,
    train_steps: epochs * stepsPerEpoch,
    validation_steps: Math.floor(IMAGENET_VAL_EXAMPLES / evalBatch),
    validation_interval: stepsPerEpoch,
  };
}

const linearWarmup = (steps: number) => ({
  type: 'linear',
  linear: { warmup_steps: steps, warmup_learning_rate: 0 },
});

/** MG `resnet_imagenet`: ResNet-50, 90 epochs, stepwise LR 0.1·bs/256 ÷10 at 30/60/80. */
export function resnetImagenet(): ImageClassificationExperimentConfig {
  const batch = 4096;
  const spe = Math.floor(IMAGENET_TRAIN_EXAMPLES / batch);
  const base = (0.1 * batch) / 256;
  return complete({
    runtime: { enable_xla: true },
    task: {
      model: {
        num_classes: 1001,
        input_size: [224, 224, 3],
        backbone: { type: 'resnet', resnet: { model_id: 50 } },
        norm_activation: { norm_momentum: 0.9, norm_epsilon: 1e-5, use_sync_bn: false },
      },
      losses: { l2_weight_decay: 1e-4 },
      ...imagenetData(batch, batch),
    },
    trainer: {
      ...imagenetTrainer(spe, 90, batch),
      optimizer_config: {
        optimizer: { type: 'sgd', sgd: { momentum: 0.9 } },
        learning_rate: {
          type: 'stepwise',
          stepwise: {
            boundaries: [30 * spe, 60 * spe, 80 * spe],
            values: [base, base / 10, base / 100, base / 1000],
          },
        },
        warmup: linearWarmup(5 * spe),
      },
    },
  });
}

/** MG `resnet_rs_imagenet`: ResNet-RS-50 at 160, swish, SE 0.25, RandAugment 10, EMA, cosine 350 epochs. */
export function resnetRsImagenet(): ImageClassificationExperimentConfig {
  const batch = 4096;
  const spe = Math.floor(IMAGENET_TRAIN_EXAMPLES / batch);
  return complete({
    task: {
      model: {
        num_classes: 1001,
        input_size: [160, 160, 3],
        backbone: {
          type: 'resnet',
          resnet: {
            model_id: 50,
            stem_type: 'v1',
            resnetd_shortcut: true,
            replace_stem_max_pool: true,
            se_ratio: 0.25,
            stochastic_depth_drop_rate: 0.0,
          },
        },
        dropout_rate: 0.25,
        norm_activation: {
          norm_momentum: 0.0,
          norm_epsilon: 1e-5,
          use_sync_bn: false,
          activation: 'swish',
        },
      },
      losses: { l2_weight_decay: 4e-5, label_smoothing: 0.1 },
      ...imagenetData(batch, batch, {
        aug_type: { type: 'randaug', randaug: { magnitude: 10 } },
      }),
    },
    trainer: {
      ...imagenetTrainer(spe, 350, batch),
      optimizer_config: {
        optimizer: { type: 'sgd', sgd: { momentum: 0.9 } },
        ema: { average_decay: 0.9999, trainable_weights_only: false },
        learning_rate: {
          type: 'cosine',
          cosine: { initial_learning_rate: 1.6, decay_steps: 350 * spe },
        },
        warmup: linearWarmup(5 * spe),
      },
    },
  });
}

/** MG `mobilenet_imagenet`: MobileNetV2, 500 epochs, RMSProp, exponential decay 0.98 per 2.5 epochs. */
export function mobilenetImagenet(): ImageClassificationExperimentConfig {
  const batch = 4096;
  const spe = Math.floor(IMAGENET_TRAIN_EXAMPLES / batch);
  return complete({
    task: {
      model: {
        num_classes: 1001,
        dropout_rate: 0.2,
        input_size: [224, 224, 3],
        backbone: {
          type: 'mobilenet',
          mobilenet: { model_id: 'MobileNetV2', filter_size_scale: 1.0 },
        },
        norm_activation: { norm_momentum: 0.997, norm_epsilon: 1e-3, use_sync_bn: false },
      },
      losses: { l2_weight_decay: 1e-5, label_smoothing: 0.1 },
      ...imagenetData(batch, batch),
    },
    trainer: {
      ...imagenetTrainer(spe, 500, batch),
      optimizer_config: {
        optimizer: { type: 'rmsprop', rmsprop: { rho: 0.9, momentum: 0.9, epsilon: 0.002 } },
        learning_rate: {
          type: 'exponential',
          exponential: {
            initial_learning_rate: 0.008 * Math.floor(batch / 128),
            decay_steps: Math.trunc(2.5 * spe),
            decay_rate: 0.98,
            staircase: true,
          },
        },
        warmup: linearWarmup(5 * spe),
      },
    },
  });
}

/** MG `deit_imagenet_pretrain`: ViT-B/16 under DeiT settings (AdamW 0.05, RandAugment 9, MixUp/CutMix). */
export function deitImagenetPretrain(): ImageClassificationExperimentConfig {
  const batch = 4096;
  const labelSmoothing = 0.1;
  const spe = Math.floor(IMAGENET_TRAIN_EXAMPLES / batch);
  return complete({
    task: {
      model: {
        num_classes: 1001,
        input_size: [224, 224, 3],
        kernel_initializer: 'zeros',
        backbone: {
          type: 'vit',
          vit: {
            model_name: 'vit-b16',
            representation_size: 768,
            init_stochastic_depth_rate: 0.1,
            original_init: false,
            transformer: { dropout_rate: 0.0, attention_dropout_rate: 0.0 },
          },
        },
      },
      losses: {
        l2_weight_decay: 0.0,
        label_smoothing: labelSmoothing,
        one_hot: false,
        soft_labels: true,
      },
      ...imagenetData(batch, batch, {
        aug_type: { type: 'randaug', randaug: { magnitude: 9, exclude_ops: ['Cutout'] } },
        mixup_and_cutmix: { label_smoothing: labelSmoothing },
      }),
    },
    trainer: {
      ...imagenetTrainer(spe, 300, batch),
      optimizer_config: {
        optimizer: {
          type: 'adamw',
          adamw: {
            weight_decay_rate: 0.05,
            include_in_weight_decay: ['.*(kernel|weight):0$'],
            gradient_clip_norm: 0.0,
          },
        },
        learning_rate: {
          type: 'cosine',
          cosine: { initial_learning_rate: (0.0005 * batch) / 512, decay_steps: 300 * spe },
        },
        warmup: linearWarmup(5 * spe),
      },
    },
  });
}

registerExperiment('resnet_imagenet', {
  factory: resnetImagenet,
  taskType: 'image_classification',
  description: 'Model Garden resnet_imagenet: ResNet-50 on ImageNet, 90 epochs, batch 4096',
});

registerExperiment('resnet_rs_imagenet', {
  factory: resnetRsImagenet,
  taskType: 'image_classification',
  description: 'Model Garden resnet_rs_imagenet: ResNet-RS-50 at 160x160, 350 epochs, EMA',
});

registerExperiment('mobilenet_imagenet', {
  factory: mobilenetImagenet,
  taskType: 'image_classification',
  description: 'Model Garden mobilenet_imagenet: MobileNetV2 on ImageNet, 500 epochs, RMSProp',
});

registerExperiment('deit_imagenet_pretrain', {
  factory: deitImagenetPretrain,
  taskType: 'image_classification',
  description: 'Model Garden deit_imagenet_pretrain: ViT-B/16 with DeiT settings, 300 epochs',
});

/**
 * MG `vit_imagenet_pretrain`: ViT-B/16 with a 768 representation layer, 300 epochs, AdamW with
 * weight decay 0.3 on kernels, cosine LR 0.003·bs/4096 after 10,000 warmup steps.
 */
export function vitImagenetPretrain(): ImageClassificationExperimentConfig {
  const batch = 4096;
  const spe = Math.floor(IMAGENET_TRAIN_EXAMPLES / batch);
  return complete({
    task: {
      model: {
        num_classes: 1001,
        input_size: [224, 224, 3],
        kernel_initializer: 'zeros',
        backbone: { type: 'vit', vit: { model_name: 'vit-b16', representation_size: 768 } },
      },
      losses: { l2_weight_decay: 0.0 },
      ...imagenetData(batch, batch),
    },
    trainer: {
      ...imagenetTrainer(spe, 300, batch),
      optimizer_config: {
        optimizer: {
          type: 'adamw',
          adamw: {
            weight_decay_rate: 0.3,
            include_in_weight_decay: ['.*(kernel|weight):0$'],
            gradient_clip_norm: 0.0,
          },
        },
        learning_rate: {
          type: 'cosine',
          cosine: { initial_learning_rate: (0.003 * batch) / 4096, decay_steps: 300 * spe },
        },
        warmup: linearWarmup(10000),
      },
    },
  });
}

/**
 * MG `vit_imagenet_finetune`: ViT-B/16 at 384x384 (position embeddings resized from the
 * pretraining grid), batch 512, 20,000 steps of SGD momentum 0.9 with global clip norm 1.0,
 * cosine LR from 0.003 and no warmup.
 */
export function vitImagenetFinetune(): ImageClassificationExperimentConfig {
  const batch = 512;
  const spe = Math.floor(IMAGENET_TRAIN_EXAMPLES / batch);
  const trainSteps = 20000;
  return complete({
    task: {
      model: {
        num_classes: 1001,
        input_size: [384, 384, 3],
        backbone: { type: 'vit', vit: { model_name: 'vit-b16' } },
      },
      losses: { l2_weight_decay: 0.0 },
      ...imagenetData(batch, batch),
    },
    trainer: {
      ...imagenetTrainer(spe, 0, batch),
      train_steps: trainSteps,
      optimizer_config: {
        optimizer: { type: 'sgd', sgd: { momentum: 0.9, global_clipnorm: 1.0 } },
        learning_rate: {
          type: 'cosine',
          cosine: { initial_learning_rate: 0.003, decay_steps: trainSteps },
        },
      },
    },
  });
}

registerExperiment('vit_imagenet_pretrain', {
  factory: vitImagenetPretrain,
  taskType: 'image_classification',
  description:
    'Model Garden vit_imagenet_pretrain: ViT-B/16 (representation 768), 300 epochs, AdamW',
});

registerExperiment('vit_imagenet_finetune', {
  factory: vitImagenetFinetune,
  taskType: 'image_classification',
  description: 'Model Garden vit_imagenet_finetune: ViT-B/16 at 384x384, 20k steps of SGD',
});
