/**
 * Exponential moving average of weights, with the semantics of Model Garden's
 * ExponentialMovingAverage optimizer wrapper (official/modeling/optimization/ema_optimizer.py):
 *
 *  - the averages are slots created with the zeros initializer (`add_slot(var, 'average')`), so
 *    they start at 0, not at the weights;
 *  - after each optimizer update, with t = optimizer.iterations (1 after the first update):
 *      decay = 0                                              if t < start_step
 *            = min(average_decay, (1 + t') / (10 + t'))       if dynamic_decay, t' = t − start_step
 *            = average_decay                                  otherwise
 *      average ← average − (1 − decay)·(average − weight)
 *    so before start_step the average simply copies the weight;
 *  - `trainable_weights_only` (default true) chooses trainable weights or all weights (batch-norm
 *    moving statistics included); the caller passes the chosen weights to {@link EmaState};
 *  - evaluation / export swap the averages into the model (`swap_weights`) and back.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  emaDecay,
  emaUpdate,
  resolveEmaConfig,
  type EmaConfigLike,
  type ResolvedEmaConfig,
  type StepEmaState,
} from '../core/step_parts.js';

/** A weight whose average is kept: its Keras path and variable. */
export interface EmaWeight {
  path: string;
  variable: tf.Variable;
}

let shadowCounter = 0;

/**
 * Shadow (average) variables for a fixed list of weights (Model Garden's `shadow_copy`). Pass
 * trainable weights, or all weights when `trainable_weights_only` is false.
 */
export class EmaState implements StepEmaState {
  readonly config: ResolvedEmaConfig;
  private readonly weights: EmaWeight[];
  private readonly shadows: tf.Variable[];
  private swapped = false;

  constructor(cfg: EmaConfigLike | null | undefined, weights: EmaWeight[]) {
    this.config = resolveEmaConfig(cfg);
    const seen = new Set<string>();
    for (const w of weights) {
      if (seen.has(w.path)) throw new Error(`EMA: weight path '${w.path}' is given twice`);
      seen.add(w.path);
    }
    this.weights = [...weights];
    this.shadows = weights.map((w) =>
      tf.tidy(() =>
        tf.variable(tf.zerosLike(w.variable), false, `${w.path}/average#ema${shadowCounter++}`),
      ),
    );
  }

  /** Updates every average after the optimizer update that made the iteration count `step`. */
  update(step: number): void {
    if (this.swapped) throw new Error('EMA: update() while the averages are swapped in');
    const decay = emaDecay(this.config, step);
    tf.tidy(() => {
      const d = tf.scalar(decay);
      this.weights.forEach((w, i) =>
        this.shadows[i].assign(emaUpdate(this.shadows[i], w.variable, d)),
      );
    });
  }

  /** Puts the averages into the model weights (keeping the trained values) for eval / export. */
  swapIn(): void {
    if (this.swapped) throw new Error('EMA: swapIn() called twice without swapOut()');
    this.swap();
    this.swapped = true;
  }

  /** Restores the trained weights after {@link swapIn}. */
  swapOut(): void {
    if (!this.swapped) throw new Error('EMA: swapOut() without a preceding swapIn()');
    this.swap();
    this.swapped = false;
  }

  /** Whether the averages are currently in the model weights. */
  get isSwappedIn(): boolean {
    return this.swapped;
  }

  private swap(): void {
    tf.tidy(() => {
      this.weights.forEach((w, i) => {
        const trained = tf.clone(w.variable);
        w.variable.assign(this.shadows[i]);
        this.shadows[i].assign(trained);
      });
    });
  }

  /** The average variables, named by their weight's path, for checkpoints. */
  variables(): { name: string; variable: tf.Variable }[] {
    return this.weights.map((w, i) => ({ name: w.path, variable: this.shadows[i] }));
  }

  dispose(): void {
    for (const s of this.shadows) s.dispose();
    this.shadows.length = 0;
  }
}
