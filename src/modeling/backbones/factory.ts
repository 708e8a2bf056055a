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
  DilatedResNetConfig,
  MobileNetConfig,
  ResNetConfig,
  SpineNetConfig,
  SpineNetMobileConfig,
  VisionTransformerConfig,
} from './config.js';
import type { Backbone3DConfig, ResNet3DConfig } from './config_3d.js';
import { CompactResNet } from './compact_resnet.js';
import { DilatedResNet } from './dilated_resnet.js';
import { MobileNet } from './mobilenet.js';
import { ResNet } from './resnet.js';
import { ResNet3D, RESNET_3D_SPECS } from './resnet_3d.js';
import { SpineNet, spineNetScaling } from './spinenet.js';
import { SpineNetMobile, spineNetMobileScaling } from './spinenet_mobile.js';
import { VisionTransformer, VIT_SPECS } from './vit.js';

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

/** Model Garden `build_dilated_resnet`: backbone fields plus norm_activation. */
export function buildDilatedResNet(
  branch: DilatedResNetConfig,
  na: NormActivationConfig,
): DilatedResNet {
  return new DilatedResNet({
    modelId: branch.model_id,
    outputStride: branch.output_stride,
    stemType: branch.stem_type,
    resnetdShortcut: branch.resnetd_shortcut,
    replaceStemMaxPool: branch.replace_stem_max_pool,
    seRatio: branch.se_ratio,
    initStochasticDepthRate: branch.stochastic_depth_drop_rate,
    multigrid: branch.multigrid,
    lastStageRepeats: branch.last_stage_repeats,
    specs: branch.block_specs,
    activation: na.activation,
    normMomentum: na.norm_momentum,
    normEpsilon: na.norm_epsilon,
  });
}

backbones.register('dilated_resnet', ((branch: DilatedResNetConfig, na: NormActivationConfig) =>
  buildDilatedResNet(branch, na)) as BackboneBuilder);

/** MG's defaults of the ViT size fields (backbones.py), which VIT_SPECS always overrides. */
const VIT_SIZE_DEFAULTS = {
  hidden_size: 1,
  patch_size: 16,
  mlp_dim: 1,
  num_heads: 1,
  num_layers: 1,
};

/**
 * Model Garden `build_vit`: the VIT_SPECS row of `model_name` overrides hidden_size, patch_size
 * and the transformer sizes, so a size set to anything but MG's default or the row's own value
 * would be silently replaced: it is rejected (unless the vision-garden extension `spec_from_config`
 * takes the sizes from the config). norm_activation is not used.
 */
export function buildVisionTransformer(branch: VisionTransformerConfig): VisionTransformer {
  const spec = VIT_SPECS[branch.model_name];
  // With the spec_from_config extension the sizes are read, not overridden.
  if (spec && !branch.spec_from_config) {
    const sizes: [string, number, number, number][] = [
      ['hidden_size', branch.hidden_size, VIT_SIZE_DEFAULTS.hidden_size, spec.hiddenSize],
      ['patch_size', branch.patch_size, VIT_SIZE_DEFAULTS.patch_size, spec.patchSize],
      ['transformer.mlp_dim', branch.transformer.mlp_dim, VIT_SIZE_DEFAULTS.mlp_dim, spec.mlpDim],
      [
        'transformer.num_heads',
        branch.transformer.num_heads,
        VIT_SIZE_DEFAULTS.num_heads,
        spec.numHeads,
      ],
      [
        'transformer.num_layers',
        branch.transformer.num_layers,
        VIT_SIZE_DEFAULTS.num_layers,
        spec.numLayers,
      ],
    ];
    for (const [field, value, mgDefault, fromSpec] of sizes) {
      if (value !== mgDefault && value !== fromSpec) {
        throw new Error(
          `task.model.backbone.vit.${field}: ${value} would be ignored: model_name ` +
            `'${branch.model_name}' sets it to ${fromSpec} (as Model Garden's VIT_SPECS); ` +
            `choose the size with model_name`,
        );
      }
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
  const t = branch.transformer;
  return new VisionTransformer({
    ...(branch.spec_from_config
      ? {
          hiddenSize: branch.hidden_size,
          patchSize: branch.patch_size,
          mlpDim: t.mlp_dim,
          numHeads: t.num_heads,
          numLayers: t.num_layers,
        }
      : { modelName: branch.model_name }),
    dropoutRate: branch.transformer.dropout_rate,
    attentionDropoutRate: branch.transformer.attention_dropout_rate,
    initStochasticDepthRate: branch.init_stochastic_depth_rate,
    pooler: branch.pooler,
    representationSize: branch.representation_size,
    originalInit: branch.original_init,
    posEmbedShape: pos ? [pos[0], pos[1]] : null,
  });
}

/** Model Garden `build_spinenet`: model_id picks the SCALING_MAP row. */
export function buildSpineNet(branch: SpineNetConfig, na: NormActivationConfig): SpineNet {
  return new SpineNet({
    ...spineNetScaling(branch.model_id),
    ...(branch.scaling && {
      endpointsNumFilters: branch.scaling.endpoints_num_filters,
      filterSizeScale: branch.scaling.filter_size_scale,
      resampleAlpha: branch.scaling.resample_alpha,
      blockRepeats: branch.scaling.block_repeats,
    }),
    minLevel: branch.min_level,
    maxLevel: branch.max_level,
    initStochasticDepthRate: branch.stochastic_depth_drop_rate,
    activation: na.activation,
    normMomentum: na.norm_momentum,
    normEpsilon: na.norm_epsilon,
  });
}

backbones.register('spinenet', ((branch: SpineNetConfig, na: NormActivationConfig) =>
  buildSpineNet(branch, na)) as BackboneBuilder);
/** Model Garden `build_spinenet_mobile`: model_id picks the SCALING_MAP row. */
export function buildSpineNetMobile(
  branch: SpineNetMobileConfig,
  na: NormActivationConfig,
): SpineNetMobile {
  return new SpineNetMobile({
    ...spineNetMobileScaling(branch.model_id),
    minLevel: branch.min_level,
    maxLevel: branch.max_level,
    seRatio: branch.se_ratio,
    expandRatio: branch.expand_ratio,
    initStochasticDepthRate: branch.stochastic_depth_drop_rate,
    activation: na.activation,
    normMomentum: na.norm_momentum,
    normEpsilon: na.norm_epsilon,
    useKerasUpsampling2d: branch.use_keras_upsampling_2d,
  });
}

backbones.register('spinenet_mobile', ((branch: SpineNetMobileConfig, na: NormActivationConfig) =>
  buildSpineNetMobile(branch, na)) as BackboneBuilder);
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

/**
 * Model Garden `build_resnet3d` / `build_resnet3d_rs` (resnet_3d.py): block_specs flattened per
 * group; the RS builder tiles each group's temporal kernel list over the group's blocks.
 */
export function buildResNet3D(
  branch: ResNet3DConfig,
  na: NormActivationConfig,
  tileKernels = false,
): ResNet3D {
  const row = RESNET_3D_SPECS[branch.model_id];
  if (tileKernels && !row) {
    throw new Error(
      `resnet_3d_rs: unknown model_id ${branch.model_id}; choose one of ${Object.keys(RESNET_3D_SPECS).join(', ')}`,
    );
  }
  const kernels = branch.block_specs.map((b, i) =>
    tileKernels
      ? Array.from({ length: row[i]?.[1] ?? 0 }, () => b.temporal_kernel_sizes).flat()
      : b.temporal_kernel_sizes,
  );
  return new ResNet3D({
    modelId: branch.model_id,
    temporalStrides: branch.block_specs.map((b) => b.temporal_strides),
    temporalKernelSizes: kernels,
    useSelfGating: branch.block_specs.map((b) => b.use_self_gating),
    stemType: branch.stem_type,
    stemConvTemporalKernelSize: branch.stem_conv_temporal_kernel_size,
    stemConvTemporalStride: branch.stem_conv_temporal_stride,
    stemPoolTemporalStride: branch.stem_pool_temporal_stride,
    initStochasticDepthRate: branch.stochastic_depth_drop_rate,
    seRatio: branch.se_ratio,
    activation: na.activation,
    normMomentum: na.norm_momentum,
    normEpsilon: na.norm_epsilon,
    blockFilters: branch.block_filters,
  });
}

backbones.register('resnet_3d', ((branch: ResNet3DConfig, na: NormActivationConfig) =>
  buildResNet3D(branch, na)) as BackboneBuilder);
backbones.register('resnet_3d_rs', ((branch: ResNet3DConfig, na: NormActivationConfig) =>
  buildResNet3D(branch, na, true)) as BackboneBuilder);

/** A 3-D (video) backbone from Model Garden's Backbone3D config (factory_3d / backbones_3d). */
export function buildBackbone3D(
  cfg: Backbone3DConfig,
  normActivation: NormActivationConfig,
): Backbone {
  if (!cfg.type) throw new Error('task.model.backbone.type must name a 3-D backbone');
  const builder = backbones.get(cfg.type) as BackboneBuilder;
  return builder(activeBranch(cfg), normActivation);
}
