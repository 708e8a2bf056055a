/**
 * Video classification task config, field for field as Model Garden's
 * `configs/video_classification.py` (DataConfig, Losses, Metrics, VideoClassificationTask), with
 * the MoViNet model (official/projects/movinet/configs/movinet.py `MovinetModel`) as its model, so
 * Model Garden's MoViNet YAML files parse here.
 *
 * Data: TFRecords of tf.SequenceExamples (`input_path`) through Model Garden's video parser
 * (src/data/parsers/video_parser.ts) on the worker threads.
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
} from '../../core/config/schema.js';
import {
  dataConfig,
  dataSplits,
  experimentConfigSchema,
  taskConfig,
} from '../../core/config/definitions.js';
import { augmentationConfig, mixupAndCutmixConfig } from '../../core/config/vision_common.js';
import { movinetModelConfig } from '../../modeling/models/movinet_model.js';
import { videoClassificationModelConfig } from '../../modeling/models/video_classification_config.js';

/**
 * `task.model`: Model Garden's VideoClassificationModel (`model_type: video_classification`, a
 * ResNet-3D backbone; the default) or the MoViNet project's MovinetModel (`model_type: movinet`),
 * chosen by `model_type` as Model Garden's model builder registry does (factory_3d.py).
 */
const videoModelUnion = z.discriminatedUnion('model_type', [
  videoClassificationModelConfig.extend({
    model_type: z.literal('video_classification').default('video_classification'),
  }),
  movinetModelConfig.extend({ model_type: z.literal('movinet') }),
]);
export const videoModelConfig = videoModelUnion.prefault({} as z.input<typeof videoModelUnion>);

/** MG video_classification.DataConfig (defaults as there). */
export const videoDataConfig = extendConfig(dataConfig, {
  /** Clip shape [frames, height, width, channels]; here only the shape models are built on. */
  feature_shape: list(z.int(), [64, 224, 224, 3]),
  num_classes: int(-1),
  global_batch_size: z.int().nonnegative().default(128),
  dtype: noEffect(str('float32'), 'reduced-precision input frames; float32 here'),
  // The input pipeline: src/data/parsers/video_parser.ts (Model Garden's video_input.py).
  name: noEffect(
    optStr(),
    "data set name: Model Garden's experiment factories derive schedules from it; records come from input_path",
  ),
  file_type: notSupported(str('tfrecord')),
  compressed_input: notSupported(bool(false)),
  split: noEffect(str('train'), 'TFDS split name; records come from input_path'),
  variant_name: noEffect(
    optStr(),
    'data set variant name (e.g. rgb); records come from input_path',
  ),
  temporal_stride: int(1),
  random_stride_range: int(0),
  num_test_clips: int(1),
  num_test_crops: int(1),
  num_examples: noEffect(
    int(-1),
    "data set size: Model Garden's add_trainer derives the schedule from it",
  ),
  data_format: notSupported(str('channels_last')),
  label_dtype: notSupported(str('int32')),
  one_hot: bool(true),
  shuffle_buffer_size: int(64),
  cycle_length: notSupported(optInt(10), [10, null]),
  ram_budget: noEffect(optInt(), 'tf.data RAM budget'),
  autotune_algorithm: noEffect(optStr(), 'tf.data autotuning'),
  min_image_size: int(256),
  zero_centering_image: bool(false),
  is_multilabel: notSupported(bool(false)),
  output_audio: notSupported(bool(false)),
  audio_feature: notSupported(str('')),
  audio_feature_shape: notSupported(list(z.int(), [-1])),
  aug_min_aspect_ratio: float(0.5),
  aug_max_aspect_ratio: float(2.0),
  aug_min_area_ratio: float(0.49),
  aug_max_area_ratio: float(1.0),
  aug_random_rotation: notSupported(bool(false)),
  /** MG common.Augmentation: AutoAugment or RandAugment, one draw per clip. */
  // Older Model Garden (and its MoViNet YAMLs) wrote `aug_type: 'autoaug'` / 'randaug': the
  // policy with its default settings, i.e. `{type: <name>}`.
  aug_type: z.preprocess(
    (v) => (v === 'autoaug' || v === 'randaug' ? { type: v } : v),
    optSub(augmentationConfig),
  ),
  mixup_and_cutmix: notSupported(optSub(mixupAndCutmixConfig)),
  image_field_key: str('image/encoded'),
  label_field_key: str('clip/label/index'),
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
  model: videoModelConfig,
  ...dataSplits(videoDataConfig),
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
