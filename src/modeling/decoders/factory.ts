/**
 * Builds a decoder from its config by type name, through the `decoders` registry
 * (Model Garden `modeling/decoders/factory.py`): the backbone's output specs, the model's
 * min/max level and norm_activation go in.
 */
import { activeBranch } from '../../core/config/schema.js';
import type { NormActivationConfig } from '../../core/config/vision_common.js';
import { decoders } from '../../core/registry.js';
import type { BackboneOutputSpecs } from '../backbones/contract.js';
import type { ASPPConfig, DecoderConfig, FPNConfig } from './config.js';
import { ASPP } from './aspp.js';
import type { Decoder } from './contract.js';
import { FPN } from './fpn.js';

/** What a decoder builder receives besides its own config branch (MG's model_config fields). */
export interface DecoderContext {
  inputSpecs: BackboneOutputSpecs;
  minLevel: number;
  maxLevel: number;
  normActivation: NormActivationConfig;
}

export type DecoderBuilder = (branch: unknown, ctx: DecoderContext) => Decoder;

/** Model Garden `build_fpn_decoder`. */
export function buildFPN(branch: FPNConfig, ctx: DecoderContext): FPN {
  return new FPN({
    inputSpecs: ctx.inputSpecs,
    minLevel: ctx.minLevel,
    maxLevel: ctx.maxLevel,
    numFilters: branch.num_filters,
    fusionType: branch.fusion_type,
    useSeparableConv: branch.use_separable_conv,
    activation: ctx.normActivation.activation,
    normMomentum: ctx.normActivation.norm_momentum,
    normEpsilon: ctx.normActivation.norm_epsilon,
  });
}

decoders.register('fpn', ((branch: FPNConfig, ctx: DecoderContext) =>
  buildFPN(branch, ctx)) as DecoderBuilder);

/** Model Garden `build_aspp_decoder`: the level, rates and pooling of `branch`, norm_activation. */
export function buildASPP(branch: ASPPConfig, ctx: DecoderContext): ASPP {
  return new ASPP({
    inputSpecs: ctx.inputSpecs,
    level: branch.level,
    dilationRates: branch.dilation_rates,
    numFilters: branch.num_filters,
    poolKernelSize: branch.pool_kernel_size,
    dropoutRate: branch.dropout_rate,
    useDepthwiseConvolution: branch.use_depthwise_convolution,
    sppLayerVersion: branch.spp_layer_version,
    outputTensor: branch.output_tensor,
    activation: ctx.normActivation.activation,
    normMomentum: ctx.normActivation.norm_momentum,
    normEpsilon: ctx.normActivation.norm_epsilon,
  });
}

decoders.register('aspp', ((branch: ASPPConfig, ctx: DecoderContext) =>
  buildASPP(branch, ctx)) as DecoderBuilder);

/**
 * The decoder of `cfg`, or null when its type is null or `identity` (MG's factory builds no
 * decoder layer for either; the backbone's endpoints are used).
 */
export function buildDecoder(cfg: DecoderConfig, ctx: DecoderContext): Decoder | null {
  if (cfg.type === null || cfg.type === 'identity') return null;
  const builder = decoders.get(cfg.type) as DecoderBuilder;
  return builder(activeBranch(cfg), ctx);
}
