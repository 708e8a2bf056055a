/**
 * Eager driver for the pure optimizers: holds the slot variables of each weight and applies one
 * update (gradient transform + per-weight update rule) by assignment.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  checkStepScalars,
  optimizerUpdates,
  type NamedVariable,
  type ParamRef,
  type StepOptimizerState,
} from '../../core/step_parts.js';
import type { Optimizer } from './types.js';

export type { NamedVariable, ParamRef };

let slotCounter = 0;

export class OptimizerState implements StepOptimizerState {
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
    checkStepScalars(lr, step);
    this.ensureSlots(params);
    tf.tidy(() => {
      // The update order is the compiled step's too (src/core/step_parts.ts).
      const updates = optimizerUpdates(this, params, grads, tf.scalar(lr), tf.scalar(step));
      for (const { variable, value } of updates) variable.assign(value);
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
