/**
 * Semantic segmentation task config, field for field as Model Garden's
 * `official/vision/configs/semantic_segmentation.py` (DenseFeatureConfig, DataConfig, Losses,
 * Evaluation, ExportConfig, SemanticSegmentationTask) with MG's names and defaults; the model
 * section is the model's own schema (src/modeling/models/segmentation_model.ts). Fields this port
 * does not implement are `notSupported` (rejected when set).
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
  optStr,
  str,
  sub,
} from '../../core/config/schema.js';
import {
  dataConfig,
  dataSplits,
  experimentConfigSchema,
  initCheckpointModules,
  taskConfig,
} from '../../core/config/definitions.js';
import { dataDecoderConfig } from '../../core/config/vision_common.js';
import { MEAN_RGB, STDDEV_RGB } from '../../data/in_memory.js';
import { semanticSegmentationModelConfig } from '../../modeling/models/segmentation_model.js';

/** MG `DenseFeatureConfig`: an encoded image feature and its normalisation (0..255 scale). */
export const denseFeatureConfig = config({
  feature_name: str('image/encoded'),
  /** The decoder reads RGB images: 3 only. */
  num_channels: notSupported(int(3)),
  mean: list(z.number(), [...MEAN_RGB]),
  stddev: list(z.number(), [...STDDEV_RGB]),
});

/** MG `semantic_segmentation.DataConfig`. */
export const segmentationDataConfig = extendConfig(dataConfig, {
  image_feature: sub(denseFeatureConfig),
  output_size: list(z.int()),
  crop_size: list(z.int()),
  /** Mixing several weighted inputs is not ported. */
  weights: notSupported(z.null().default(null)),
  is_training: bool(true),
  dtype: noEffect(str('float32'), 'reduced-precision input images; float32 here'),
  shuffle_buffer_size: int(1000),
  /** File interleaving of tf.data; the pipeline here has its own seeded order. */
  cycle_length: noEffect(int(10), 'tf.data file interleaving'),
  resize_eval_groundtruth: bool(true),
  groundtruth_padded_size: list(z.int()),
  aug_scale_min: float(1.0),
  aug_scale_max: float(1.0),
  aug_rand_hflip: bool(true),
  preserve_aspect_ratio: bool(true),
  aug_policy: notSupported(optStr()),
  drop_remainder: bool(true),
  file_type: str('tfrecord'),
  /** The segmentation tf.Example decoder with MG's keys; other decoders are not ported. */
  decoder: notSupported(sub(dataDecoderConfig)),
  additional_dense_features: notSupported(list(z.unknown(), [])),
  /**
   * A later Model Garden addition to this DataConfig (its params dumps carry it, false): a
   * centred instead of a corner/random placement of the image in the parser's crop. Not ported.
   */
  centered_crop: notSupported(bool(false)),
});

/** MG `semantic_segmentation.Losses`. */
export const segmentationLossesConfig = config({
  loss_weight: float(1.0),
  label_smoothing: float(0.0),
  ignore_label: int(255),
  gt_is_matting_map: notSupported(bool(false)),
  class_weights: list(z.number(), []),
  l2_weight_decay: float(0.0),
  use_groundtruth_dimension: bool(true),
  use_binary_cross_entropy: bool(false),
  top_k_percent_pixels: float(1.0),
  /** Weight of the mask-scoring loss; the mask scoring head is not ported. */
  mask_scoring_weight: notSupported(float(1.0)),
});

/** MG `semantic_segmentation.Evaluation`. */
export const segmentationEvaluationConfig = config({
  report_per_class_iou: bool(true),
  report_train_mean_iou: bool(true),
});

/** MG `semantic_segmentation.ExportConfig` (SavedModel export is not ported). */
export const segmentationExportConfig = config({
  rescale_output: notSupported(bool(false)),
});

/** MG `semantic_segmentation.SemanticSegmentationTask`. */
export const semanticSegmentationTaskConfig = taskConfig({
  model: sub(semanticSegmentationModelConfig),
  ...dataSplits(segmentationDataConfig),
  losses: sub(segmentationLossesConfig),
  evaluation: sub(segmentationEvaluationConfig),
  /** TPU spatial partitioning. */
  train_input_partition_dims: noEffect(list(z.int(), []), 'TPU spatial partitioning'),
  eval_input_partition_dims: noEffect(list(z.int(), []), 'TPU spatial partitioning'),
  init_checkpoint: optStr(),
  init_checkpoint_modules: initCheckpointModules(),
  export_config: sub(segmentationExportConfig),
});

export const semanticSegmentationExperimentConfig = experimentConfigSchema(
  semanticSegmentationTaskConfig,
);

export type SegmentationDataConfig = z.infer<typeof segmentationDataConfig>;
export type SemanticSegmentationTaskConfig = z.infer<typeof semanticSegmentationTaskConfig>;
export type SemanticSegmentationExperimentConfig = z.infer<
  typeof semanticSegmentationExperimentConfig
>;
