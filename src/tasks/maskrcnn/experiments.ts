/**
 * Registered R-CNN experiments (Model Garden `configs/maskrcnn.py`: `fasterrcnn_resnetfpn_coco`,
 * `maskrcnn_resnetfpn_coco`, `maskrcnn_spinenet_coco`, `cascadercnn_spinenet_coco`) with MG's
 * models (./model_defaults.ts), data and schedules. MG's `annotation_file`
 * (coco/instances_val2017.json) is left unset: the evaluation ground truth is then scanned from
 * validation_data's TFRecords (with masks) or taken from the evaluated examples (boxes only).
 */
import { registerExperiment } from '../../core/registry.js';
import { maskrcnnExperimentConfig, type MaskRCNNExperimentConfig } from './config.js';
import { MASKRCNN_EXPERIMENT_MODELS } from './model_defaults.js';

const COCO_INPUT_PATH_BASE = 'coco';
const COCO_VAL_EXAMPLES = 5000;
const EVAL_BATCH = 8;

interface Schedule {
  stepsPerEpoch: number;
  trainSteps: number;
  boundaries: [number, number];
  values: [number, number, number];
  warmupSteps: number;
}

function trainer(s: Schedule) {
  return {
    train_steps: s.trainSteps,
    validation_steps: Math.floor(COCO_VAL_EXAMPLES / EVAL_BATCH),
    validation_interval: s.stepsPerEpoch,
    steps_per_loop: s.stepsPerEpoch,
    summary_interval: s.stepsPerEpoch,
    checkpoint_interval: s.stepsPerEpoch,
    optimizer_config: {
      optimizer: { type: 'sgd', sgd: { momentum: 0.9 } },
      learning_rate: { type: 'stepwise', stepwise: { boundaries: s.boundaries, values: s.values } },
      warmup: {
        type: 'linear',
        linear: { warmup_steps: s.warmupSteps, warmup_learning_rate: 0.0067 },
      },
    },
  };
}

function experiment(
  name: string,
  trainBatch: number,
  scale: [number, number],
  schedule: Schedule,
  extraTask: object = {},
): MaskRCNNExperimentConfig {
  return maskrcnnExperimentConfig.parse({
    runtime: { mixed_precision_dtype: 'bfloat16' },
    task: {
      ...extraTask,
      model: MASKRCNN_EXPERIMENT_MODELS[name],
      losses: { l2_weight_decay: 0.00004 },
      train_data: {
        input_path: `${COCO_INPUT_PATH_BASE}/train*`,
        is_training: true,
        global_batch_size: trainBatch,
        parser: { aug_rand_hflip: true, aug_scale_min: scale[0], aug_scale_max: scale[1] },
      },
      validation_data: {
        input_path: `${COCO_INPUT_PATH_BASE}/val*`,
        is_training: false,
        global_batch_size: EVAL_BATCH,
        drop_remainder: false,
      },
    },
    trainer: trainer(schedule),
  });
}

/** MG's ResNet-50 FPN schedule: 22,500 steps of batch 64, backbone from ImageNet. */
const RESNET_SCHEDULE: Schedule = {
  stepsPerEpoch: 500,
  trainSteps: 22500,
  boundaries: [15000, 20000],
  values: [0.12, 0.012, 0.0012],
  warmupSteps: 500,
};
const RESNET_INIT = {
  init_checkpoint: 'gs://cloud-tpu-checkpoints/vision-2.0/resnet50_imagenet/ckpt-28080',
  init_checkpoint_modules: 'backbone',
};

/** MG's SpineNet schedules: 463 steps per epoch at batch 256. */
function spinenetSchedule(epochs: number, boundaryEpochs: [number, number]): Schedule {
  const e = 463;
  return {
    stepsPerEpoch: e,
    trainSteps: e * epochs,
    boundaries: [e * boundaryEpochs[0], e * boundaryEpochs[1]],
    values: [0.32, 0.032, 0.0032],
    warmupSteps: 2000,
  };
}

export const fasterrcnnResnetfpnCoco = () =>
  experiment('fasterrcnn_resnetfpn_coco', 64, [0.8, 1.25], RESNET_SCHEDULE, RESNET_INIT);
export const maskrcnnResnetfpnCoco = () =>
  experiment('maskrcnn_resnetfpn_coco', 64, [0.8, 1.25], RESNET_SCHEDULE, RESNET_INIT);
export const maskrcnnSpinenetCoco = () =>
  experiment('maskrcnn_spinenet_coco', 256, [0.5, 2.0], spinenetSchedule(350, [320, 340]));
export const cascadercnnSpinenetCoco = () =>
  experiment('cascadercnn_spinenet_coco', 256, [0.1, 2.5], spinenetSchedule(500, [475, 490]));

const ENTRIES: [string, () => MaskRCNNExperimentConfig, string][] = [
  [
    'fasterrcnn_resnetfpn_coco',
    fasterrcnnResnetfpnCoco,
    'Faster R-CNN ResNet-50 FPN on COCO, 1024x1024',
  ],
  ['maskrcnn_resnetfpn_coco', maskrcnnResnetfpnCoco, 'Mask R-CNN ResNet-50 FPN on COCO, 1024x1024'],
  ['maskrcnn_spinenet_coco', maskrcnnSpinenetCoco, 'Mask R-CNN SpineNet-49 on COCO, 640x640'],
  [
    'cascadercnn_spinenet_coco',
    cascadercnnSpinenetCoco,
    'Cascade RCNN-RS SpineNet-49 on COCO, 640x640',
  ],
];
for (const [name, factory, what] of ENTRIES) {
  registerExperiment(name, {
    factory,
    taskType: 'maskrcnn',
    description: `${what} (Model Garden ${name})`,
  });
}
