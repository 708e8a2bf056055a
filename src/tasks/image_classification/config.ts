/**
 * Image classification task config, field for field as Model Garden's
 * `configs/image_classification.py` (DataConfig, ImageClassificationModel, Losses, Evaluation,
 * ImageClassificationTask), so its YAML files parse here. The TFRecord input (`input_path`) reads
 * the augmentation fields as Model Garden's build_inputs does (see task.ts `parserOptionsFor`);
 * the in-memory built-in datasets (`tfds_name`) use only aug_rand_hflip.
 */
import { z } from 'zod';
import {
  bool,
  config,
  extendConfig,
  float,
  int,
  list,
  noEffect,
  notSupported,
  optBool,
  optFloat,
  optInt,
  optList,
  optStr,
  optSub,
  str,
  sub,
  subWith,
} from '../../core/config/schema.js';
import {
  dataConfig,
  dataSplits,
  experimentConfigSchema,
  initCheckpointModules,
  taskConfig,
} from '../../core/config/definitions.js';
import {
  augmentationConfig,
  dataDecoderConfig,
  mixupAndCutmixConfig,
  normActivationConfig,
  randomErasingConfig,
} from '../../core/config/vision_common.js';
import { backboneConfig } from '../../modeling/backbones/config.js';

export const classificationDataConfig = extendConfig(dataConfig, {
  weights: z.null().default(null),
  global_batch_size: z.int().nonnegative().default(0),
  /** Must match the input's role: true for train_data, false for validation_data (task.ts). */
  is_training: bool(true),
  /** MG's TPU files set bfloat16 for speed; images and compute are float32 here. */
  dtype: noEffect(str('float32'), 'reduced-precision input images; float32 here'),
  shuffle_buffer_size: int(10000),
  cycle_length: notSupported(int(10)),
  is_multilabel: bool(false),
  aug_rand_hflip: bool(true),
  aug_crop: optBool(true),
  /** MG's classification task does not pass it to its parser, which uses (0.08, 1.0). */
  crop_area_range: notSupported(optList(z.number()).default([0.08, 1.0])),
  aug_type: optSub(augmentationConfig),
  three_augment: bool(false),
  color_jitter: float(0),
  random_erasing: optSub(randomErasingConfig),
  file_type: str('tfrecord'),
  image_field_key: str('image/encoded'),
  label_field_key: str('image/class/label'),
  decode_jpeg_only: bool(true),
  mixup_and_cutmix: optSub(mixupAndCutmixConfig),
  /** MG's classification task builds its own decoder from the two field keys. */
  decoder: notSupported(sub(dataDecoderConfig)),
  /** Legacy augmentation fields; MG's classification task does not read them (aug_type does). */
  aug_policy: notSupported(optStr()),
  randaug_magnitude: notSupported(optInt(10)),
  center_crop_fraction: optFloat(0.875),
  tf_resize_method: str('bilinear'),
  /** Repeated augmentation, a later Model Garden field (its params dumps carry null): not ported. */
  repeated_augment: notSupported(optInt()),
});

export const imageClassificationModelConfig = config({
  num_classes: int(0),
  input_size: list(z.int()),
  backbone: sub(backboneConfig),
  dropout_rate: float(0),
  norm_activation: subWith(normActivationConfig, { use_sync_bn: false }),
  add_head_batch_norm: bool(false),
  kernel_initializer: str('random_uniform'),
  output_softmax: notSupported(bool(false)),
});

export const classificationLossesConfig = config({
  loss_weight: float(1.0),
  one_hot: bool(true),
  label_smoothing: float(0.0),
  l2_weight_decay: float(0.0),
  soft_labels: bool(false),
  use_binary_cross_entropy: bool(false),
});

export const classificationEvaluationConfig = config({
  top_k: int(5),
  precision_and_recall_thresholds: notSupported(optList(z.number())),
  report_per_class_precision_and_recall: notSupported(bool(false)),
});

export const imageClassificationTaskConfig = taskConfig({
  model: sub(imageClassificationModelConfig),
  ...dataSplits(classificationDataConfig),
  losses: sub(classificationLossesConfig),
  evaluation: sub(classificationEvaluationConfig),
  init_checkpoint: optStr(),
  init_checkpoint_modules: initCheckpointModules(),
  model_output_keys: notSupported(optList(z.int()).default([])),
  /** The backbone is frozen as Keras `trainable = False`: no gradients, batch norm in inference. */
  freeze_backbone: bool(false),
  train_input_partition_dims: noEffect(list(z.int(), []), 'TPU spatial partitioning'),
  eval_input_partition_dims: noEffect(list(z.int(), []), 'TPU spatial partitioning'),
});

export const imageClassificationExperimentConfig = experimentConfigSchema(
  imageClassificationTaskConfig,
);

export type ClassificationDataConfig = z.infer<typeof classificationDataConfig>;
export type ImageClassificationModelConfig = z.infer<typeof imageClassificationModelConfig>;
export type ImageClassificationTaskConfig = z.infer<typeof imageClassificationTaskConfig>;
export type ImageClassificationExperimentConfig = z.infer<
  typeof imageClassificationExperimentConfig
>;
