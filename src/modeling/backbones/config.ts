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
  oneOf,
  optInt,
  optList,
  str,
  sub,
} from '../../core/config/schema.js';

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
  output_2d_feature_maps: bool(false),
  layer_scale_init_value: float(0.0),
  transformer_partition_dims: optList(z.int()),
  output_attention_scores: bool(false),
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

export const backboneConfig = oneOf(
  {
    compact_resnet: compactResNetConfig,
    resnet: resNetConfig,
    vit: visionTransformerConfig,
    mobilenet: mobileNetConfig,
  },
  'compact_resnet',
);

export type CompactResNetConfig = z.infer<typeof compactResNetConfig>;
export type ResNetConfig = z.infer<typeof resNetConfig>;
export type MobileNetConfig = z.infer<typeof mobileNetConfig>;
export type VisionTransformerConfig = z.infer<typeof visionTransformerConfig>;
export type BackboneConfig = z.infer<typeof backboneConfig>;
