/**
 * LAMB, Model Garden's official/modeling/optimization/lamb.py (`type: lamb`; the same rule as
 * tensorflow_addons.optimizers.LAMB, which older factories used):
 *
 *   m ← β1·m + (1−β1)·g;   v ← β2·v + (1−β2)·g²
 *   u = (m/(1−β1^t)) / (sqrt(v/(1−β2^t)) + ε)     (bias-corrected moments; ε outside the root)
 *   u ← u + weight_decay_rate·p                    unless the name matches exclude_from_weight_decay
 *   r = ‖p‖/‖u‖ if both norms are > 0, else 1     unless the name matches exclude_from_layer_adaptation
 *   p ← p − r·lr·u
 *
 * exclude_from_layer_adaptation falls back to exclude_from_weight_decay when empty or null. Names
 * are matched after stripping the `:0` suffix, i.e. against the bare Keras path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { lambConfig } from '../../core/config/optimization.js';
import {
  checkClipping,
  compilePatterns,
  kerasClipGradients,
  matchesAny,
  requireSlot,
  resolveConfig,
  zerosSlot,
  kerasEpsilon,
} from './base.js';
import { checkAdamHyper } from './adam.js';
import {
  type LambConfig,
  type Optimizer,
  type ParamUpdateInput,
  type ParamUpdateOutput,
  type ResolvedLambConfig,
} from './types.js';

/**
 * Layer-adaptation trust ratio: `scale·‖w‖/‖u‖` when both norms are positive, else 1
 * (the nested tf.where of Model Garden's LAMB (scale 1) and LARS (scale eeta)).
 */
export function trustRatio(w: tf.Tensor, u: tf.Tensor, scale = 1): tf.Scalar {
  return tf.tidy(() => {
    const wNorm = tf.norm(w);
    const uNorm = tf.norm(u);
    const one = tf.onesLike(wNorm);
    // Division guarded so a zero norm gives 1, not NaN (the outer where picks `one` there anyway).
    const ratio = tf.div(tf.mul(scale, wNorm), tf.where(tf.greater(uNorm, 0), uNorm, one));
    return tf.where(
      tf.greater(wNorm, 0),
      tf.where(tf.greater(uNorm, 0), ratio, one),
      one,
    ) as tf.Scalar;
  });
}

export class Lamb implements Optimizer {
  readonly name: string;
  readonly config: ResolvedLambConfig;
  private readonly excludeDecay: RegExp[];
  private readonly excludeAdaptation: RegExp[];

  constructor(cfg: LambConfig | null = null) {
    this.config = resolveConfig(cfg, lambConfig, 'optimizer.lamb');
    checkClipping(this.config, 'optimizer.lamb');
    checkAdamHyper({ ...this.config, amsgrad: false }, 'optimizer.lamb');
    this.excludeDecay = compilePatterns(
      this.config.exclude_from_weight_decay,
      'optimizer.lamb.exclude_from_weight_decay',
    );
    const adaptation = this.config.exclude_from_layer_adaptation;
    this.excludeAdaptation = adaptation?.length
      ? compilePatterns(adaptation, 'optimizer.lamb.exclude_from_layer_adaptation')
      : this.excludeDecay;
    this.config.epsilon = kerasEpsilon(this.config.epsilon);
    this.name = this.config.name;
  }

  /** Whether `weight_decay_rate·p` is added to the update of the weight at `path`. */
  usesWeightDecay(path: string): boolean {
    return !matchesAny(this.excludeDecay, path);
  }

  /** Whether the trust ratio scales the update of the weight at `path`. */
  usesLayerAdaptation(path: string): boolean {
    return !matchesAny(this.excludeAdaptation, path);
  }

  slotNames(_path: string): string[] {
    return ['m', 'v'];
  }

  initSlot(_slot: string, param: tf.Tensor): tf.Tensor {
    return zerosSlot(param);
  }

  update({ path, param, grad, slots, lr, step }: ParamUpdateInput): ParamUpdateOutput {
    const { beta_1, beta_2, epsilon, weight_decay_rate } = this.config;
    return tf.tidy(() => {
      const m = requireSlot(slots, 'm', this.name, path);
      const v = requireSlot(slots, 'v', this.name, path);
      const newM = tf.add(tf.mul(beta_1, m), tf.mul(1 - beta_1, grad));
      const newV = tf.add(tf.mul(beta_2, v), tf.mul(1 - beta_2, tf.square(grad)));
      const mHat = tf.div(newM, tf.sub(1, tf.pow(tf.scalar(beta_1), step)));
      const vHat = tf.div(newV, tf.sub(1, tf.pow(tf.scalar(beta_2), step)));
      let u = tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon));
      if (this.usesWeightDecay(path)) u = tf.add(u, tf.mul(weight_decay_rate, param));
      let scaledLr: tf.Tensor = lr;
      if (this.usesLayerAdaptation(path)) scaledLr = tf.mul(trustRatio(param, u), lr);
      return { param: tf.sub(param, tf.mul(scaledLr, u)), slots: { m: newM, v: newV } };
    });
  }

  transformGradients(grads: tf.Tensor[]): tf.Tensor[] {
    return kerasClipGradients(this.config, grads);
  }
}
