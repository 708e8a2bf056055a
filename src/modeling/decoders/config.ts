/**
 * Decoder configs: Model Garden's `configs/decoders.py` Decoder oneOf (type null = no decoder).
 * Each decoder adds its branch here and its builder in ./factory.ts.
 */
import { z } from 'zod';
import {
  bool,
  config,
  float,
  int,
  list,
  noEffect,
  notSupported,
  oneOf,
  optList,
  str,
} from '../../core/config/schema.js';

/** Model Garden `decoders.FPN`. */
export const fpnConfig = config({
  num_filters: int(256),
  /** 'sum' or 'concat'. */
  fusion_type: str('sum'),
  use_separable_conv: bool(false),
  /** MG builds upsampling/add as Keras layers when true; the same computation either way. */
  use_keras_layer: noEffect(bool(false), 'Keras layers vs ops for the same upsampling and add'),
});

/** Model Garden `decoders.ASPP` (DeepLab's atrous spatial pyramid pooling). */
export const asppConfig = config({
  level: int(4),
  dilation_rates: list(z.int()),
  dropout_rate: float(0.0),
  num_filters: int(256),
  use_depthwise_convolution: bool(false),
  /** [height, width] in input pixels; null = global average pooling. */
  pool_kernel_size: optList(z.int()),
  /** 'v2' is MG's nn_layers.SpatialPyramidPooling, not ported. */
  spp_layer_version: notSupported(str('v1')),
  output_tensor: bool(false),
});

/** Model Garden `decoders.Identity`: no decoder, the backbone's endpoints feed the head. */
export const identityDecoderConfig = config({});

export const decoderConfig = oneOf(
  { fpn: fpnConfig, identity: identityDecoderConfig, aspp: asppConfig },
  null,
);

export type ASPPConfig = z.infer<typeof asppConfig>;
export type FPNConfig = z.infer<typeof fpnConfig>;
export type DecoderConfig = z.infer<typeof decoderConfig>;
