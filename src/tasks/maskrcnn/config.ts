/**
 * Mask R-CNN model config, field for field as Model Garden's `official/vision/configs/maskrcnn.py`
 * (Anchor, RPNHead, DetectionHead, ROIGenerator, ROISampler, ROIAligner, DetectionGenerator,
 * MaskHead, MaskSampler, MaskROIAligner, MaskRCNN), with MG's names and defaults. Fields this port
 * does not implement are `notSupported` (rejected when set); with the task-level classes (Parser,
 * DataConfig, MaskRCNNTask; Losses in ./losses.ts).
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
  optFloat,
  optList,
  optStr,
  optSub,
  str,
  sub,
  subWith,
} from '../../core/config/schema.js';
import { dataConfig, experimentConfigSchema, taskConfig } from '../../core/config/definitions.js';
import {
  augmentationConfig,
  dataDecoderConfig,
  normActivationConfig,
} from '../../core/config/vision_common.js';
import { backboneConfig } from '../../modeling/backbones/config.js';
import { decoderConfig } from '../../modeling/decoders/config.js';
import { maskrcnnLossesConfig } from './losses.js';

/** MG `maskrcnn.Anchor` (its own defaults: one scale, anchor size 8). */
export const maskrcnnAnchorConfig = config({
  num_scales: int(1),
  aspect_ratios: list(z.number(), [0.5, 1.0, 2.0]),
  anchor_size: float(8.0),
});

/** MG `maskrcnn.RPNHead`. */
export const rpnHeadConfig = config({
  num_convs: int(1),
  num_filters: int(256),
  use_separable_conv: bool(false),
});

/** MG `maskrcnn.DetectionHead`. */
export const detectionHeadConfig = config({
  num_convs: int(4),
  num_filters: int(256),
  use_separable_conv: bool(false),
  num_fcs: int(1),
  fc_dims: int(1024),
  class_agnostic_bbox_pred: bool(false),
  cascade_class_ensemble: bool(false),
});

/** MG `maskrcnn.ROIGenerator`. */
export const roiGeneratorConfig = config({
  pre_nms_top_k: int(2000),
  pre_nms_score_threshold: float(0.0),
  pre_nms_min_size_threshold: notSupported(float(0.0), [0]),
  nms_iou_threshold: float(0.7),
  num_proposals: int(1000),
  test_pre_nms_top_k: int(1000),
  test_pre_nms_score_threshold: float(0.0),
  test_pre_nms_min_size_threshold: notSupported(float(0.0), [0]),
  test_nms_iou_threshold: float(0.7),
  test_num_proposals: int(1000),
  use_batched_nms: notSupported(bool(false)),
});

/** MG `maskrcnn.ROISampler` (read by the training forward). */
export const roiSamplerConfig = config({
  mix_gt_boxes: bool(true),
  num_sampled_rois: int(512),
  foreground_fraction: float(0.25),
  foreground_iou_threshold: float(0.5),
  background_iou_high_threshold: float(0.5),
  background_iou_low_threshold: float(0.0),
  cascade_iou_thresholds: optList(z.number()),
});

/** MG `maskrcnn.ROIAligner`. */
export const roiAlignerConfig = config({
  crop_size: int(7),
  sample_offset: float(0.5),
});

/** MG `maskrcnn.DetectionGenerator`. */
export const rcnnDetectionGeneratorConfig = config({
  apply_nms: bool(true),
  pre_nms_top_k: int(5000),
  pre_nms_score_threshold: float(0.05),
  nms_iou_threshold: float(0.5),
  max_num_detections: int(100),
  nms_version: str('v2'),
  use_cpu_nms: noEffect(bool(false), 'placement only: NMS always runs on the host CPU here'),
  soft_nms_sigma: notSupported(optFloat()),
  use_sigmoid_probability: bool(false),
});

/** MG `maskrcnn.MaskHead`. */
export const maskHeadConfig = config({
  upsample_factor: int(2),
  num_convs: int(4),
  num_filters: int(256),
  use_separable_conv: bool(false),
  class_agnostic: bool(false),
});

/** MG `maskrcnn.MaskSampler` (read by the training forward). */
export const maskSamplerConfig = config({
  num_sampled_masks: int(128),
});

/** MG `maskrcnn.MaskROIAligner`. */
export const maskRoiAlignerConfig = config({
  crop_size: int(14),
  sample_offset: float(0.5),
});

/** `Optional[Section] = Section()`: the section's defaults unless set to null. */
function optionalSection<T extends z.ZodObject>(schema: T) {
  return schema.nullable().prefault({} as z.input<T>);
}

/** MG `maskrcnn.MaskRCNN`. */
export const maskrcnnModelConfig = config({
  num_classes: int(0),
  input_size: list(z.int()),
  min_level: int(2),
  max_level: int(6),
  anchor: sub(maskrcnnAnchorConfig),
  include_mask: bool(true),
  outer_boxes_scale: notSupported(float(1.0), [1]),
  backbone: subWith(backboneConfig, { type: 'resnet' }),
  decoder: subWith(decoderConfig, { type: 'fpn' }),
  rpn_head: sub(rpnHeadConfig),
  detection_head: sub(detectionHeadConfig),
  roi_generator: sub(roiGeneratorConfig),
  roi_sampler: sub(roiSamplerConfig),
  roi_aligner: sub(roiAlignerConfig),
  detection_generator: sub(rcnnDetectionGeneratorConfig),
  mask_head: optionalSection(maskHeadConfig),
  mask_sampler: optionalSection(maskSamplerConfig),
  mask_roi_aligner: optionalSection(maskRoiAlignerConfig),
  norm_activation: subWith(normActivationConfig, {
    norm_momentum: 0.997,
    norm_epsilon: 0.0001,
    use_sync_bn: true,
  }),
});

export type MaskRCNNModelConfigParsed = z.infer<typeof maskrcnnModelConfig>;

/** MG `maskrcnn.Parser`. */
export const maskrcnnParserConfig = config({
  num_channels: int(3),
  match_threshold: float(0.5),
  unmatched_threshold: float(0.5),
  aug_rand_hflip: bool(false),
  aug_rand_vflip: notSupported(bool(false)),
  aug_scale_min: float(1.0),
  aug_scale_max: float(1.0),
  aug_type: notSupported(optSub(augmentationConfig)),
  skip_crowd_during_training: bool(true),
  max_num_instances: int(100),
  rpn_match_threshold: float(0.7),
  rpn_unmatched_threshold: float(0.3),
  rpn_batch_size_per_im: int(256),
  rpn_fg_fraction: float(0.5),
  mask_crop_size: int(112),
  pad: bool(true),
  keep_aspect_ratio: bool(true),
});

/** MG `maskrcnn.DataConfig`. */
export const maskrcnnDataConfig = extendConfig(dataConfig, {
  weights: z.null().default(null),
  global_batch_size: z.int().nonnegative().default(0),
  is_training: bool(false),
  dtype: noEffect(str('bfloat16'), 'reduced-precision input images; float32 here'),
  /** The detection tf.Example decoder with MG's default keys; other decoders are not ported. */
  decoder: notSupported(sub(dataDecoderConfig)),
  parser: sub(maskrcnnParserConfig),
  shuffle_buffer_size: int(10000),
  file_type: str('tfrecord'),
  num_examples: noEffect(int(-1), 'tf.data cardinality hint'),
});

/** MG `maskrcnn.MaskRCNNTask`. */
export const maskrcnnTaskConfig = taskConfig({
  model: sub(maskrcnnModelConfig),
  train_data: subWith(maskrcnnDataConfig, { is_training: true }),
  validation_data: subWith(maskrcnnDataConfig, { is_training: false }),
  losses: sub(maskrcnnLossesConfig),
  init_checkpoint: optStr(),
  /** 'all', 'backbone' and/or 'decoder'. */
  init_checkpoint_modules: z.union([z.string(), z.array(z.string())]).default('all'),
  /**
   * COCO instances JSON of the validation images (box and mask ground truth). Unset: with
   * include_mask the ground truth is scanned from validation_data's TFRecords (full-resolution
   * masks), without masks it comes from the evaluated examples, as Model Garden does.
   */
  annotation_file: optStr(),
  per_category_metrics: notSupported(bool(false)),
  allowed_mask_class_ids: notSupported(optList(z.int())),
  use_coco_metrics: notSupported(bool(true), [true]),
  use_wod_metrics: notSupported(bool(false)),
  use_approx_instance_metrics: notSupported(bool(false)),
  freeze_backbone: bool(false),
});

export const maskrcnnExperimentConfig = experimentConfigSchema(maskrcnnTaskConfig);

export type MaskRCNNDataConfig = z.infer<typeof maskrcnnDataConfig>;
export type MaskRCNNTaskConfig = z.infer<typeof maskrcnnTaskConfig>;
export type MaskRCNNExperimentConfig = z.infer<typeof maskrcnnExperimentConfig>;
