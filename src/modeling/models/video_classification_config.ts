/**
 * The model section of a video classification task: Model Garden's
 * `configs/video_classification.py` VideoClassificationModel (names and defaults as there). The
 * task's config (data, losses, experiments) embeds it as `task.model`.
 */
import { z } from 'zod';
import { bool, config, float, optList, str, subWith } from '../../core/config/schema.js';
import { normActivationConfig } from '../../core/config/vision_common.js';
import { backbone3DConfig } from '../backbones/config_3d.js';

/** Model Garden `video_classification.VideoClassificationModel`. */
export const videoClassificationModelConfig = config({
  model_type: str('video_classification'),
  backbone: subWith(backbone3DConfig, { type: 'resnet_3d' }),
  norm_activation: subWith(normActivationConfig, { use_sync_bn: false }),
  dropout_rate: float(0.2),
  aggregate_endpoints: bool(false),
  require_endpoints: optList(z.string()),
});

export type VideoClassificationModelConfig = z.infer<typeof videoClassificationModelConfig>;
