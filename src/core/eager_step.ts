/**
 * The eager step runner: the {@link StepRunner} that runs the step parts of ./step_parts.ts on the
 * active tfjs backend with tfjs autograd and assigns the new values. The engine's compiled runner
 * records the same parts (src/engine/compiled_step.ts) and falls back to this one.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from './layer.js';
import type { StepResult, StepRunner } from './step.js';
import {
  checkStepScalars,
  emaDecay,
  evalStepValues,
  trainStepValues,
  type StepParts,
  type TrainStepValues,
} from './step_parts.js';
import type { Batch, Losses } from './task.js';

/** The parts an eager runner takes (the trainer's {@link StepParts}). */
export type EagerStepOptions<M extends Layer<unknown, unknown>, B extends Batch, O> = StepParts<
  M,
  B,
  O
>;

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
  constructor(private readonly parts: StepParts<M, B, O>) {}

  async trainStep(batch: B, learningRate: number, step: number): Promise<StepResult<O>> {
    checkStepScalars(learningRate, step);
    const { model, optimizer, ema, rng } = this.parts;
    optimizer.ensureSlots(
      model.trainableWeights().map((w) => ({ path: w.path, variable: w.variable })),
    );
    let values: TrainStepValues<O> | null = null;
    tf.tidy(() => {
      const scalars = {
        lr: tf.scalar(learningRate),
        step: tf.scalar(step),
        emaDecay: tf.scalar(ema ? emaDecay(ema.config, step) : 0),
      };
      values = trainStepValues(this.parts, batch, scalars, rng);
    });
    const v = values as unknown as TrainStepValues<O>;
    for (const { variable, value } of v.updates) if (value !== variable) variable.assign(value);
    // After every assignment: one value may feed two variables.
    for (const { value } of v.updates) if (!(value instanceof tf.Variable)) value.dispose();
    const logs = await readLosses(v.losses);
    tf.dispose(Object.values(v.losses));
    logs.learning_rate = learningRate;
    return { logs, outputs: v.outputs };
  }

  async evalStep(batch: B): Promise<StepResult<O>> {
    let kept: { losses: Losses; outputs: O } | null = null;
    tf.tidy(() => {
      kept = evalStepValues(this.parts, batch);
    });
    const k = kept as unknown as { losses: Losses; outputs: O };
    const logs = await readLosses(k.losses);
    tf.dispose(Object.values(k.losses));
    return { logs, outputs: k.outputs };
  }
}
