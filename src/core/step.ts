/**
 * The step interface: what the trainer calls once per batch.
 *
 * The eager implementation (src/core/eager_step.ts) runs tfjs ops on the active backend; the
 * engine (src/engine) provides a compiled implementation with the same contract, so neither the
 * tasks nor the trainer change when steps are compiled.
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface StepResult<O> {
  /** Scalar logs of this step: every loss term, plus e.g. `learning_rate`, `global_norm`. */
  logs: Record<string, number>;
  /** Model outputs for metrics; owned (and disposed) by the caller. */
  outputs: O;
}

export interface StepRunner<B, O> {
  /**
   * One optimisation step: forward, losses, gradients, gradient transforms, optimizer update
   * (weights and slots), batch-norm statistics, EMA. `step` is the 1-based index of this update.
   */
  trainStep(batch: B, learningRate: number, step: number): Promise<StepResult<O>>;
  /** One evaluation forward pass (inference mode). */
  evalStep(batch: B): Promise<StepResult<O>>;
  dispose?(): void;
}

/** Disposes every tensor found in a (nested) output structure. */
export function disposeOutputs(outputs: unknown, dispose: (t: tf.Tensor) => void): void {
  if (outputs === null || outputs === undefined) return;
  if (typeof outputs !== 'object') return;
  if ('dataId' in (outputs as object) && 'shape' in (outputs as object)) {
    dispose(outputs as tf.Tensor);
    return;
  }
  for (const v of Array.isArray(outputs) ? outputs : Object.values(outputs as object)) {
    disposeOutputs(v, dispose);
  }
}
