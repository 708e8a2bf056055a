/**
 * Registered RetinaNet experiments (Model Garden `configs/retinanet.py`: `retinanet`,
 * `retinanet_resnetfpn_coco`, `retinanet_spinenet_coco`, `retinanet_mobile_coco`), with MG's
 * defaults and schedules derived from COCO's size and the batch size.
 */
import { registerExperiment } from '../../core/registry.js';
import { retinanetExperimentConfig, type RetinaNetExperimentConfig } from './config.js';

const COCO_INPUT_PATH_BASE = 'coco';
const COCO_TRAIN_EXAMPLES = 118287;
const COCO_VAL_EXAMPLES = 5000;
const TRAIN_BATCH = 256;
const EVAL_BATCH = 8;
const STEPS_PER_EPOCH = Math.floor(COCO_TRAIN_EXAMPLES / TRAIN_BATCH);

function complete(partial: object): RetinaNetExperimentConfig {
  return retinanetExperimentConfig.parse(partial);
}

/** MG's COCO schedule: SGD momentum 0.9, stepwise ×0.1 at two epochs, linear warmup. */
function cocoTrainer(epochs: number, boundaryEpochs: [number, number], warmupSteps: number) {
  const base = 0.32 * (TRAIN_BATCH / 256);
  return {
    train_steps: epochs * STEPS_PER_EPOCH,
    validation_steps: Math.floor(COCO_VAL_EXAMPLES / EVAL_BATCH),
    validation_interval: STEPS_PER_EPOCH,
    steps_per_loop: STEPS_PER_EPOCH,
    summary_interval: STEPS_PER_EPOCH,
    checkpoint_interval: STEPS_PER_EPOCH,
    optimizer_config: {
      optimizer: { type: 'sgd', sgd: { momentum: 0.9 } },
      learning_rate: {
        type: 'stepwise',
        stepwise: {
          boundaries: boundaryEpochs.map((e) => e * STEPS_PER_EPOCH),
          values: [base, base / 10, base / 100],
        },
      },
      warmup: {
        type: 'linear',
        linear: { warmup_steps: warmupSteps, warmup_learning_rate: 0.0067 },
      },
    },
  };
}

/** COCO train/validation inputs with the parser's scale jitter. */
function cocoData(scaleMin: number, scaleMax: number) {
  return {
    train_data: {
      input_path: `${COCO_INPUT_PATH_BASE}/train*`,
      is_training: true,
      global_batch_size: TRAIN_BATCH,
      parser: { aug_rand_hflip: true, aug_scale_min: scaleMin, aug_scale_max: scaleMax },
    },
    validation_data: {
      input_path: `${COCO_INPUT_PATH_BASE}/val*`,
      is_training: false,
      global_batch_size: EVAL_BATCH,
    },
  };
}

/** MG `retinanet_resnetfpn_coco`: ResNet-50 + FPN, 640×640, 72 epochs, backbone from ImageNet. */
export function retinanetResnetfpnCoco(): RetinaNetExperimentConfig {
  return complete({
    runtime: { mixed_precision_dtype: 'bfloat16' },
    task: {
      init_checkpoint: 'gs://cloud-tpu-checkpoints/vision-2.0/resnet50_imagenet/ckpt-28080',
      init_checkpoint_modules: 'backbone',
      model: {
        num_classes: 91,
        input_size: [640, 640, 3],
        norm_activation: { use_sync_bn: false },
        min_level: 3,
        max_level: 7,
      },
      losses: { l2_weight_decay: 1e-4 },
      ...cocoData(0.8, 1.2),
    },
    trainer: cocoTrainer(72, [57, 67], 500),
  });
}

/** MG `retinanet_spinenet_coco`: SpineNet-49, identity decoder, 640×640, 500 epochs. */
export function retinanetSpinenetCoco(): RetinaNetExperimentConfig {
  return complete({
    runtime: { mixed_precision_dtype: 'float32' },
    task: {
      model: {
        backbone: {
          type: 'spinenet',
          spinenet: { model_id: '49', stochastic_depth_drop_rate: 0.2, min_level: 3, max_level: 7 },
        },
        decoder: { type: 'identity' },
        anchor: { anchor_size: 3 },
        norm_activation: { use_sync_bn: true, activation: 'swish' },
        num_classes: 91,
        input_size: [640, 640, 3],
        min_level: 3,
        max_level: 7,
      },
      losses: { l2_weight_decay: 4e-5 },
      ...cocoData(0.1, 2.0),
    },
    trainer: cocoTrainer(500, [475, 490], 2000),
  });
}

/** MG `retinanet_mobile_coco`: Mobile SpineNet-49, separable 48-filter head, 384×384, 600 epochs. */
export function retinanetMobileCoco(): RetinaNetExperimentConfig {
  return complete({
    runtime: { mixed_precision_dtype: 'float32' },
    task: {
      model: {
        backbone: {
          type: 'spinenet_mobile',
          spinenet_mobile: {
            model_id: '49',
            stochastic_depth_drop_rate: 0.2,
            min_level: 3,
            max_level: 7,
            use_keras_upsampling_2d: false,
          },
        },
        decoder: { type: 'identity' },
        head: { num_filters: 48, use_separable_conv: true },
        anchor: { anchor_size: 3 },
        norm_activation: { use_sync_bn: true, activation: 'swish' },
        num_classes: 91,
        input_size: [384, 384, 3],
        min_level: 3,
        max_level: 7,
      },
      losses: { l2_weight_decay: 3e-5 },
      ...cocoData(0.5, 2.0),
    },
    trainer: cocoTrainer(600, [575, 590], 2000),
  });
}

registerExperiment('retinanet', {
  factory: () => complete({}),
  taskType: 'retinanet',
  description: "Model Garden retinanet: the task's defaults only; give the rest with --config_file",
});
registerExperiment('retinanet_resnetfpn_coco', {
  factory: retinanetResnetfpnCoco,
  taskType: 'retinanet',
  description: 'RetinaNet ResNet-50 FPN on COCO, 640x640 (Model Garden retinanet_resnetfpn_coco)',
});
registerExperiment('retinanet_spinenet_coco', {
  factory: retinanetSpinenetCoco,
  taskType: 'retinanet',
  description: 'RetinaNet SpineNet-49 on COCO, 640x640 (Model Garden retinanet_spinenet_coco)',
});
registerExperiment('retinanet_mobile_coco', {
  factory: retinanetMobileCoco,
  taskType: 'retinanet',
  description: 'RetinaNet Mobile SpineNet-49 on COCO, 384x384 (Model Garden retinanet_mobile_coco)',
});
