/**
 * Learning-rate schedules and warmups with Model Garden's semantics
 * (official/modeling/optimization/lr_schedule.py, optimizer_factory.py `build_learning_rate`, and
 * the tf.keras schedules they wrap, tf_keras/optimizers/schedules/learning_rate_schedule.py).
 *
 * A schedule maps `step` = the number of updates already done (0 for the first update; Keras
 * passes `optimizer.iterations`) to the learning rate of the next update. Schedules with an
 * `offset` evaluate the Keras schedule at `step - offset`, with no clamping (as Model Garden's
 * offset wrapper). Values are computed in float64; TF computes them in float32.
 *
 * Configs are parsed with the schemas of src/core/config/optimization.ts (Model Garden's field names
 * and defaults), so missing fields take Model Garden's defaults.
 */
import type { z } from 'zod';
import {
  constantLrConfig,
  cosineLrConfig,
  directPowerLrConfig,
  exponentialLrConfig,
  linearWarmupConfig,
  polynomialLrConfig,
  polynomialWarmupConfig,
  powerAndLinearDecayLrConfig,
  powerDecayWithOffsetLrConfig,
  stepwiseLrConfig,
} from '../core/config/optimization.js';
import { validateConfig } from '../core/config/resolve.js';

/** A learning-rate schedule: updates already done (0-based) → learning rate. */
export type LearningRateFn = (step: number) => number;

/*
 * Config shapes are the zod schemas of src/core/config/optimization.ts (Model Garden's fields and
 * defaults, configs/learning_rate_config.py). Each branch is parsed with its schema here, so a
 * hand-written partial config gets the same defaults as a resolved experiment config.
 */
export type ConstantLrConfig = z.input<typeof constantLrConfig>;
export type StepwiseLrConfig = z.input<typeof stepwiseLrConfig>;
export type ExponentialLrConfig = z.input<typeof exponentialLrConfig>;
export type PolynomialLrConfig = z.input<typeof polynomialLrConfig>;
export type CosineLrConfig = z.input<typeof cosineLrConfig>;
export type DirectPowerLrConfig = z.input<typeof directPowerLrConfig>;
export type PowerAndLinearDecayLrConfig = z.input<typeof powerAndLinearDecayLrConfig>;
export type PowerDecayWithOffsetLrConfig = z.input<typeof powerDecayWithOffsetLrConfig>;

/** Model Garden's LrConfig oneOf: `type` selects the sub-config used. */
export interface LrOneOf {
  type?: string | null;
  constant?: ConstantLrConfig | null;
  stepwise?: StepwiseLrConfig | null;
  exponential?: ExponentialLrConfig | null;
  polynomial?: PolynomialLrConfig | null;
  cosine?: CosineLrConfig | null;
  power?: DirectPowerLrConfig | null;
  power_linear?: PowerAndLinearDecayLrConfig | null;
  power_with_offset?: PowerDecayWithOffsetLrConfig | null;
  [other: string]: unknown;
}

export type LinearWarmupConfig = z.input<typeof linearWarmupConfig>;
export type PolynomialWarmupConfig = z.input<typeof polynomialWarmupConfig>;

/** Model Garden's WarmupConfig oneOf; no warmup when `type` is null or missing. */
export interface WarmupOneOf {
  type?: string | null;
  linear?: LinearWarmupConfig | null;
  polynomial?: PolynomialWarmupConfig | null;
  [other: string]: unknown;
}

export const LR_TYPES = [
  'constant',
  'stepwise',
  'exponential',
  'polynomial',
  'cosine',
  'power',
  'power_linear',
  'power_with_offset',
] as const;
export const WARMUP_TYPES = ['linear', 'polynomial'] as const;

// ---------------------------------------------------------------------------- field access

/** Parses one oneOf branch with its schema (defaults filled, fields checked, paths named). */
function branch<S extends z.ZodType>(schema: S, cfg: unknown, where: string): z.output<S> {
  return validateConfig(schema, cfg ?? {}, where);
}

/** A field Model Garden leaves `None` by default, which a schedule needs. */
function required<T>(value: T | null, field: string): T {
  if (value === null) throw new Error(`${field} must be set (Model Garden has no default)`);
  return value;
}

function positive(v: number, field: string): number {
  if (!(v > 0)) throw new Error(`${field} must be > 0, got ${v}`);
  return v;
}

// ---------------------------------------------------------------------------- Keras schedules

/**
 * tf.keras PiecewiseConstantDecay: values[0] while step <= boundaries[0], values[i] while
 * boundaries[i-1] < step <= boundaries[i], values[n] after boundaries[n-1].
 */
export function piecewiseConstant(boundaries: number[], values: number[]): LearningRateFn {
  if (boundaries.length !== values.length - 1) {
    throw new Error(
      `stepwise: boundaries must have one element fewer than values, got ${boundaries.length} ` +
        `boundaries and ${values.length} values`,
    );
  }
  for (let i = 1; i < boundaries.length; i++) {
    if (!(boundaries[i] > boundaries[i - 1])) {
      throw new Error(`stepwise: boundaries must increase strictly, got [${boundaries}]`);
    }
  }
  return (step) => {
    for (let i = 0; i < boundaries.length; i++) if (step <= boundaries[i]) return values[i];
    return values[values.length - 1];
  };
}

/** tf.keras ExponentialDecay: lr0 · rate^(step/decay_steps), exponent floored when staircase. */
export function exponentialDecay(
  initial: number,
  decaySteps: number,
  decayRate: number,
  staircase: boolean,
): LearningRateFn {
  return (step) => {
    const p = step / decaySteps;
    return initial * Math.pow(decayRate, staircase ? Math.floor(p) : p);
  };
}

/**
 * tf.keras PolynomialDecay: (lr0 − end)·(1 − s/D)^power + end with s = min(step, D); with `cycle`,
 * D is decay_steps times ceil(step/decay_steps) (times 1 at step 0) and s = step.
 */
export function polynomialDecay(
  initial: number,
  decaySteps: number,
  end: number,
  power: number,
  cycle: boolean,
): LearningRateFn {
  return (step) => {
    let s = step;
    let d = decaySteps;
    if (cycle) d = decaySteps * (s === 0 ? 1 : Math.ceil(s / decaySteps));
    else s = Math.min(s, d);
    return (initial - end) * Math.pow(1 - s / d, power) + end;
  };
}

/** tf.keras CosineDecay: lr0 · ((1−α)·½(1 + cos(π·min(step, D)/D)) + α). */
export function cosineDecay(initial: number, decaySteps: number, alpha: number): LearningRateFn {
  return (step) => {
    const s = Math.min(step, decaySteps);
    const cosine = 0.5 * (1 + Math.cos((Math.PI * s) / decaySteps));
    return initial * ((1 - alpha) * cosine + alpha);
  };
}

function withOffset(fn: LearningRateFn, offset: number): LearningRateFn {
  return offset === 0 ? fn : (step) => fn(step - offset);
}

// ---------------------------------------------------------------------------- builders

/** The schedule `cfg.type` selects, without warmup. */
export function buildSchedule(cfg: LrOneOf): LearningRateFn {
  const type = cfg?.type;
  if (type === null || type === undefined || type === '') {
    throw new Error(`learning_rate.type must be specified (one of: ${LR_TYPES.join(', ')})`);
  }
  const where = `learning_rate.${type}`;
  switch (type) {
    case 'constant': {
      const lr = branch(constantLrConfig, cfg.constant, where).learning_rate;
      return () => lr;
    }
    case 'stepwise': {
      const c = branch(stepwiseLrConfig, cfg.stepwise, where);
      const fn = piecewiseConstant(
        required(c.boundaries, `${where}.boundaries`),
        required(c.values, `${where}.values`),
      );
      return withOffset(fn, c.offset);
    }
    case 'exponential': {
      const c = branch(exponentialLrConfig, cfg.exponential, where);
      const fn = exponentialDecay(
        required(c.initial_learning_rate, `${where}.initial_learning_rate`),
        positive(required(c.decay_steps, `${where}.decay_steps`), `${where}.decay_steps`),
        required(c.decay_rate, `${where}.decay_rate`),
        c.staircase ?? false,
      );
      return withOffset(fn, c.offset);
    }
    case 'polynomial': {
      const c = branch(polynomialLrConfig, cfg.polynomial, where);
      const fn = polynomialDecay(
        required(c.initial_learning_rate, `${where}.initial_learning_rate`),
        positive(required(c.decay_steps, `${where}.decay_steps`), `${where}.decay_steps`),
        c.end_learning_rate,
        c.power,
        c.cycle,
      );
      return withOffset(fn, c.offset);
    }
    case 'cosine': {
      const c = branch(cosineLrConfig, cfg.cosine, where);
      const fn = cosineDecay(
        required(c.initial_learning_rate, `${where}.initial_learning_rate`),
        positive(required(c.decay_steps, `${where}.decay_steps`), `${where}.decay_steps`),
        c.alpha,
      );
      return withOffset(fn, c.offset);
    }
    case 'power': {
      // DirectPowerDecay: lr0 · max(step, 1)^power.
      const c = branch(directPowerLrConfig, cfg.power, where);
      const lr0 = required(c.initial_learning_rate, `${where}.initial_learning_rate`);
      const power = c.power;
      return (step) => lr0 * Math.pow(Math.max(step, 1), power);
    }
    case 'power_linear': {
      // PowerAndLinearDecay: lr0 · max(s,1)^power · min(1, (T − s)/(T·f)), floored at 0; s = step − offset.
      const c = branch(powerAndLinearDecayLrConfig, cfg.power_linear, where);
      const lr0 = required(c.initial_learning_rate, `${where}.initial_learning_rate`);
      const total = required(c.total_decay_steps, `${where}.total_decay_steps`);
      const { power, linear_decay_fraction: fraction, offset } = c;
      return (step) => {
        const s = step - offset;
        let lr = lr0 * Math.pow(Math.max(s, 1), power);
        if (total * fraction > 0) {
          lr *= Math.min(1, (total - s) / (total * fraction));
          lr = Math.max(0, lr);
        }
        return lr;
      };
    }
    case 'power_with_offset': {
      // PowerDecayWithOffset: pre_offset_learning_rate while step <= offset, else
      // lr0 · max(step − offset, 1)^power; capped at pre_offset_learning_rate.
      const c = branch(powerDecayWithOffsetLrConfig, cfg.power_with_offset, where);
      const lr0 = required(c.initial_learning_rate, `${where}.initial_learning_rate`);
      const { power, offset, pre_offset_learning_rate: pre } = c;
      return (step) => {
        const after = Math.pow(Math.max(step - offset, 1), power) * lr0;
        return Math.min(step > offset ? after : pre, pre);
      };
    }
    default:
      throw new Error(
        `learning_rate.type '${type}' is not supported; choose one of: ${LR_TYPES.join(', ')}`,
      );
  }
}

/**
 * Wraps `after` with Model Garden's warmup `cfg.type`; returns `after` when `cfg.type` is unset.
 *  - linear (LinearWarmup): for step < warmup_steps,
 *    warmup_learning_rate + step/warmup_steps · (after(warmup_steps) − warmup_learning_rate)
 *  - polynomial (PolynomialWarmUp): for step < warmup_steps,
 *    after(warmup_steps) · (max(step, 1)/warmup_steps)^power
 * From warmup_steps on, the wrapped schedule's own value.
 */
export function applyWarmup(
  after: LearningRateFn,
  cfg: WarmupOneOf | null | undefined,
): LearningRateFn {
  const type = cfg?.type;
  if (!cfg || type === null || type === undefined || type === '') return after;
  const where = `warmup.${type}`;
  switch (type) {
    case 'linear': {
      const c = branch(linearWarmupConfig, cfg.linear, where);
      const steps = required(c.warmup_steps, `${where}.warmup_steps`);
      const start = c.warmup_learning_rate;
      const end = after(steps);
      return (step) => (step < steps ? start + (step / steps) * (end - start) : after(step));
    }
    case 'polynomial': {
      const c = branch(polynomialWarmupConfig, cfg.polynomial, where);
      const steps = required(c.warmup_steps, `${where}.warmup_steps`);
      const power = c.power;
      const peak = after(steps);
      return (step) => {
        if (!(step < steps)) return after(step);
        const done = steps <= 0 ? 1 : Math.max(step, 1) / steps;
        return peak * Math.pow(done, power);
      };
    }
    default:
      throw new Error(
        `warmup.type '${type}' is not supported; choose one of: ${WARMUP_TYPES.join(', ')}`,
      );
  }
}

/**
 * Model Garden's OptimizerFactory.build_learning_rate: the schedule, wrapped by the warmup when
 * one is configured.
 * @returns step (updates already done, 0-based) → learning rate
 */
export function buildLearningRate(lrCfg: LrOneOf, warmupCfg?: WarmupOneOf | null): LearningRateFn {
  return applyWarmup(buildSchedule(lrCfg), warmupCfg);
}
