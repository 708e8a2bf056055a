/**
 * Adagrad as tf.keras.optimizers.legacy.Adagrad (Model Garden `type: adagrad`; TF's
 * ApplyAdagradV2 kernel):
 *
 *   accumulator ← accumulator + g²          (slot `accumulator`, starts at initial_accumulator_value)
 *   p ← p − lr·g/(sqrt(accumulator) + ε)
 */
import * as tf from '@tensorflow/tfjs-core';
import { adagradConfig } from '../../core/config/optimization.js';
import { checkClipping, kerasClipGradients, requireSlot, resolveConfig } from './base.js';
import {
  type AdagradConfig,
  type Optimizer,
  type ParamUpdateInput,
  type ParamUpdateOutput,
  type ResolvedAdagradConfig,
} from './types.js';

export class Adagrad implements Optimizer {
  readonly name: string;
  readonly config: ResolvedAdagradConfig;

  constructor(cfg: AdagradConfig | null = null) {
    this.config = resolveConfig(cfg, adagradConfig, 'optimizer.adagrad');
    checkClipping(this.config, 'optimizer.adagrad');
    if (!(this.config.initial_accumulator_value >= 0)) {
      throw new Error(
        `optimizer.adagrad.initial_accumulator_value must be >= 0, got ${this.config.initial_accumulator_value}`,
      );
    }
    this.name = this.config.name;
  }

  slotNames(_path: string): string[] {
    return ['accumulator'];
  }

  initSlot(_slot: string, param: tf.Tensor): tf.Tensor {
    return tf.fill(param.shape, this.config.initial_accumulator_value, param.dtype);
  }

  update({ path, param, grad, slots, lr }: ParamUpdateInput): ParamUpdateOutput {
    const { epsilon } = this.config;
    return tf.tidy(() => {
      const acc = requireSlot(slots, 'accumulator', this.name, path);
      const newAcc = tf.add(acc, tf.square(grad));
      const delta = tf.div(tf.mul(lr, grad), tf.add(tf.sqrt(newAcc), epsilon));
      return { param: tf.sub(param, delta), slots: { accumulator: newAcc } };
    });
  }

  transformGradients(grads: tf.Tensor[]): tf.Tensor[] {
    return kerasClipGradients(this.config, grads);
  }
}
