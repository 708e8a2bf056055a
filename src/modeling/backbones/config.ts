/**
 * Backbone configs: Model Garden's `configs/backbones.py` Backbone oneOf. Each family adds its
 * branch here and its builder in ./factory.ts.
 */
import type { z } from 'zod';
import { config, oneOf, str } from '../../core/config/schema.js';

/** vision-garden's compact ResNet for low-resolution data (./compact_resnet.ts). */
export const compactResNetConfig = config({
  /** Row of COMPACT_RESNET_SPECS: 'xs', 's', 'm'. */
  model_id: str('s'),
  kernel_initializer: str('he_normal'),
});

export const backboneConfig = oneOf({ compact_resnet: compactResNetConfig }, 'compact_resnet');

export type CompactResNetConfig = z.infer<typeof compactResNetConfig>;
export type BackboneConfig = z.infer<typeof backboneConfig>;
