/**
 * The backbone contract: every backbone is a layer from an image [batch, H, W, C] to named
 * endpoints, and declares each endpoint's channels and stride up front in `outputSpecs`, so that
 * decoders and heads can be built before any tensor flows (Model Garden's `backbone.output_specs`,
 * a {level: TensorShape} dict).
 *
 * Keys follow Model Garden: feature-pyramid levels as strings ('2'..'5' for ResNet, where level l
 * has stride 2^l), or a family's own names (ViT's 'pre_logits' / 'encoded_tokens').
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Layer } from '../../core/layer.js';

/** Channels and stride of one endpoint. */
export interface EndpointSpec {
  /** Size of the last (channel) axis. */
  channels: number;
  /**
   * Input pixels per output position along each spatial axis; null for an endpoint that is not a
   * spatial map of the input (ViT's pooled `pre_logits`).
   */
  stride: number | null;
}

/** Endpoint name → spec: the one type every backbone exposes as `outputSpecs`. */
export type BackboneOutputSpecs = Record<string, EndpointSpec>;

/** A backbone layer: image → endpoints, with the specs of those endpoints. */
export interface Backbone extends Layer<tf.Tensor, Record<string, tf.Tensor>> {
  readonly outputSpecs: BackboneOutputSpecs;
}

/**
 * The pyramid levels of `specs` (numeric keys with a stride), ascending. Throws naming `who` when
 * the backbone has no such level (e.g. ViT's pooled output fed to a pyramid decoder).
 */
export function pyramidLevels(specs: BackboneOutputSpecs, who: string): number[] {
  const levels = Object.keys(specs)
    .filter((k) => /^\d+$/.test(k) && specs[k].stride !== null)
    .map(Number)
    .sort((a, b) => a - b);
  if (levels.length === 0) {
    throw new Error(
      `${who}: the backbone has no feature-pyramid level endpoints (it has: ${Object.keys(specs).join(', ') || 'none'})`,
    );
  }
  return levels;
}
