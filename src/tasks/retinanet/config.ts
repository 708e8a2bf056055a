/**
 * RetinaNet task config, field for field as Model Garden's `official/vision/configs/retinanet.py`
 * (Parser, DataConfig, Anchor, Losses, RetinaNetHead, DetectionGenerator, RetinaNet,
 * ExportConfig, RetinaNetTask), with MG's names and defaults. Fields this port does not
 * implement are `notSupported` (rejected when set).
 */
import { z } from 'zod';
import {
  bool,
  config,
  float,
  int,
  list,
  noEffect,
  notSupported,
  optBool,
  optFloat,
  optList,
  optStr,
  optSub,
  str,
  sub,
  subWith,
} from '../../core/config/schema.js';
import {
  dataSplits,
  experimentConfigSchema,
  initCheckpointModules,
  taskConfig,
} from '../../core/config/definitions.js';
import {
  augmentationConfig,
  detectionDataConfig,
  normActivationConfig,
  tflitePostProcessingConfig,
} from '../../core/config/vision_common.js';
import { backboneConfig } from '../../modeling/backbones/config.js';
import { decoderConfig } from '../../modeling/decoders/config.js';

/** MG `retinanet.Parser`. */
export const retinanetParserConfig = config({
  num_channels: int(3),
  match_threshold: float(0.5),
  unmatched_threshold: float(0.5),
  aug_rand_hflip: bool(false),
  aug_rand_jpeg: notSupported(z.null().default(null)),
  aug_scale_min: float(1.0),
  aug_scale_max: float(1.0),
  skip_crowd_during_training: bool(true),
  max_num_instances: int(100),
  aug_type: notSupported(optSub(augmentationConfig)),
  pad: bool(true),
  keep_aspect_ratio: bool(true),
  /** Kept by MG for backward compatibility and not read there either. */
  aug_policy: noEffect(optStr(), 'unused by Model Garden (backward compatibility only)'),
});

/** MG `retinanet.DataConfig`. */
export const retinanetDataConfig = detectionDataConfig(retinanetParserConfig);

/** MG `retinanet.Anchor`. */
export const anchorConfig = config({
  num_scales: int(3),
  aspect_ratios: list(z.number(), [0.5, 1.0, 2.0]),
  anchor_size: float(4.0),
});

/** MG `retinanet.Losses`. */
export const retinanetLossesConfig = config({
  loss_weight: float(1.0),
  focal_loss_alpha: float(0.25),
  focal_loss_gamma: float(1.5),
  huber_loss_delta: float(0.1),
  box_loss_weight: float(50),
  l2_weight_decay: float(0.0),
});

/** MG `retinanet.RetinaNetHead` (attribute heads are not ported). */
export const retinanetHeadConfig = config({
  num_convs: int(4),
  num_filters: int(256),
  use_separable_conv: bool(false),
  attribute_heads: notSupported(list(z.unknown(), [])),
  share_classification_heads: bool(false),
  share_level_convs: optBool(true),
});

/** MG `retinanet.DetectionGenerator` (plus MG's `decode_boxes` of the shared generator config). */
export const detectionGeneratorConfig = config({
  apply_nms: bool(true),
  decode_boxes: bool(true),
  pre_nms_top_k: int(5000),
  pre_nms_score_threshold: float(0.05),
  nms_iou_threshold: float(0.5),
  max_num_detections: int(100),
  nms_version: str('v2'),
  use_cpu_nms: noEffect(bool(false), 'placement only: NMS always runs on the host CPU here'),
  soft_nms_sigma: optFloat(),
  tflite_post_processing: notSupported(sub(tflitePostProcessingConfig)),
  return_decoded: optBool(),
  use_class_agnostic_nms: optBool(false),
  box_coder_weights: optList(z.number()),
});

/** MG `retinanet.RetinaNet`. */
export const retinanetModelConfig = config({
  num_classes: int(0),
  input_size: list(z.int()),
  min_level: int(3),
  max_level: int(7),
  anchor: sub(anchorConfig),
  backbone: subWith(backboneConfig, { type: 'resnet' }),
  decoder: subWith(decoderConfig, { type: 'fpn' }),
  head: sub(retinanetHeadConfig),
  detection_generator: sub(detectionGeneratorConfig),
  norm_activation: sub(normActivationConfig),
});

/** MG `retinanet.ExportConfig` (export is not ported for detection yet). */
export const retinanetExportConfig = config({
  output_normalized_coordinates: notSupported(bool(false)),
  cast_num_detections_to_float: notSupported(bool(false)),
  cast_detection_classes_to_float: notSupported(bool(false)),
  output_intermediate_features: notSupported(bool(false)),
});

/** MG `retinanet.RetinaNetTask`. */
export const retinanetTaskConfig = taskConfig({
  model: sub(retinanetModelConfig),
  ...dataSplits(retinanetDataConfig),
  losses: sub(retinanetLossesConfig),
  init_checkpoint: optStr(),
  init_checkpoint_modules: initCheckpointModules(),
  /** Ground truth comes from the examples themselves; an annotation file is not read. */
  annotation_file: notSupported(optStr()),
  per_category_metrics: notSupported(bool(false)),
  export_config: sub(retinanetExportConfig),
  use_coco_metrics: notSupported(bool(true), [true]),
  use_wod_metrics: notSupported(bool(false)),
  freeze_backbone: bool(false),
  max_num_eval_detections: int(100),
});

export const retinanetExperimentConfig = experimentConfigSchema(retinanetTaskConfig);

export type RetinaNetDataConfig = z.infer<typeof retinanetDataConfig>;
export type RetinaNetTaskConfig = z.infer<typeof retinanetTaskConfig>;
export type RetinaNetExperimentConfig = z.infer<typeof retinanetExperimentConfig>;
