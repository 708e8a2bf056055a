/**
 * Backbone configs: Model Garden's `configs/backbones.py` Backbone oneOf. Each family adds its
 * branch here and its builder in ./factory.ts.
 */
import { z } from 'zod';
import {
  bool,
  config,
  float,
  int,
  notSupported,
  oneOf,
  optInt,
  optList,
  optSub,
  str,
  sub,
} from '../../core/config/schema.js';
import { registerConfigExtension } from '../../core/config/extensions.js';

/** vision-garden's compact ResNet for low-resolution data (./compact_resnet.ts). */
export const compactResNetConfig = config({
  /** Row of COMPACT_RESNET_SPECS: 'xs', 's', 'm'. */
  model_id: str('s'),
  kernel_initializer: str('he_normal'),
});

/** Model Garden `backbones.ResNet` (defaults as there). */
export const resNetConfig = config({
  model_id: int(50),
  depth_multiplier: float(1.0),
  stem_type: str('v0'),
  se_ratio: float(0.0),
  stochastic_depth_drop_rate: float(0.0),
  scale_stem: bool(true),
  resnetd_shortcut: bool(false),
  replace_stem_max_pool: bool(false),
  bn_trainable: bool(true),
});

/** Model Garden `backbones.Transformer` (the ViT encoder section). */
export const transformerConfig = config({
  mlp_dim: int(1),
  num_heads: int(1),
  num_layers: int(1),
  attention_dropout_rate: float(0.0),
  dropout_rate: float(0.0),
});

/** Model Garden `backbones.VisionTransformer`; `model_name`'s VIT_SPECS row overrides the sizes. */
export const visionTransformerConfig = config({
  model_name: str('vit-b16'),
  /** 'token', 'gap' or 'none'. */
  pooler: str('token'),
  representation_size: int(0),
  hidden_size: int(1),
  patch_size: int(16),
  transformer: sub(transformerConfig),
  init_stochastic_depth_rate: float(0.0),
  original_init: bool(true),
  pos_embed_shape: optList(z.int()),
  output_encoded_tokens: bool(true),
  output_2d_feature_maps: notSupported(bool(false)),
  layer_scale_init_value: notSupported(float(0.0)),
  transformer_partition_dims: notSupported(optList(z.int())),
  output_attention_scores: notSupported(bool(false)),
  /**
   * vision-garden extension (not in Model Garden): take hidden_size, patch_size and the
   * transformer sizes from this config instead of model_name's VIT_SPECS row. Model Garden always
   * overwrites them from the row; a different depth or width there means editing VIT_SPECS in code.
   */
  spec_from_config: bool(false),
});
registerConfigExtension(
  'vit.spec_from_config',
  false,
  "ViT sizes from hidden_size, patch_size and transformer instead of model_name's VIT_SPECS row",
);

/** A SpineNet model id: Model Garden's field is a string; YAML may write it as a number. */
const spineNetModelId = (defaultValue: string) =>
  z
    .union([z.string(), z.number()])
    .transform((v) => String(v))
    .default(defaultValue);

/** One row of SpineNet's SCALING_MAP (Model Garden modeling/backbones/spinenet.py). */
export const spineNetScalingConfig = config({
  endpoints_num_filters: int(256),
  filter_size_scale: float(1.0),
  resample_alpha: float(0.5),
  block_repeats: int(1),
});

/** Model Garden `backbones.SpineNet`. */
export const spineNetConfig = config({
  /** Row of SCALING_MAP: '49S', '49', '96', '143', '143L', '190'. */
  model_id: spineNetModelId('49'),
  stochastic_depth_drop_rate: float(0.0),
  min_level: int(3),
  max_level: int(7),
  /**
   * vision-garden extension (not in Model Garden): the SCALING_MAP row to use instead of
   * model_id's (model_id still names the model). Model Garden has no width knob for SpineNet; a
   * narrower one there means editing SCALING_MAP in code (the retinanet_spinenet reference case).
   */
  scaling: optSub(spineNetScalingConfig),
});
registerConfigExtension(
  'spinenet.scaling',
  null,
  "SpineNet's endpoints_num_filters, filter_size_scale, resample_alpha and block_repeats instead of model_id's SCALING_MAP row",
);

/** Model Garden `backbones.SpineNetMobile`. */
export const spineNetMobileConfig = config({
  /** Row of SCALING_MAP: '49', '49S', '49XS'. */
  model_id: spineNetModelId('49'),
  stochastic_depth_drop_rate: float(0.0),
  se_ratio: float(0.2),
  expand_ratio: int(6),
  min_level: int(3),
  max_level: int(7),
  use_keras_upsampling_2d: bool(false),
});

/** Model Garden `backbones.MobileNet`. */
export const mobileNetConfig = config({
  model_id: str('MobileNetV2'),
  filter_size_scale: float(1.0),
  stochastic_depth_drop_rate: float(0.0),
  output_stride: optInt(),
  output_intermediate_endpoints: bool(false),
  flat_stochastic_depth_drop_rate: bool(true),
});

/** Model Garden `backbones.DilatedResNet` (the DeepLab backbone). */
export const dilatedResNetConfig = config({
  model_id: int(50),
  output_stride: int(16),
  multigrid: optList(z.int()),
  stem_type: str('v0'),
  last_stage_repeats: int(1),
  se_ratio: float(0.0),
  stochastic_depth_drop_rate: float(0.0),
  resnetd_shortcut: bool(false),
  replace_stem_max_pool: bool(false),
  /**
   * vision-garden extension (not in Model Garden): the four [block_fn, filters, repeats] rows to
   * use instead of model_id's RESNET_SPECS row. Model Garden has no width knob for DilatedResNet;
   * a narrower one there means editing RESNET_SPECS in code (the deeplabv3plus reference case).
   */
  block_specs: optList(z.tuple([z.literal('bottleneck'), z.int().positive(), z.int().positive()])),
});
registerConfigExtension(
  'dilated_resnet.block_specs',
  null,
  "DilatedResNet's [block_fn, filters, repeats] rows instead of model_id's RESNET_SPECS row",
);

export const backboneConfig = oneOf(
  {
    compact_resnet: compactResNetConfig,
    resnet: resNetConfig,
    dilated_resnet: dilatedResNetConfig,
    vit: visionTransformerConfig,
    spinenet: spineNetConfig,
    spinenet_mobile: spineNetMobileConfig,
    mobilenet: mobileNetConfig,
  },
  'compact_resnet',
);

export type CompactResNetConfig = z.infer<typeof compactResNetConfig>;
export type ResNetConfig = z.infer<typeof resNetConfig>;
export type DilatedResNetConfig = z.infer<typeof dilatedResNetConfig>;
export type MobileNetConfig = z.infer<typeof mobileNetConfig>;
export type VisionTransformerConfig = z.infer<typeof visionTransformerConfig>;
export type SpineNetConfig = z.infer<typeof spineNetConfig>;
export type SpineNetMobileConfig = z.infer<typeof spineNetMobileConfig>;
export type BackboneConfig = z.infer<typeof backboneConfig>;
