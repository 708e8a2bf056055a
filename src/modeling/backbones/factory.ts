/**
 * Builds a backbone from its config by type name, through the `backbones` registry
 * (Model Garden `modeling/backbones/factory.py`).
 */
import { activeBranch } from '../../core/config/schema.js';
import type { NormActivationConfig } from '../../core/config/vision_common.js';
import { backbones } from '../../core/registry.js';
import type { Backbone } from './contract.js';
import type {
  BackboneConfig,
  CompactResNetConfig,
  MobileNetConfig,
  ResNetConfig,
  VisionTransformerConfig,
} from './config.js';
import { CompactResNet } from './compact_resnet.js';
import { MobileNet } from './mobilenet.js';
import { ResNet } from './resnet.js';
import { VisionTransformer } from './vit.js';

/** A backbone builder: the active branch of the Backbone oneOf plus norm_activation. */
export type BackboneBuilder = (branch: unknown, normActivation: NormActivationConfig) => Backbone;

backbones.register(
  'compact_resnet',
  ((branch: CompactResNetConfig, na: NormActivationConfig) =>
    new CompactResNet({
      modelId: branch.model_id,
      kernelInitializer: branch.kernel_initializer,
      activation: na.activation,
      normMomentum: na.norm_momentum,
      normEpsilon: na.norm_epsilon,
    })) as BackboneBuilder,
);

/** Model Garden `build_resnet`: backbone fields plus norm_activation's activation and norms. */
export function buildResNet(branch: ResNetConfig, na: NormActivationConfig): ResNet {
  return new ResNet({
    modelId: branch.model_id,
    depthMultiplier: branch.depth_multiplier,
    stemType: branch.stem_type,
    resnetdShortcut: branch.resnetd_shortcut,
    replaceStemMaxPool: branch.replace_stem_max_pool,
    seRatio: branch.se_ratio,
    initStochasticDepthRate: branch.stochastic_depth_drop_rate,
    scaleStem: branch.scale_stem,
    activation: na.activation,
    normMomentum: na.norm_momentum,
    normEpsilon: na.norm_epsilon,
    bnTrainable: branch.bn_trainable,
  });
}

/**
 * Model Garden `build_vit`: the VIT_SPECS row of `model_name` overrides hidden_size, patch_size
 * and the transformer sizes; norm_activation is not used. Options vision-garden does not
 * implement are rejected by name.
 */
export function buildVisionTransformer(branch: VisionTransformerConfig): VisionTransformer {
  const unsupported: [string, boolean][] = [
    ['output_2d_feature_maps', branch.output_2d_feature_maps],
    ['layer_scale_init_value', branch.layer_scale_init_value !== 0],
    ['transformer_partition_dims', branch.transformer_partition_dims !== null],
    ['output_attention_scores', branch.output_attention_scores],
  ];
  for (const [field, set] of unsupported) {
    if (set) {
      throw new Error(
        `task.model.backbone.vit.${field}: this option is not supported by vision-garden's ViT; leave it at its default`,
      );
    }
  }
  const pos = branch.pos_embed_shape;
  if (pos !== null && pos.length !== 2) {
    throw new Error(
      `task.model.backbone.vit.pos_embed_shape must be [height, width] in patches, got [${pos}]`,
    );
  }
  if (branch.pooler === 'none' && !branch.output_encoded_tokens) {
    throw new Error(
      'task.model.backbone.vit: pooler none with output_encoded_tokens false leaves no endpoint',
    );
  }
  return new VisionTransformer({
    modelName: branch.model_name,
    dropoutRate: branch.transformer.dropout_rate,
    attentionDropoutRate: branch.transformer.attention_dropout_rate,
    initStochasticDepthRate: branch.init_stochastic_depth_rate,
    pooler: branch.pooler,
    representationSize: branch.representation_size,
    originalInit: branch.original_init,
    posEmbedShape: pos ? [pos[0], pos[1]] : null,
  });
}

backbones.register('resnet', ((branch: ResNetConfig, na: NormActivationConfig) =>
  buildResNet(branch, na)) as BackboneBuilder);
backbones.register('vit', ((branch: VisionTransformerConfig) =>
  buildVisionTransformer(branch)) as BackboneBuilder);

/** Model Garden `build_mobilenet`: backbone fields plus norm_activation's norms. */
export function buildMobileNet(branch: MobileNetConfig, na: NormActivationConfig): MobileNet {
  return new MobileNet({
    modelId: branch.model_id,
    filterSizeScale: branch.filter_size_scale,
    stochasticDepthDropRate: branch.stochastic_depth_drop_rate,
    flatStochasticDepthDropRate: branch.flat_stochastic_depth_drop_rate,
    outputStride: branch.output_stride,
    outputIntermediateEndpoints: branch.output_intermediate_endpoints,
    normMomentum: na.norm_momentum,
    normEpsilon: na.norm_epsilon,
  });
}

backbones.register('mobilenet', ((branch: MobileNetConfig, na: NormActivationConfig) =>
  buildMobileNet(branch, na)) as BackboneBuilder);

export function buildBackbone(cfg: BackboneConfig, normActivation: NormActivationConfig): Backbone {
  if (!cfg.type) throw new Error('task.model.backbone.type must name a backbone');
  const builder = backbones.get(cfg.type) as BackboneBuilder;
  return builder(activeBranch(cfg), normActivation);
}
