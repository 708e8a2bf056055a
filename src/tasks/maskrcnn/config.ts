/**
 * Mask R-CNN model config, field for field as Model Garden's `official/vision/configs/maskrcnn.py`
 * (Anchor, RPNHead, DetectionHead, ROIGenerator, ROISampler, ROIAligner, DetectionGenerator,
 * MaskHead, MaskSampler, MaskROIAligner, MaskRCNN), with MG's names and defaults. Fields this port
 * does not implement are `notSupported` (rejected when set). The task-level classes (Parser,
 * DataConfig, Losses, MaskRCNNTask) and the experiments are added with the Mask R-CNN task.
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
  optFloat,
  optList,
  str,
  sub,
  subWith,
} from '../../core/config/schema.js';
import { normActivationConfig } from '../../core/config/vision_common.js';
import { backboneConfig } from '../../modeling/backbones/config.js';
import { decoderConfig } from '../../modeling/decoders/config.js';

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
