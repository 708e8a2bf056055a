/**
 * SGD with optional (Nesterov) momentum, in the form of tf.keras.optimizers.legacy.SGD, which is
 * what Model Garden builds for `type: sgd` (official/modeling/optimization/optimizer_factory.py,
 * LEGACY_OPTIMIZERS_CLS; tf_keras/optimizers/legacy/gradient_descent.py):
 *
 *   lr_t = lr / (1 + decay * (step - 1))          (legacy time-inverse `decay` on iterations)
 *   momentum == 0:  p ← p − lr_t·g                (no slot)
 *   momentum > 0:   v ← momentum·v − lr_t·g       (slot `momentum`, ResourceApplyKerasMomentum)
 *                   p ← p + v                     (nesterov: p ← p + momentum·v − lr_t·g)
 *
 * The Keras 2 velocity form keeps lr inside the slot, so a changing lr affects past velocity
 * differently from the Keras 3 / PyTorch form (v ← momentum·v + g; p ← p − lr·v); with a
 * constant lr both forms give the same parameters.
 */
import * as tf from '@tensorflow/tfjs-core';
import { sgdConfig } from '../../core/config/optimization.js';
import {
  checkClipping,
  checkRange,
  kerasClipGradients,
  requireSlot,
  resolveConfig,
  zerosSlot,
} from './base.js';
import {
  type Optimizer,
  type ParamUpdateInput,
  type ParamUpdateOutput,
  type ResolvedSgdConfig,
  type SgdConfig,
} from './types.js';

/** The learning rate after Keras legacy `decay`: lr / (1 + decay * (step − 1)). */
export function legacyDecayedLr(lr: tf.Scalar, step: tf.Scalar, decay: number): tf.Scalar {
  if (decay === 0) return lr;
  return tf.div(lr, tf.add(1, tf.mul(decay, tf.sub(step, 1)))) as tf.Scalar;
}

export class Sgd implements Optimizer {
  readonly name: string;
  readonly config: ResolvedSgdConfig;

  constructor(cfg: SgdConfig | null = null) {
    this.config = resolveConfig(cfg, sgdConfig, 'optimizer.sgd');
    checkClipping(this.config, 'optimizer.sgd');
    checkRange(this.config.momentum, 0, 1, 'optimizer.sgd.momentum');
    this.name = this.config.name;
  }

  slotNames(_path: string): string[] {
    return this.config.momentum > 0 ? ['momentum'] : [];
  }

  initSlot(_slot: string, param: tf.Tensor): tf.Tensor {
    return zerosSlot(param);
  }

  update({ path, param, grad, slots, lr, step }: ParamUpdateInput): ParamUpdateOutput {
    const { momentum, nesterov, decay } = this.config;
    return tf.tidy(() => {
      const lrT = legacyDecayedLr(lr, step, decay);
      const step_ = tf.mul(lrT, grad);
      const noSlots: Record<string, tf.Tensor> = {};
      if (momentum === 0) return { param: tf.sub(param, step_), slots: noSlots };
      const v = requireSlot(slots, 'momentum', this.name, path);
      const newV = tf.sub(tf.mul(momentum, v), step_);
      const delta = nesterov ? tf.sub(tf.mul(momentum, newV), step_) : newV;
      return { param: tf.add(param, delta), slots: { momentum: newV } };
    });
  }

  transformGradients(grads: tf.Tensor[]): tf.Tensor[] {
    return kerasClipGradients(this.config, grads);
  }
}
