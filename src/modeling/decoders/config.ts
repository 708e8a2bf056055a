/**
 * Decoder configs: Model Garden's `configs/decoders.py` Decoder oneOf (type null = no decoder).
 * Each decoder adds its branch here and its builder in ./factory.ts.
 */
import type { z } from 'zod';
import { bool, config, int, noEffect, oneOf, str } from '../../core/config/schema.js';

/** Model Garden `decoders.FPN`. */
export const fpnConfig = config({
  num_filters: int(256),
  /** 'sum' or 'concat'. */
  fusion_type: str('sum'),
  use_separable_conv: bool(false),
  /** MG builds upsampling/add as Keras layers when true; the same computation either way. */
  use_keras_layer: noEffect(bool(false), 'Keras layers vs ops for the same upsampling and add'),
});

/** Model Garden `decoders.Identity`: no decoder, the backbone's endpoints feed the head. */
export const identityDecoderConfig = config({});

export const decoderConfig = oneOf({ fpn: fpnConfig, identity: identityDecoderConfig }, null);

export type FPNConfig = z.infer<typeof fpnConfig>;
export type DecoderConfig = z.infer<typeof decoderConfig>;
