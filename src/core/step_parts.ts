/**
 * The pure pieces of one training step, shared by the eager runner (./eager_step.ts) and the
 * compiled runner (src/engine/compiled_step.ts), so the two cannot drift apart: the optimizer
 * contract and its update order, the EMA decay and update, and the whole step as a function from
 * the current variables to their new values ({@link trainStepValues}). Nothing here assigns a
 * variable: the eager runner assigns the values, the engine records them as graph outputs.
 *
 * EMA semantics are Model Garden's ExponentialMovingAverage wrapper
 * (official/modeling/optimization/ema_optimizer.py): the shadows start at zero; after the update
 * that brings the iteration count to t, decay = 0 before `start_step`, min(average_decay,
 * (1 + t') / (10 + t')) with t' = t − start_step when `dynamic_decay`, else `average_decay`, and
 * average ← average − (1 − decay)·(average − weight), read after the optimizer update.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import { emaConfig } from './config/optimization.js';
import { validateConfig } from './config/resolve.js';
import type { Layer, StateUpdate } from './layer.js';
import type { Rng } from './random.js';
import type { StepRunner } from './step.js';
import type { Batch, Losses, Task } from './task.js';

// ------------------------------------------------------------------------------- optimizers

/** Input of one parameter's update. */
export interface ParamUpdateInput {
  /** Keras weight path (e.g. `resnet/conv2d/kernel`), matched by include/exclude name patterns. */
  path: string;
  param: tf.Tensor;
  grad: tf.Tensor;
  /** This parameter's optimizer slots (e.g. `{momentum}` or `{m, v}`), same shape as `param`. */
  slots: Record<string, tf.Tensor>;
  /** Learning rate of this step, already scheduled and warmed up. */
  lr: tf.Scalar;
  /** float32 scalar: 1-based index of this update (1 for the first update). */
  step: tf.Scalar;
}

/** New parameter value and new slot values (same keys as the input slots). */
export interface ParamUpdateOutput {
  param: tf.Tensor;
  slots: Record<string, tf.Tensor>;
}

/** An optimizer as a pure update rule (implementations: src/train/optimizers). */
export interface Optimizer {
  /** Model Garden optimizer name, e.g. `SGD`, `Adam`, `AdamWeightDecay`. */
  readonly name: string;
  /** Names of the slots this optimizer keeps for the weight at `path` (Keras slot names). */
  slotNames(path: string): string[];
  /** Initial value of a slot for `param` (zeros for every optimizer here except Adagrad). */
  initSlot(slot: string, param: tf.Tensor): tf.Tensor;
  /** Pure update rule for one parameter. */
  update(input: ParamUpdateInput): ParamUpdateOutput;
  /**
   * Gradient transform the config implies (AdamW `gradient_clip_norm`, then Keras `clipvalue`,
   * `clipnorm`, `global_clipnorm`), applied to all gradients of a step before `update`. Returns a
   * list aligned with `grads`; entries may be the input tensors themselves when nothing applies.
   */
  transformGradients(grads: tf.Tensor[]): tf.Tensor[];
}

/** A weight the optimizer updates: its Keras path and its variable. */
export interface ParamRef {
  path: string;
  variable: tf.Variable;
}

/** A variable with its checkpoint name (`<weight path>/<slot>`, or a weight path for EMA). */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
}

/** What a step needs of the optimizer's state (src/train/optimizers/state.ts implements it). */
export interface StepOptimizerState {
  readonly optimizer: Optimizer;
  /** Creates (once) the slot variables of each weight. */
  ensureSlots(params: ParamRef[]): void;
  slot(path: string, slot: string): tf.Variable | undefined;
  slotVariables(): NamedVariable[];
}

/** A new value for a variable (weights, slots, moving statistics, EMA shadows). */
export interface VariableUpdate {
  variable: tf.Variable;
  value: tf.Tensor;
}

/** Throws unless the learning rate is finite and the step 1-based. */
export function checkStepScalars(lr: number, step: number): void {
  if (!Number.isFinite(lr)) throw new Error(`optimizer: learning rate must be finite, got ${lr}`);
  if (!(step >= 1)) throw new Error(`optimizer: step is 1-based, got ${step}`);
}

/**
 * One optimizer update as new values, in assignment order: the gradients are transformed together
 * (clipping), then each weight in `params` order gets its new value followed by its slots in
 * `slotNames` order. Slots must exist ({@link StepOptimizerState.ensureSlots}).
 */
export function optimizerUpdates(
  state: StepOptimizerState,
  params: ParamRef[],
  grads: tf.Tensor[],
  lr: tf.Scalar,
  step: tf.Scalar,
): VariableUpdate[] {
  const { optimizer } = state;
  if (params.length !== grads.length) {
    throw new Error(`optimizer: ${params.length} weights but ${grads.length} gradients`);
  }
  params.forEach(({ path, variable }, i) => {
    if (!tf.util.arraysEqual(grads[i].shape, variable.shape)) {
      throw new Error(
        `optimizer: gradient of '${path}' has shape [${grads[i].shape}], weight has [${variable.shape}]`,
      );
    }
  });
  const transformed = optimizer.transformGradients(grads);
  const out: VariableUpdate[] = [];
  params.forEach(({ path, variable }, i) => {
    const slotVars: [string, tf.Variable][] = optimizer.slotNames(path).map((name) => {
      const v = state.slot(path, name);
      if (!v) throw new Error(`optimizer slot '${path}/${name}' was not created`);
      return [name, v];
    });
    const r = optimizer.update({
      path,
      param: variable,
      grad: transformed[i],
      slots: Object.fromEntries(slotVars),
      lr,
      step,
    });
    out.push({ variable, value: r.param });
    for (const [name, v] of slotVars) {
      const value = r.slots[name];
      if (!value)
        throw new Error(`${optimizer.name}: update of '${path}' returned no slot '${name}'`);
      out.push({ variable: v, value });
    }
  });
  return out;
}

// ------------------------------------------------------------------------------------- EMA

/** EMAConfig input: any subset of Model Garden's fields (configs/optimizer_config.py). */
export type EmaConfigLike = z.input<typeof emaConfig>;

/** EMAConfig with Model Garden's defaults filled in. */
export type ResolvedEmaConfig = z.output<typeof emaConfig>;

/** Fills Model Garden's defaults (from the one schema in ./config) and checks the values. */
export function resolveEmaConfig(cfg: EmaConfigLike | null | undefined): ResolvedEmaConfig {
  const out = validateConfig(emaConfig, cfg ?? {}, 'optimizer_config.ema');
  if (!(out.average_decay >= 0 && out.average_decay <= 1)) {
    throw new Error(`ema.average_decay must be in [0, 1], got ${out.average_decay}`);
  }
  return out;
}

/**
 * The decay used after the update that brought the optimizer's iteration count to `step`
 * (1 after the first update).
 */
export function emaDecay(cfg: EmaConfigLike | ResolvedEmaConfig, step: number): number {
  const c = resolveEmaConfig(cfg);
  if (step < c.start_step) return 0;
  if (c.dynamic_decay) {
    const t = step - c.start_step;
    return Math.min(c.average_decay, (1 + t) / (10 + t));
  }
  return c.average_decay;
}

/** Pure EMA step: average − (1 − decay)·(average − value). */
export function emaUpdate(
  average: tf.Tensor,
  value: tf.Tensor,
  decay: number | tf.Scalar,
): tf.Tensor {
  return tf.tidy(() => tf.sub(average, tf.mul(tf.sub(1, decay), tf.sub(average, value))));
}

/** What a step needs of the EMA state (src/train/ema.ts implements it). */
export interface StepEmaState {
  readonly config: ResolvedEmaConfig;
  /** The shadow variables, named by their weight's path. */
  variables(): NamedVariable[];
}

// ------------------------------------------------------------------------------- the step

/** Everything a step runner works on (built by the trainer). */
export interface StepParts<M extends Layer<unknown, unknown>, B extends Batch, O> {
  task: Task<M, B, O>;
  model: M;
  optimizer: StepOptimizerState;
  /** EMA of the weights, updated after each optimizer step, or null. */
  ema: StepEmaState | null;
  /** Random stream for dropout and stochastic depth (checkpointed by the trainer). */
  rng: Rng;
  /** Receives the step's warnings (the trainer's message channel); default: none shown. */
  warn?: (message: string) => void;
}

/**
 * Makes the compiled step runner for a trainer's parts: the engine's `createCompiledStepRunner`,
 * handed to the trainer by the CLI (the trainer does not import the engine).
 */
export type CompiledStepRunnerFactory = <M extends Layer<unknown, unknown>, B extends Batch, O>(
  parts: StepParts<M, B, O>,
  opts: { intraOpNumThreads?: number; warn?: (message: string) => void; fallback?: EngineFallback },
) => StepRunner<B, O>;

/**
 * What the engine does with a step it cannot compile: `warn` runs it eagerly after one warning;
 * `error` throws (runtime.engine_fallback).
 */
export type EngineFallback = 'warn' | 'error';

/** The scalar inputs of a training step. */
export interface StepScalars {
  lr: tf.Scalar;
  /** 1-based index of this update. */
  step: tf.Scalar;
  /** EMA decay of this step ({@link emaDecay}); ignored without EMA. */
  emaDecay: tf.Scalar;
}

/** What one training step computes, nothing assigned. */
export interface TrainStepValues<O> {
  losses: Losses;
  outputs: O;
  /**
   * New values in assignment order: weights and slots ({@link optimizerUpdates}), then batch-norm
   * state updates, then EMA shadows (averaging the updated weights).
   */
  updates: VariableUpdate[];
}

/** Keeps every tensor of a nested structure alive past the enclosing scope. */
export function keepAll<T>(x: T): T {
  if (x instanceof tf.Tensor) tf.keep(x);
  else if (x && typeof x === 'object') for (const v of Object.values(x as object)) keepAll(v);
  return x;
}

/** The lists of weights without a gradient already reported, per step parts. */
const reportedNoGradient = new WeakMap<object, Set<string>>();

/**
 * Reports, once per step parts and list, trainable weights that `total_loss` does not depend on
 * (e.g. a backbone level above the decoder's `max_level`). Keras skips them in `apply_gradients`
 * with a warning (`filter_empty_gradients` in keras/optimizers/utils.py), and so does the step.
 */
function reportNoGradient(parts: { warn?: (message: string) => void }, paths: string[]): void {
  const list = paths.join(', ');
  let seen = reportedNoGradient.get(parts);
  if (!seen) reportedNoGradient.set(parts, (seen = new Set()));
  if (seen.has(list)) return;
  seen.add(list);
  parts.warn?.(
    `${paths.length} trainable weight(s) get no gradient from the loss and are not updated: ${list}`,
  );
}

/**
 * One training step as values: forward (training, state updates collected), gradients of
 * `total_loss` for every trainable weight, the optimizer update of the weights that have a
 * gradient (the others are skipped, as Keras skips them, and reported once through
 * `parts.warn`), state updates and EMA. Every returned tensor is kept (`tf.keep`), so the call can
 * sit in a `tf.tidy` that frees the rest.
 */
export function trainStepValues<M extends Layer<unknown, unknown>, B extends Batch, O>(
  parts: StepParts<M, B, O>,
  batch: B,
  scalars: StepScalars,
  rng: Rng,
): TrainStepValues<O> {
  const { task, model, optimizer, ema } = parts;
  const trainable = model.trainableWeights();
  if (trainable.length === 0) throw new Error(`${model.name} has no trainable weights`);
  const params = trainable.map((w) => ({ path: w.path, variable: w.variable }));
  const stateUpdates: StateUpdate[] = [];
  let forward: { losses: Losses; outputs: O } | null = null;
  const { grads } = tf.variableGrads(
    () => {
      const r = task.forward(model, batch, { training: true, stateUpdates, rng });
      forward = keepAll({ losses: r.losses, outputs: r.outputs });
      return r.losses.total_loss;
    },
    params.map((p) => p.variable),
  );
  const f = forward as unknown as { losses: Losses; outputs: O };
  const updated = params.filter((p) => grads[p.variable.name]);
  if (updated.length < params.length) {
    reportNoGradient(
      parts,
      params.filter((p) => !grads[p.variable.name]).map((p) => p.path),
    );
  }
  const gradList = updated.map((p) => grads[p.variable.name]);
  const updates = optimizerUpdates(optimizer, updated, gradList, scalars.lr, scalars.step);
  for (const u of stateUpdates) updates.push({ variable: u.variable, value: u.value });
  if (ema) {
    const newValue = new Map(updates.map((u) => [u.variable, u.value]));
    const byPath = new Map(model.weights().map((w) => [w.path, w.variable]));
    for (const s of ema.variables()) {
      const weight = byPath.get(s.name);
      if (!weight) throw new Error(`EMA: no model weight '${s.name}'`);
      const current = newValue.get(weight) ?? weight;
      updates.push({
        variable: s.variable,
        value: emaUpdate(s.variable, current, scalars.emaDecay),
      });
    }
  }
  for (const u of updates) tf.keep(u.value);
  return { losses: f.losses, outputs: f.outputs, updates };
}

/** One evaluation forward pass (inference mode); returned tensors are kept as above. */
export function evalStepValues<M extends Layer<unknown, unknown>, B extends Batch, O>(
  parts: Pick<StepParts<M, B, O>, 'task' | 'model'>,
  batch: B,
): { losses: Losses; outputs: O } {
  const r = parts.task.forward(parts.model, batch, { training: false });
  return keepAll({ losses: r.losses, outputs: r.outputs });
}
