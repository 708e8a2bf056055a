/**
 * Adam as tf.keras.optimizers.legacy.Adam (Model Garden `type: adam`;
 * tensorflow/python/keras/optimizer_v2/adam.py and TF's ApplyAdam kernel):
 *
 *   m ← β1·m + (1−β1)·g
 *   v ← β2·v + (1−β2)·g²
 *   lr_t = lr·sqrt(1−β2^t)/(1−β1^t)                 (t = step, 1-based)
 *   p ← p − lr_t·m/(sqrt(v) + ε)                    (ε is the paper's "epsilon hat": outside the
 *                                                    square root and not bias-corrected)
 *   amsgrad: v̂ ← max(v̂, v);  p ← p − lr_t·m/(sqrt(v̂) + ε)
 *
 * Slots: `m`, `v` (and `vhat` with amsgrad), Keras's slot names. An epsilon of 0 becomes the Keras
 * backend epsilon 1e-7 (`epsilon or backend_config.epsilon()`), as in Keras.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adamConfig } from '../../core/config/optimization.js';
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
  type AdamConfig,
  type Optimizer,
  type ParamUpdateInput,
  type ParamUpdateOutput,
  type ResolvedAdamConfig,
} from './types.js';

/** Hyper-parameters of one Keras Adam step. */
export interface AdamHyper {
  beta_1: number;
  beta_2: number;
  epsilon: number;
  amsgrad: boolean;
}

/**
 * The Keras Adam step for one tensor: new moments and the parameter delta to subtract.
 * Shared by {@link Adam} and AdamWeightDecay.
 */
export function kerasAdamStep(
  h: AdamHyper,
  input: ParamUpdateInput,
  optimizer: string,
): { delta: tf.Tensor; slots: Record<string, tf.Tensor> } {
  const { path, grad, slots, lr, step } = input;
  const m = requireSlot(slots, 'm', optimizer, path);
  const v = requireSlot(slots, 'v', optimizer, path);
  const newM = tf.add(tf.mul(h.beta_1, m), tf.mul(1 - h.beta_1, grad));
  const newV = tf.add(tf.mul(h.beta_2, v), tf.mul(1 - h.beta_2, tf.square(grad)));
  const beta1Power = tf.pow(tf.scalar(h.beta_1), step);
  const beta2Power = tf.pow(tf.scalar(h.beta_2), step);
  const lrT = tf.div(tf.mul(lr, tf.sqrt(tf.sub(1, beta2Power))), tf.sub(1, beta1Power));
  const out: Record<string, tf.Tensor> = { m: newM, v: newV };
  let second = newV;
  if (h.amsgrad) {
    const vhat = requireSlot(slots, 'vhat', optimizer, path);
    second = tf.maximum(vhat, newV);
    out.vhat = second;
  }
  const delta = tf.mul(lrT, tf.div(newM, tf.add(tf.sqrt(second), h.epsilon)));
  return { delta, slots: out };
}

export function checkAdamHyper(h: AdamHyper, where: string): void {
  checkRange(h.beta_1, 0, 1, `${where}.beta_1`);
  checkRange(h.beta_2, 0, 1, `${where}.beta_2`);
  if (!(h.epsilon >= 0)) throw new Error(`${where}.epsilon must be >= 0, got ${h.epsilon}`);
}

export class Adam implements Optimizer {
  readonly name: string;
  readonly config: ResolvedAdamConfig;

  constructor(cfg: AdamConfig | null = null) {
    this.config = resolveConfig(cfg, adamConfig, 'optimizer.adam');
    checkClipping(this.config, 'optimizer.adam');
    checkAdamHyper(this.config, 'optimizer.adam');
    this.config.epsilon = kerasEpsilon(this.config.epsilon);
    this.name = this.config.name;
  }

  slotNames(_path: string): string[] {
    return this.config.amsgrad ? ['m', 'v', 'vhat'] : ['m', 'v'];
  }

  initSlot(_slot: string, param: tf.Tensor): tf.Tensor {
    return zerosSlot(param);
  }

  update(input: ParamUpdateInput): ParamUpdateOutput {
    return tf.tidy(() => {
      const { delta, slots } = kerasAdamStep(this.config, input, this.name);
      return { param: tf.sub(input.param, delta), slots };
    });
  }

  transformGradients(grads: tf.Tensor[]): tf.Tensor[] {
    return kerasClipGradients(this.config, grads);
  }
}
