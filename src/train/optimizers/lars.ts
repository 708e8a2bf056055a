/**
 * LARS, Model Garden's official/modeling/optimization/lars.py (`type: lars`):
 *
 *   g ← g + weight_decay_rate·p      when weight_decay_rate ≠ 0 and the name matches no
 *                                    exclude_from_weight_decay pattern
 *   classic_momentum (default):
 *     r = eeta·‖p‖/‖g‖ (1 if either norm is 0, or if excluded from layer adaptation)
 *     v ← momentum·v + r·lr·g;   p ← p − v           (nesterov: p ← p − (momentum·v + r·lr·g))
 *   popular momentum:
 *     v ← momentum·v + g;   u = v (nesterov: momentum·v + g)
 *     r = eeta·‖p‖/‖u‖ (same fallbacks);   p ← p − r·lr·u
 *
 * exclude_from_layer_adaptation falls back to exclude_from_weight_decay when empty or null. Names
 * are TF variable names (Keras path + `:0`). Slot: `momentum`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { larsConfig } from '../../core/config/optimization.js';
import {
  checkClipping,
  compilePatterns,
  kerasClipGradients,
  matchesAny,
  requireSlot,
  resolveConfig,
  tfVariableName,
  zerosSlot,
} from './base.js';
import { trustRatio } from './lamb.js';
import {
  type LarsConfig,
  type Optimizer,
  type ParamUpdateInput,
  type ParamUpdateOutput,
  type ResolvedLarsConfig,
} from './types.js';

export class Lars implements Optimizer {
  readonly name: string;
  readonly config: ResolvedLarsConfig;
  private readonly excludeDecay: RegExp[];
  private readonly excludeAdaptation: RegExp[];

  constructor(cfg: LarsConfig | null = null) {
    this.config = resolveConfig(cfg, larsConfig, 'optimizer.lars');
    checkClipping(this.config, 'optimizer.lars');
    this.excludeDecay = compilePatterns(
      this.config.exclude_from_weight_decay,
      'optimizer.lars.exclude_from_weight_decay',
    );
    const adaptation = this.config.exclude_from_layer_adaptation;
    this.excludeAdaptation = adaptation?.length
      ? compilePatterns(adaptation, 'optimizer.lars.exclude_from_layer_adaptation')
      : this.excludeDecay;
    this.name = this.config.name;
  }

  /** Whether `weight_decay_rate·p` is added to the gradient of the weight at `path`. */
  usesWeightDecay(path: string): boolean {
    if (!this.config.weight_decay_rate) return false;
    return !matchesAny(this.excludeDecay, tfVariableName(path));
  }

  /** Whether the trust ratio scales the learning rate of the weight at `path`. */
  usesLayerAdaptation(path: string): boolean {
    return !matchesAny(this.excludeAdaptation, tfVariableName(path));
  }

  slotNames(_path: string): string[] {
    return ['momentum'];
  }

  initSlot(_slot: string, param: tf.Tensor): tf.Tensor {
    return zerosSlot(param);
  }

  update({ path, param, grad, slots, lr }: ParamUpdateInput): ParamUpdateOutput {
    const { momentum, eeta, nesterov, classic_momentum, weight_decay_rate } = this.config;
    const adapt = this.usesLayerAdaptation(path);
    return tf.tidy(() => {
      const v = requireSlot(slots, 'momentum', this.name, path);
      let g = grad;
      if (this.usesWeightDecay(path)) g = tf.add(g, tf.mul(weight_decay_rate, param));
      if (classic_momentum) {
        const scaledLr = adapt ? tf.mul(lr, trustRatio(param, g, eeta)) : lr;
        const scaledG = tf.mul(scaledLr, g);
        const newV = tf.add(tf.mul(momentum, v), scaledG);
        const update = nesterov ? tf.add(tf.mul(momentum, newV), scaledG) : newV;
        return { param: tf.sub(param, update), slots: { momentum: newV } };
      }
      const newV = tf.add(tf.mul(momentum, v), g);
      const update = nesterov ? tf.add(tf.mul(momentum, newV), g) : newV;
      const scaledLr = adapt ? tf.mul(trustRatio(param, update, eeta), lr) : lr;
      return { param: tf.sub(param, tf.mul(scaledLr, update)), slots: { momentum: newV } };
    });
  }

  transformGradients(grads: tf.Tensor[]): tf.Tensor[] {
    return kerasClipGradients(this.config, grads);
  }
}
