/**
 * RMSprop as tf.keras.optimizers.legacy.RMSprop (Model Garden `type: rmsprop`;
 * tf_keras/optimizers/legacy/rmsprop.py and TF's ApplyRMSProp / ApplyCenteredRMSProp kernels):
 *
 *   rms ← ρ·rms + (1−ρ)·g²
 *   centered: mg ← ρ·mg + (1−ρ)·g;  denom = rms − mg²      else denom = rms
 *   momentum > 0:  mom ← momentum·mom + lr·g/sqrt(denom + ε);  p ← p − mom     (ε inside the root)
 *   momentum = 0:  p ← p − lr·g/(sqrt(denom) + ε)                             (ε outside the root)
 *
 * The two placements of ε are Keras's (the momentum path runs TF's fused kernel). Slots: `rms`,
 * `momentum` (only when momentum > 0), `mg` (only when centered), Keras's slot names and order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { rmspropConfig } from '../../core/config/optimization.js';
import {
  checkClipping,
  checkRange,
  kerasClipGradients,
  requireSlot,
  resolveConfig,
  zerosSlot,
  kerasEpsilon,
} from './base.js';
import {
  type Optimizer,
  type ParamUpdateInput,
  type ParamUpdateOutput,
  type ResolvedRmspropConfig,
  type RmspropConfig,
} from './types.js';

export class Rmsprop implements Optimizer {
  readonly name: string;
  readonly config: ResolvedRmspropConfig;

  constructor(cfg: RmspropConfig | null = null) {
    this.config = resolveConfig(cfg, rmspropConfig, 'optimizer.rmsprop');
    checkClipping(this.config, 'optimizer.rmsprop');
    checkRange(this.config.momentum, 0, 1, 'optimizer.rmsprop.momentum');
    checkRange(this.config.rho, 0, 1, 'optimizer.rmsprop.rho');
    this.config.epsilon = kerasEpsilon(this.config.epsilon);
    this.name = this.config.name;
  }

  slotNames(_path: string): string[] {
    const names = ['rms'];
    if (this.config.momentum > 0) names.push('momentum');
    if (this.config.centered) names.push('mg');
    return names;
  }

  initSlot(_slot: string, param: tf.Tensor): tf.Tensor {
    return zerosSlot(param);
  }

  update({ path, param, grad, slots, lr }: ParamUpdateInput): ParamUpdateOutput {
    const { rho, momentum, epsilon, centered } = this.config;
    return tf.tidy(() => {
      const rms = requireSlot(slots, 'rms', this.name, path);
      const newRms = tf.add(tf.mul(rho, rms), tf.mul(1 - rho, tf.square(grad)));
      const out: Record<string, tf.Tensor> = { rms: newRms };
      let denom = newRms;
      if (centered) {
        const mg = requireSlot(slots, 'mg', this.name, path);
        const newMg = tf.add(tf.mul(rho, mg), tf.mul(1 - rho, grad));
        out.mg = newMg;
        denom = tf.sub(newRms, tf.square(newMg));
      }
      if (momentum > 0) {
        const mom = requireSlot(slots, 'momentum', this.name, path);
        const newMom = tf.add(
          tf.mul(momentum, mom),
          tf.div(tf.mul(lr, grad), tf.sqrt(tf.add(denom, epsilon))),
        );
        out.momentum = newMom;
        return { param: tf.sub(param, newMom), slots: out };
      }
      const delta = tf.div(tf.mul(lr, grad), tf.add(tf.sqrt(denom), epsilon));
      return { param: tf.sub(param, delta), slots: out };
    });
  }

  transformGradients(grads: tf.Tensor[]): tf.Tensor[] {
    return kerasClipGradients(this.config, grads);
  }
}
