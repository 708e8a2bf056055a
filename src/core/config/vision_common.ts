/**
 * Config sections shared by the vision tasks, as Model Garden's official/vision/configs/common.py:
 * example decoders, augmentation policies, normalization/activation settings and the TFLite
 * post-processing block. Names and defaults match MG.
 */
import { z } from 'zod';
import { dataConfig } from './definitions.js';
import {
  bool,
  config,
  extendConfig,
  float,
  int,
  list,
  noEffect,
  notSupported,
  oneOf,
  optBool,
  optFloat,
  optInt,
  optStr,
  optSub,
  str,
  sub,
  type ConfigSchema,
} from './schema.js';

/**
 * The detection tasks' DataConfig (Model Garden's retinanet.py and maskrcnn.py declare it alike)
 * around the task's `parser` section.
 */
export function detectionDataConfig<P extends ConfigSchema>(parser: P) {
  return extendConfig(dataConfig, {
    weights: z.null().default(null),
    global_batch_size: z.int().nonnegative().default(0),
    is_training: bool(false),
    dtype: noEffect(str('bfloat16'), 'reduced-precision input images; float32 here'),
    /** The detection tf.Example decoder with MG's default keys; other decoders are not ported. */
    decoder: notSupported(sub(dataDecoderConfig)),
    parser: sub(parser),
    shuffle_buffer_size: int(10000),
    file_type: str('tfrecord'),
  });
}

/** TfExampleDecoder: plain tf.Example decoding. */
export const tfExampleDecoderConfig = config({
  regenerate_source_id: bool(false),
  mask_binarize_threshold: optFloat(),
  attribute_names: list(z.string()),
});

/** TfExampleDecoderLabelMap: tf.Example decoding with a label map file. */
export const tfExampleDecoderLabelMapConfig = config({
  regenerate_source_id: bool(false),
  mask_binarize_threshold: optFloat(),
  label_map: str(''),
});

/** DataDecoder oneOf; MG's default type is 'simple_decoder'. */
export const dataDecoderConfig = oneOf(
  {
    simple_decoder: tfExampleDecoderConfig,
    label_map_decoder: tfExampleDecoderLabelMapConfig,
  },
  'simple_decoder',
);

/** RandAugment policy. */
export const randAugmentConfig = config({
  num_layers: int(2),
  magnitude: float(10),
  cutout_const: float(40),
  translate_const: float(10),
  /** MG's classification parser does not pass it to RandAugment. */
  magnitude_std: notSupported(float(0.0)),
  prob_to_apply: optFloat(),
  exclude_ops: list(z.string()),
});

/** AutoAugment policy. */
export const autoAugmentConfig = config({
  augmentation_name: str('v0'),
  cutout_const: float(100),
  translate_const: float(250),
});

/**
 * RandomErasing. MG's class also has `max_aspect`, `min_count`, `max_count` and `trials`, but as
 * unannotated class attributes; they are not dataclass fields and cannot be set from YAML in MG
 * either, so they are not config fields here.
 */
export const randomErasingConfig = config({
  probability: float(0.25),
  min_area: float(0.02),
  max_area: float(1 / 3),
  min_aspect: float(0.3),
});

/** MixupAndCutmix. */
export const mixupAndCutmixConfig = config({
  mixup_alpha: float(0.8),
  cutmix_alpha: float(1.0),
  prob: float(1.0),
  switch_prob: float(0.5),
  label_smoothing: float(0.1),
});

/** Augmentation oneOf (randaug / autoaug); `type` null by default. */
export const augmentationConfig = oneOf({
  randaug: randAugmentConfig,
  autoaug: autoAugmentConfig,
});

/** NormActivation: activation and batch-norm settings. */
export const normActivationConfig = config({
  activation: str('relu'),
  use_sync_bn: noEffect(bool(true), 'cross-replica batch statistics; one replica here'),
  norm_momentum: float(0.99),
  norm_epsilon: float(0.001),
});

/** PseudoLabelDataConfig: a DataConfig with MG's pseudo-label overrides and extras. */
export const pseudoLabelDataConfig = extendConfig(dataConfig, {
  input_path: str(''),
  /** Per-batch ratio of pseudo-labelled to labelled examples. */
  data_ratio: float(1.0),
  is_training: bool(true),
  dtype: str('float32'),
  shuffle_buffer_size: int(10000),
  cycle_length: int(10),
  aug_rand_hflip: bool(true),
  aug_type: optSub(augmentationConfig),
  file_type: str('tfrecord'),
  /** Kept by MG for backward compatibility: null, 'autoaug' or 'randaug'. */
  aug_policy: optStr(),
  randaug_magnitude: optInt(10),
});

/** TFLitePostProcessingConfig: detection post-processing in exported TFLite models. */
export const tflitePostProcessingConfig = config({
  max_detections: int(200),
  max_classes_per_detection: int(5),
  use_regular_nms: bool(false),
  nms_score_threshold: float(0.1),
  nms_iou_threshold: float(0.5),
  normalize_anchor_coordinates: optBool(false),
  /** Newer Model Garden fields (the reference cases' params dumps carry them with these defaults). */
  omit_nms: bool(false),
  detections_per_class: int(5),
  y_scale: float(1.0),
  x_scale: float(1.0),
  w_scale: float(1.0),
  h_scale: float(1.0),
});

export type TfExampleDecoderConfig = z.infer<typeof tfExampleDecoderConfig>;
export type TfExampleDecoderLabelMapConfig = z.infer<typeof tfExampleDecoderLabelMapConfig>;
export type DataDecoderConfig = z.infer<typeof dataDecoderConfig>;
export type RandAugmentConfig = z.infer<typeof randAugmentConfig>;
export type AutoAugmentConfig = z.infer<typeof autoAugmentConfig>;
export type RandomErasingConfig = z.infer<typeof randomErasingConfig>;
export type MixupAndCutmixConfig = z.infer<typeof mixupAndCutmixConfig>;
export type AugmentationConfig = z.infer<typeof augmentationConfig>;
export type NormActivationConfig = z.infer<typeof normActivationConfig>;
export type PseudoLabelDataConfig = z.infer<typeof pseudoLabelDataConfig>;
export type TFLitePostProcessingConfig = z.infer<typeof tflitePostProcessingConfig>;
