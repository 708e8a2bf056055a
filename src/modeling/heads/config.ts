/**
 * Head configs that are model-level sections in Model Garden: `configs/semantic_segmentation.py`
 * `SegmentationHead` and `MaskScoringHead` (with MG's names and defaults).
 */
import { z } from 'zod';
import { bool, config, int, list, notSupported, optStr } from '../../core/config/schema.js';

/** A feature level: MG's `Union[int, str]` (a level number, or an endpoint name). */
const levelKey = (defaultValue: number | string | null) =>
  z.union([z.int(), z.string()]).nullable().default(defaultValue);

/** The feature fusions of MG's SegmentationHead that are ported. */
export const SEGMENTATION_FEATURE_FUSIONS = [null, 'deeplabv3plus', 'deeplabv3plus_sum_to_merge'];

/** MG `semantic_segmentation.SegmentationHead`. */
export const segmentationHeadConfig = config({
  level: levelKey(3),
  num_convs: int(2),
  num_filters: int(256),
  use_depthwise_convolution: bool(false),
  prediction_kernel_size: int(1),
  upsample_factor: int(1),
  /** null, 'sigmoid' or 'softmax'. */
  logit_activation: optStr(),
  /** null, 'deeplabv3plus' or 'deeplabv3plus_sum_to_merge' ('pyramid_fusion', 'panoptic_fpn_fusion' not ported). */
  feature_fusion: notSupported(optStr(), SEGMENTATION_FEATURE_FUSIONS),
  low_level: levelKey(2),
  low_level_num_filters: int(48),
  /** Only read by MG's panoptic_fpn_fusion, which is not ported. */
  decoder_min_level: notSupported(levelKey(null)),
  decoder_max_level: notSupported(levelKey(null)),
});

/** MG `semantic_segmentation.MaskScoringHead` (parsed; the mask scoring head is not ported). */
export const maskScoringHeadConfig = config({
  num_convs: int(4),
  num_filters: int(128),
  fc_input_size: list(z.int()),
  num_fcs: int(2),
  fc_dims: int(1024),
  use_depthwise_convolution: bool(false),
});

export type SegmentationHeadConfig = z.infer<typeof segmentationHeadConfig>;
