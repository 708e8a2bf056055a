/**
 * Video classification task config, field for field as Model Garden's
 * `configs/video_classification.py` (DataConfig, Losses, Metrics, VideoClassificationTask), with
 * the MoViNet model (official/projects/movinet/configs/movinet.py `MovinetModel`) as its model, so
 * Model Garden's MoViNet YAML files parse here.
 *
 * The video input pipeline (Model Garden's video_input.py) is not implemented yet: its data
 * fields are rejected unless left at their defaults ("not supported yet"), so Model Garden's full
 * MoViNet YAMLs do not run here yet; the model section, `num_classes` and `feature_shape` do.
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
  optInt,
  optList,
  optStr,
  optSub,
  str,
  sub,
  subWith,
} from '../../core/config/schema.js';
import { dataConfig, experimentConfigSchema, taskConfig } from '../../core/config/definitions.js';
import { mixupAndCutmixConfig } from '../../core/config/vision_common.js';
import { movinetModelConfig } from '../../modeling/models/movinet_model.js';

/** MG video_classification.DataConfig (defaults as there). */
export const videoDataConfig = extendConfig(dataConfig, {
  /** Clip shape [frames, height, width, channels]; here only the shape models are built on. */
  feature_shape: list(z.int(), [64, 224, 224, 3]),
  num_classes: int(-1),
  global_batch_size: z.int().nonnegative().default(128),
  dtype: noEffect(str('float32'), 'reduced-precision input frames; float32 here'),
  // The rest steer the input pipeline, which is not implemented yet: their defaults only.
  name: notSupported(optStr()),
  file_type: notSupported(str('tfrecord')),
  compressed_input: notSupported(bool(false)),
  split: notSupported(str('train')),
  variant_name: notSupported(optStr()),
  temporal_stride: notSupported(int(1)),
  random_stride_range: notSupported(int(0)),
  num_test_clips: notSupported(int(1)),
  num_test_crops: notSupported(int(1)),
  num_examples: notSupported(int(-1)),
  data_format: notSupported(str('channels_last')),
  label_dtype: notSupported(str('int32')),
  one_hot: notSupported(bool(true)),
  shuffle_buffer_size: notSupported(int(64)),
  cycle_length: notSupported(optInt(10)),
  ram_budget: noEffect(optInt(), 'tf.data RAM budget'),
  autotune_algorithm: noEffect(optStr(), 'tf.data autotuning'),
  min_image_size: notSupported(int(256)),
  zero_centering_image: notSupported(bool(false)),
  is_multilabel: notSupported(bool(false)),
  output_audio: notSupported(bool(false)),
  audio_feature: notSupported(str('')),
  audio_feature_shape: notSupported(list(z.int(), [-1])),
  aug_min_aspect_ratio: notSupported(float(0.5)),
  aug_max_aspect_ratio: notSupported(float(2.0)),
  aug_min_area_ratio: notSupported(float(0.49)),
  aug_max_area_ratio: notSupported(float(1.0)),
  aug_random_rotation: notSupported(bool(false)),
  /** 'autoaug', 'randaug' or null (MG video_classification.DataConfig). */
  aug_type: notSupported(optStr()),
  mixup_and_cutmix: notSupported(optSub(mixupAndCutmixConfig)),
  image_field_key: notSupported(str('image/encoded')),
  label_field_key: notSupported(str('clip/label/index')),
  input_image_format: notSupported(str('jpeg')),
});

export const videoLossesConfig = config({
  one_hot: bool(true),
  label_smoothing: float(0.0),
  l2_weight_decay: float(0.0),
});

export const videoMetricsConfig = config({
  use_per_class_recall: notSupported(bool(false)),
});

export const videoClassificationTaskConfig = taskConfig({
  model: sub(movinetModelConfig),
  train_data: subWith(videoDataConfig, { is_training: true }),
  validation_data: subWith(videoDataConfig, { is_training: false }),
  losses: sub(videoLossesConfig),
  metrics: sub(videoMetricsConfig),
  init_checkpoint: notSupported(optStr()),
  init_checkpoint_modules: notSupported(str('all')),
  freeze_backbone: notSupported(bool(false)),
  train_input_partition_dims: noEffect(optList(z.int()), 'TPU spatial partitioning'),
  eval_input_partition_dims: noEffect(optList(z.int()), 'TPU spatial partitioning'),
});

export const videoClassificationExperimentConfig = experimentConfigSchema(
  videoClassificationTaskConfig,
);

export type VideoDataConfig = z.infer<typeof videoDataConfig>;
export type VideoClassificationTaskConfig = z.infer<typeof videoClassificationTaskConfig>;
export type VideoClassificationExperimentConfig = z.infer<
  typeof videoClassificationExperimentConfig
>;
