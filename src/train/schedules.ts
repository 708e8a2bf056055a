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
 * Config interfaces use Model Garden's field names (configs/learning_rate_config.py and the
 * LrConfig / WarmupConfig oneOfs in configs/optimization_config.py); missing or null fields take
 * Model Garden's defaults.
 */

/** A learning-rate schedule: updates already done (0-based) → learning rate. */
export type LearningRateFn = (step: number) => number;

export interface ConstantLrConfig {
  name?: string;
  learning_rate?: number;
}
export interface StepwiseLrConfig {
  name?: string;
  boundaries?: number[] | null;
  values?: number[] | null;
  offset?: number;
}
export interface ExponentialLrConfig {
  name?: string;
  initial_learning_rate?: number | null;
  decay_steps?: number | null;
  decay_rate?: number | null;
  staircase?: boolean | null;
  offset?: number;
}
export interface PolynomialLrConfig {
  name?: string;
  initial_learning_rate?: number | null;
  decay_steps?: number | null;
  end_learning_rate?: number;
  power?: number;
  cycle?: boolean;
  offset?: number;
}
export interface CosineLrConfig {
  name?: string;
  initial_learning_rate?: number | null;
  decay_steps?: number | null;
  alpha?: number;
  offset?: number;
}
export interface DirectPowerLrConfig {
  name?: string;
  initial_learning_rate?: number | null;
  power?: number;
}
export interface PowerAndLinearDecayLrConfig {
  name?: string;
  initial_learning_rate?: number | null;
  total_decay_steps?: number | null;
  power?: number;
  linear_decay_fraction?: number;
  offset?: number;
}
export interface PowerDecayWithOffsetLrConfig {
  name?: string;
  initial_learning_rate?: number | null;
  power?: number;
  offset?: number;
  pre_offset_learning_rate?: number;
}

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

export interface LinearWarmupConfig {
  name?: string;
  warmup_learning_rate?: number;
  warmup_steps?: number | null;
}
export interface PolynomialWarmupConfig {
  name?: string;
  power?: number;
  warmup_steps?: number | null;
}

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

function num(
  cfg: object | null | undefined,
  key: string,
  dflt: number | null,
  where: string,
): number {
  const v = (cfg as Record<string, unknown> | null | undefined)?.[key];
  if (v === null || v === undefined) {
    if (dflt === null) throw new Error(`${where}.${key} must be set (Model Garden has no default)`);
    return dflt;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new Error(`${where}.${key}: expected a finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(cfg: object | null | undefined, key: string, dflt: boolean, where: string): boolean {
  const v = (cfg as Record<string, unknown> | null | undefined)?.[key];
  if (v === null || v === undefined) return dflt;
  if (typeof v !== 'boolean') {
    throw new Error(`${where}.${key}: expected a boolean, got ${JSON.stringify(v)}`);
  }
  return v;
}

function numList(cfg: object | null | undefined, key: string, where: string): number[] {
  const v = (cfg as Record<string, unknown> | null | undefined)?.[key];
  if (v === null || v === undefined) throw new Error(`${where}.${key} must be set`);
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new Error(`${where}.${key}: expected a list of numbers, got ${JSON.stringify(v)}`);
  }
  return v as number[];
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
      const lr = num(cfg.constant, 'learning_rate', 0.1, where);
      return () => lr;
    }
    case 'stepwise': {
      const c = cfg.stepwise;
      const fn = piecewiseConstant(numList(c, 'boundaries', where), numList(c, 'values', where));
      return withOffset(fn, num(c, 'offset', 0, where));
    }
    case 'exponential': {
      const c = cfg.exponential;
      const fn = exponentialDecay(
        num(c, 'initial_learning_rate', null, where),
        positive(num(c, 'decay_steps', null, where), `${where}.decay_steps`),
        num(c, 'decay_rate', null, where),
        bool(c, 'staircase', false, where),
      );
      return withOffset(fn, num(c, 'offset', 0, where));
    }
    case 'polynomial': {
      const c = cfg.polynomial;
      const fn = polynomialDecay(
        num(c, 'initial_learning_rate', null, where),
        positive(num(c, 'decay_steps', null, where), `${where}.decay_steps`),
        num(c, 'end_learning_rate', 0.0001, where),
        num(c, 'power', 1.0, where),
        bool(c, 'cycle', false, where),
      );
      return withOffset(fn, num(c, 'offset', 0, where));
    }
    case 'cosine': {
      const c = cfg.cosine;
      const fn = cosineDecay(
        num(c, 'initial_learning_rate', null, where),
        positive(num(c, 'decay_steps', null, where), `${where}.decay_steps`),
        num(c, 'alpha', 0.0, where),
      );
      return withOffset(fn, num(c, 'offset', 0, where));
    }
    case 'power': {
      // DirectPowerDecay: lr0 · max(step, 1)^power.
      const c = cfg.power;
      const lr0 = num(c, 'initial_learning_rate', null, where);
      const power = num(c, 'power', -0.5, where);
      return (step) => lr0 * Math.pow(Math.max(step, 1), power);
    }
    case 'power_linear': {
      // PowerAndLinearDecay: lr0 · max(s,1)^power · min(1, (T − s)/(T·f)), floored at 0; s = step − offset.
      const c = cfg.power_linear;
      const lr0 = num(c, 'initial_learning_rate', null, where);
      const total = num(c, 'total_decay_steps', null, where);
      const power = num(c, 'power', -0.5, where);
      const fraction = num(c, 'linear_decay_fraction', 0.1, where);
      const offset = num(c, 'offset', 0, where);
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
      const c = cfg.power_with_offset;
      const lr0 = num(c, 'initial_learning_rate', null, where);
      const power = num(c, 'power', -0.5, where);
      const offset = num(c, 'offset', 0, where);
      const pre = num(c, 'pre_offset_learning_rate', 1.0e6, where);
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
      const c = cfg.linear;
      const steps = num(c, 'warmup_steps', null, where);
      const start = num(c, 'warmup_learning_rate', 0, where);
      const end = after(steps);
      return (step) => (step < steps ? start + (step / steps) * (end - start) : after(step));
    }
    case 'polynomial': {
      const c = cfg.polynomial;
      const steps = num(c, 'warmup_steps', null, where);
      const power = num(c, 'power', 1, where);
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
