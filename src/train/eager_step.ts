/**
 * Eager step runner: runs a task's forward pass on the active tfjs backend, differentiates it with
 * tfjs autograd (tfjs's own gradient definitions), and applies gradient transforms, the optimizer
 * update, batch-norm statistics and EMA. This is the reference the engine's compiled steps are
 * tested against.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Layer, StateUpdate } from '../core/layer.js';
import type { Rng } from '../core/random.js';
import type { StepResult, StepRunner } from '../core/step.js';
import type { Batch, Losses, Task } from '../core/task.js';
import type { EmaState } from './ema.js';
import type { OptimizerState } from './optimizers/index.js';

export interface EagerStepOptions<M extends Layer<unknown, unknown>, B extends Batch, O> {
  task: Task<M, B, O>;
  model: M;
  optimizer: OptimizerState;
  /** EMA of the weights, updated after each optimizer step, or null. */
  ema: EmaState | null;
  /** Random stream for dropout and stochastic depth (checkpointed by the trainer). */
  rng: Rng;
}

/** Keeps every tensor of a nested structure alive past the enclosing scope. */
function keepAll<T>(x: T): T {
  if (x instanceof tf.Tensor) {
    tf.keep(x);
  } else if (x && typeof x === 'object') {
    for (const v of Object.values(x as object)) keepAll(v);
  }
  return x;
}

async function readLosses(losses: Losses): Promise<Record<string, number>> {
  const names = Object.keys(losses);
  const values = await Promise.all(names.map((n) => losses[n].data()));
  const logs: Record<string, number> = {};
  names.forEach((n, i) => (logs[n] = values[i][0]));
  return logs;
}

export class EagerStepRunner<
  M extends Layer<unknown, unknown>,
  B extends Batch,
  O,
> implements StepRunner<B, O> {
  constructor(private readonly opts: EagerStepOptions<M, B, O>) {}

  async trainStep(batch: B, learningRate: number, step: number): Promise<StepResult<O>> {
    const { task, model, optimizer, ema, rng } = this.opts;
    const trainable = model.trainableWeights();
    if (trainable.length === 0) throw new Error(`${model.name} has no trainable weights`);
    const stateUpdates: StateUpdate[] = [];
    let losses: Losses | null = null;
    let outputs: O | null = null;
    const { grads } = tf.variableGrads(
      () => {
        const r = task.forward(model, batch, { training: true, stateUpdates, rng });
        losses = keepAll(r.losses);
        outputs = keepAll(r.outputs);
        return r.losses.total_loss;
      },
      trainable.map((w) => w.variable),
    );
    const gradList = trainable.map((w) => {
      const g = grads[w.variable.name];
      if (!g) throw new Error(`no gradient for ${w.path}`);
      return g;
    });
    optimizer.apply(
      trainable.map((w) => ({ path: w.path, variable: w.variable })),
      gradList,
      learningRate,
      step,
    );
    tf.dispose(gradList);
    for (const u of stateUpdates) {
      u.variable.assign(u.value);
      u.value.dispose();
    }
    if (ema) ema.update(step);
    const l = losses as unknown as Losses;
    const logs = await readLosses(l);
    tf.dispose(Object.values(l));
    logs.learning_rate = learningRate;
    return { logs, outputs: outputs as unknown as O };
  }

  async evalStep(batch: B): Promise<StepResult<O>> {
    const { task, model } = this.opts;
    let kept: { losses: Losses; outputs: O } | null = null;
    tf.tidy(() => {
      const r = task.forward(model, batch, { training: false });
      kept = keepAll({ losses: r.losses, outputs: r.outputs });
    });
    const k = kept as unknown as { losses: Losses; outputs: O };
    const logs = await readLosses(k.losses);
    tf.dispose(Object.values(k.losses));
    return { logs, outputs: k.outputs };
  }
}
