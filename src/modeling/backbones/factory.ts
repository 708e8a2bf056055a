/**
 * Builds a backbone from its config by type name, through the `backbones` registry
 * (Model Garden `modeling/backbones/factory.py`).
 */
import { activeBranch } from '../../core/config/schema.js';
import type { NormActivationConfig } from '../../core/config/vision_common.js';
import { backbones } from '../../core/registry.js';
import type { BackboneLayer } from '../models/classification_model.js';
import type { BackboneConfig } from './config.js';
import { CompactResNet } from './compact_resnet.js';

/** A backbone builder: the active branch of the Backbone oneOf plus norm_activation. */
export type BackboneBuilder = (
  branch: unknown,
  normActivation: NormActivationConfig,
) => BackboneLayer;

backbones.register(
  'compact_resnet',
  ((branch: { model_id: string; kernel_initializer: string }, na: NormActivationConfig) =>
    new CompactResNet({
      modelId: branch.model_id,
      kernelInitializer: branch.kernel_initializer,
      activation: na.activation,
      normMomentum: na.norm_momentum,
      normEpsilon: na.norm_epsilon,
    })) as BackboneBuilder,
);

export function buildBackbone(
  cfg: BackboneConfig,
  normActivation: NormActivationConfig,
): BackboneLayer {
  if (!cfg.type) throw new Error('task.model.backbone.type must name a backbone');
  const builder = backbones.get(cfg.type) as BackboneBuilder;
  return builder(activeBranch(cfg), normActivation);
}
