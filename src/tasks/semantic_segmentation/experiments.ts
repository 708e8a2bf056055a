/**
 * Registered semantic segmentation experiments (Model Garden `configs/semantic_segmentation.py`:
 * `semantic_segmentation`, `seg_deeplabv3_pascal`, `seg_deeplabv3plus_pascal`,
 * `seg_deeplabv3plus_cityscapes`), with MG's defaults and schedules derived from the dataset
 * sizes and batch sizes: SGD momentum 0.9, polynomial decay (power 0.9) to 0, linear warmup of
 * 5 epochs from 0.
 */
import { registerExperiment } from '../../core/registry.js';
import {
  semanticSegmentationExperimentConfig,
  type SemanticSegmentationExperimentConfig,
} from './config.js';

const PASCAL_TRAIN_EXAMPLES = 10582;
const PASCAL_VAL_EXAMPLES = 1449;
const PASCAL_INPUT_PATH_BASE = 'pascal_voc_seg';
const CITYSCAPES_TRAIN_EXAMPLES = 2975;
const CITYSCAPES_VAL_EXAMPLES = 500;
const CITYSCAPES_INPUT_PATH_BASE = 'cityscapes';
const DEEPLAB_R101_IMAGENET =
  'gs://cloud-tpu-checkpoints/vision-2.0/deeplab/deeplab_resnet101_imagenet/ckpt-62400';

function complete(partial: object): SemanticSegmentationExperimentConfig {
  return semanticSegmentationExperimentConfig.parse(partial);
}

/** MG's DeepLab schedule for `epochs` of `stepsPerEpoch`. */
function deeplabTrainer(
  stepsPerEpoch: number,
  epochs: number,
  validationSteps: number,
  lr: number,
) {
  return {
    steps_per_loop: stepsPerEpoch,
    summary_interval: stepsPerEpoch,
    checkpoint_interval: stepsPerEpoch,
    train_steps: epochs * stepsPerEpoch,
    validation_steps: validationSteps,
    validation_interval: stepsPerEpoch,
    optimizer_config: {
      optimizer: { type: 'sgd', sgd: { momentum: 0.9 } },
      learning_rate: {
        type: 'polynomial',
        polynomial: {
          initial_learning_rate: lr,
          decay_steps: epochs * stepsPerEpoch,
          end_learning_rate: 0.0,
          power: 0.9,
        },
      },
      warmup: {
        type: 'linear',
        linear: { warmup_steps: 5 * stepsPerEpoch, warmup_learning_rate: 0 },
      },
    },
  };
}

/** Dilated ResNet-101, output stride 16, multigrid [1, 2, 4], stem v1 (level 4 = log2 16). */
const DILATED_R101 = {
  type: 'dilated_resnet',
  dilated_resnet: { model_id: 101, output_stride: 16, multigrid: [1, 2, 4], stem_type: 'v1' },
};

const V3PLUS_HEAD = {
  level: 4,
  num_convs: 2,
  feature_fusion: 'deeplabv3plus',
  low_level: 2,
  low_level_num_filters: 48,
};

/** MG's PASCAL rows: 21 classes, 512x512, scale jitter 0.5..2, eval at the original size. */
function pascal(decoderRates: number[], head: object): SemanticSegmentationExperimentConfig {
  const trainBatch = 16;
  const evalBatch = 8;
  const stepsPerEpoch = Math.floor(PASCAL_TRAIN_EXAMPLES / trainBatch);
  return complete({
    task: {
      model: {
        num_classes: 21,
        input_size: [null, null, 3],
        backbone: DILATED_R101,
        decoder: { type: 'aspp', aspp: { level: 4, dilation_rates: decoderRates } },
        head,
        norm_activation: {
          activation: 'swish',
          norm_momentum: 0.9997,
          norm_epsilon: 1e-3,
          use_sync_bn: true,
        },
      },
      losses: { l2_weight_decay: 1e-4 },
      train_data: {
        input_path: `${PASCAL_INPUT_PATH_BASE}/train_aug*`,
        output_size: [512, 512],
        is_training: true,
        global_batch_size: trainBatch,
        aug_scale_min: 0.5,
        aug_scale_max: 2.0,
      },
      validation_data: {
        input_path: `${PASCAL_INPUT_PATH_BASE}/val*`,
        output_size: [512, 512],
        is_training: false,
        global_batch_size: evalBatch,
        resize_eval_groundtruth: false,
        groundtruth_padded_size: [512, 512],
        drop_remainder: false,
      },
      init_checkpoint: DEEPLAB_R101_IMAGENET,
      init_checkpoint_modules: 'backbone',
    },
    trainer: deeplabTrainer(stepsPerEpoch, 45, Math.floor(PASCAL_VAL_EXAMPLES / evalBatch), 0.007),
  });
}

/** MG `seg_deeplabv3_pascal`: ASPP rates [12, 24, 36], DeepLabV3 head (no convs). */
export function segDeeplabv3Pascal(): SemanticSegmentationExperimentConfig {
  return pascal([12, 24, 36], { level: 4, num_convs: 0 });
}

/** MG `seg_deeplabv3plus_pascal`: ASPP rates [6, 12, 18], V3+ head fusing level 2. */
export function segDeeplabv3plusPascal(): SemanticSegmentationExperimentConfig {
  return pascal([6, 12, 18], V3PLUS_HEAD);
}

/** MG `seg_deeplabv3plus_cityscapes`: 19 classes, 1024x2048 resized, 512x1024 crops. */
export function segDeeplabv3plusCityscapes(): SemanticSegmentationExperimentConfig {
  const trainBatch = 16;
  const evalBatch = 16;
  const stepsPerEpoch = Math.floor(CITYSCAPES_TRAIN_EXAMPLES / trainBatch);
  return complete({
    task: {
      model: {
        num_classes: 19,
        input_size: [null, null, 3],
        backbone: DILATED_R101,
        decoder: {
          type: 'aspp',
          aspp: { level: 4, dilation_rates: [6, 12, 18], pool_kernel_size: [512, 1024] },
        },
        head: V3PLUS_HEAD,
        norm_activation: {
          activation: 'swish',
          norm_momentum: 0.99,
          norm_epsilon: 1e-3,
          use_sync_bn: true,
        },
      },
      losses: { l2_weight_decay: 1e-4 },
      train_data: {
        input_path: `${CITYSCAPES_INPUT_PATH_BASE}/train_fine**`,
        crop_size: [512, 1024],
        output_size: [1024, 2048],
        is_training: true,
        global_batch_size: trainBatch,
        aug_scale_min: 0.5,
        aug_scale_max: 2.0,
      },
      validation_data: {
        input_path: `${CITYSCAPES_INPUT_PATH_BASE}/val_fine*`,
        output_size: [1024, 2048],
        is_training: false,
        global_batch_size: evalBatch,
        resize_eval_groundtruth: true,
        drop_remainder: false,
      },
      init_checkpoint: DEEPLAB_R101_IMAGENET,
      init_checkpoint_modules: 'backbone',
    },
    trainer: deeplabTrainer(
      stepsPerEpoch,
      500,
      Math.floor(CITYSCAPES_VAL_EXAMPLES / evalBatch),
      0.01,
    ),
  });
}

registerExperiment('semantic_segmentation', {
  factory: () => complete({}),
  taskType: 'semantic_segmentation',
  description:
    "Model Garden semantic_segmentation: the task's defaults only; give the rest with --config_file",
});
registerExperiment('seg_deeplabv3_pascal', {
  factory: segDeeplabv3Pascal,
  taskType: 'semantic_segmentation',
  description:
    'DeepLabV3, dilated ResNet-101 OS16, PASCAL VOC 512x512 (Model Garden seg_deeplabv3_pascal)',
});
registerExperiment('seg_deeplabv3plus_pascal', {
  factory: segDeeplabv3plusPascal,
  taskType: 'semantic_segmentation',
  description:
    'DeepLabV3+, dilated ResNet-101 OS16, PASCAL VOC 512x512 (Model Garden seg_deeplabv3plus_pascal)',
});
registerExperiment('seg_deeplabv3plus_cityscapes', {
  factory: segDeeplabv3plusCityscapes,
  taskType: 'semantic_segmentation',
  description:
    'DeepLabV3+, dilated ResNet-101 OS16, Cityscapes 512x1024 crops (Model Garden seg_deeplabv3plus_cityscapes)',
});
