/**
 * Eager driver for the pure optimizers: holds the slot variables of each weight and applies one
 * update (gradient transform + per-weight update rule) by assignment.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Optimizer } from './types.js';

/** A weight the optimizer updates: its Keras path and its variable. */
export interface ParamRef {
  path: string;
  variable: tf.Variable;
}

/** A slot variable with its checkpoint name `<weight path>/<slot>`. */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
}

let slotCounter = 0;

export class OptimizerState {
  /** path → slot name → variable, in creation order. */
  private readonly slots = new Map<string, Map<string, tf.Variable>>();

  constructor(readonly optimizer: Optimizer) {}

  /** Creates (once) the slot variables of each weight, from the optimizer's `initSlot`. */
  ensureSlots(params: ParamRef[]): void {
    for (const { path, variable } of params) {
      let own = this.slots.get(path);
      if (!own) {
        own = new Map();
        this.slots.set(path, own);
      }
      for (const slot of this.optimizer.slotNames(path)) {
        const existing = own.get(slot);
        if (existing) {
          if (!tf.util.arraysEqual(existing.shape, variable.shape)) {
            throw new Error(
              `optimizer slot '${path}/${slot}' has shape [${existing.shape}], but the weight has ` +
                `shape [${variable.shape}]`,
            );
          }
          continue;
        }
        const init = tf.tidy(() => this.optimizer.initSlot(slot, variable));
        // tfjs variable names must be globally unique; the checkpoint name lives in the map keys.
        own.set(slot, tf.variable(init, false, `${path}/${slot}#slot${slotCounter++}`));
        init.dispose();
      }
    }
  }

  /**
   * One optimizer update: transforms `grads` (aligned with `params`) as the config says, runs the
   * update rule of each weight and assigns the new weights and slots.
   * @param lr learning rate of this step (scheduled and warmed up)
   * @param step 1-based index of this update
   */
  apply(params: ParamRef[], grads: tf.Tensor[], lr: number, step: number): void {
    if (params.length !== grads.length) {
      throw new Error(`optimizer: ${params.length} weights but ${grads.length} gradients`);
    }
    if (!Number.isFinite(lr)) throw new Error(`optimizer: learning rate must be finite, got ${lr}`);
    if (!(step >= 1)) throw new Error(`optimizer: step is 1-based, got ${step}`);
    params.forEach(({ path, variable }, i) => {
      if (!tf.util.arraysEqual(grads[i].shape, variable.shape)) {
        throw new Error(
          `optimizer: gradient of '${path}' has shape [${grads[i].shape}], weight has [${variable.shape}]`,
        );
      }
    });
    this.ensureSlots(params);
    tf.tidy(() => {
      const lrT = tf.scalar(lr);
      const stepT = tf.scalar(step);
      const transformed = this.optimizer.transformGradients(grads);
      params.forEach(({ path, variable }, i) => {
        const own = this.slots.get(path) as Map<string, tf.Variable>;
        const slotValues: Record<string, tf.Tensor> = {};
        for (const [name, v] of own) slotValues[name] = v;
        const out = this.optimizer.update({
          path,
          param: variable,
          grad: transformed[i],
          slots: slotValues,
          lr: lrT,
          step: stepT,
        });
        variable.assign(out.param);
        for (const [name, v] of own) {
          const value = out.slots[name];
          if (!value)
            throw new Error(
              `${this.optimizer.name}: update of '${path}' returned no slot '${name}'`,
            );
          v.assign(value);
        }
      });
    });
  }

  /** The variable of one slot, if created. */
  slot(path: string, slot: string): tf.Variable | undefined {
    return this.slots.get(path)?.get(slot);
  }

  /** All slot variables, named `<weight path>/<slot>`, for checkpoints. */
  slotVariables(): NamedVariable[] {
    const out: NamedVariable[] = [];
    for (const [path, own] of this.slots) {
      for (const [slot, variable] of own) out.push({ name: `${path}/${slot}`, variable });
    }
    return out;
  }

  dispose(): void {
    for (const own of this.slots.values()) for (const v of own.values()) v.dispose();
    this.slots.clear();
  }
}
