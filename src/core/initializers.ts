/**
 * Keras weight initializers, drawing their numbers in JS from a seeded {@link Rng}.
 *
 * Semantics and defaults follow `tf.keras.initializers` (Keras 2): the same distributions, the
 * same fan computation for dense and convolution kernels, and the same truncated-normal stddev
 * correction, so a model initialised here is statistically the model Keras would initialise.
 * Values are not bit-identical to TF's (different generator); streams are keyed by weight path
 * (see Layer.addWeight), so they do not depend on build order or backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Initializer } from './layer.js';
import type { Rng } from './random.js';

export type FanMode = 'fan_in' | 'fan_out' | 'fan_avg';
export type VarianceScalingDistribution = 'truncated_normal' | 'untruncated_normal' | 'uniform';

/**
 * Stddev of a standard normal truncated to [-2, 2]. Dividing by it makes the truncated draw have
 * the requested variance (keras/initializers/initializers_v2.py, VarianceScaling).
 */
export const TRUNCATED_NORMAL_STDDEV_CORRECTION = 0.87962566103423978;

function withDescription(fn: (shape: number[], rng: Rng) => Float32Array, description: string) {
  const init = (shape: number[], rng: Rng, dtype: tf.DataType = 'float32'): tf.Tensor => {
    const values = tf.tensor(fn(shape, rng), shape, 'float32');
    if (dtype === 'float32') return values;
    const cast = tf.cast(values, dtype);
    values.dispose();
    return cast;
  };
  Object.defineProperty(init, 'description', { value: description, enumerable: true });
  return init as Initializer;
}

function sizeOf(shape: number[]): number {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`initializer: shape [${shape}] has an invalid dimension ${d}`);
    }
  }
  return shape.reduce((n, d) => n * d, 1);
}

function fill(shape: number[], draw: () => number): Float32Array {
  const out = new Float32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = draw();
  return out;
}

/** A normal draw resampled until it lies within two stddevs of the mean (tf.random.truncated_normal). */
function truncatedDraw(rng: Rng, mean: number, stddev: number): number {
  for (;;) {
    const z = rng.normal();
    if (z >= -2 && z <= 2) return mean + stddev * z;
  }
}

/**
 * Keras fan computation: rank 0 → (1, 1); rank 1 → (n, n); rank 2 → (shape[0], shape[1]);
 * rank ≥ 3 (conv kernels [...spatial, in, out]) → receptive field × in, receptive field × out.
 */
export function computeFans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  const receptiveField = shape.slice(0, -2).reduce((n, d) => n * d, 1);
  return {
    fanIn: shape[shape.length - 2] * receptiveField,
    fanOut: shape[shape.length - 1] * receptiveField,
  };
}

/** All zeros (Keras `Zeros`). */
export const zeros: Initializer = withDescription(
  (shape) => new Float32Array(sizeOf(shape)),
  'Zeros',
);

/** All ones (Keras `Ones`). */
export const ones: Initializer = withDescription(
  (shape) => new Float32Array(sizeOf(shape)).fill(1),
  'Ones',
);

/** Every element equal to `value` (Keras `Constant`, default 0). */
export function constant(value = 0): Initializer {
  if (!Number.isFinite(value))
    throw new Error(`constant initializer: value ${value} is not finite`);
  return withDescription(
    (shape) => new Float32Array(sizeOf(shape)).fill(value),
    `Constant(value=${value})`,
  );
}

function checkStddev(kind: string, stddev: number): void {
  if (!(stddev >= 0) || !Number.isFinite(stddev)) {
    throw new Error(`${kind} initializer: stddev must be a finite number >= 0, got ${stddev}`);
  }
}

/** Normal(mean, stddev) (Keras `RandomNormal`; defaults mean 0, stddev 0.05). */
export function randomNormal(opts: { mean?: number; stddev?: number } = {}): Initializer {
  const mean = opts.mean ?? 0;
  const stddev = opts.stddev ?? 0.05;
  checkStddev('randomNormal', stddev);
  return withDescription(
    (shape, rng) => fill(shape, () => mean + stddev * rng.normal()),
    `RandomNormal(mean=${mean}, stddev=${stddev})`,
  );
}

/** Uniform on [minval, maxval) (Keras `RandomUniform`; defaults -0.05, 0.05). */
export function randomUniform(opts: { minval?: number; maxval?: number } = {}): Initializer {
  const minval = opts.minval ?? -0.05;
  const maxval = opts.maxval ?? 0.05;
  if (!(maxval >= minval)) {
    throw new Error(`randomUniform initializer: maxval (${maxval}) must be >= minval (${minval})`);
  }
  return withDescription(
    (shape, rng) => fill(shape, () => rng.uniformRange(minval, maxval)),
    `RandomUniform(minval=${minval}, maxval=${maxval})`,
  );
}

/**
 * Normal(mean, stddev) with draws farther than 2 stddev from the mean resampled (Keras
 * `TruncatedNormal`; defaults mean 0, stddev 0.05). Note the result's stddev is about 0.88·stddev.
 */
export function truncatedNormal(opts: { mean?: number; stddev?: number } = {}): Initializer {
  const mean = opts.mean ?? 0;
  const stddev = opts.stddev ?? 0.05;
  checkStddev('truncatedNormal', stddev);
  return withDescription(
    (shape, rng) => fill(shape, () => truncatedDraw(rng, mean, stddev)),
    `TruncatedNormal(mean=${mean}, stddev=${stddev})`,
  );
}

export interface VarianceScalingOptions {
  /** Variance multiplier (default 1). */
  scale?: number;
  /** Which fan divides the scale (default 'fan_in'). */
  mode?: FanMode;
  /**
   * Default 'truncated_normal'. Keras also accepts the legacy alias 'normal' for
   * 'truncated_normal'.
   */
  distribution?: VarianceScalingDistribution | 'normal';
}

const FAN_MODES: readonly FanMode[] = ['fan_in', 'fan_out', 'fan_avg'];
const DISTRIBUTIONS: readonly string[] = ['truncated_normal', 'untruncated_normal', 'uniform'];

/**
 * Keras `VarianceScaling`: with n = fan_in, fan_out or (fan_in + fan_out) / 2 of the shape
 * ({@link computeFans}), draws
 * - truncated_normal: truncated normal with stddev sqrt(scale / n) / 0.87962566103423978,
 * - untruncated_normal: normal with stddev sqrt(scale / n),
 * - uniform: uniform on ±sqrt(3 · scale / n).
 */
export function varianceScaling(opts: VarianceScalingOptions = {}): Initializer {
  const scale = opts.scale ?? 1;
  const mode = opts.mode ?? 'fan_in';
  const distribution =
    opts.distribution === 'normal' ? 'truncated_normal' : (opts.distribution ?? 'truncated_normal');
  if (!(scale > 0)) throw new Error(`varianceScaling: scale must be > 0, got ${scale}`);
  if (!FAN_MODES.includes(mode)) {
    throw new Error(`varianceScaling: mode '${mode}' is not one of ${FAN_MODES.join(', ')}`);
  }
  if (!DISTRIBUTIONS.includes(distribution)) {
    throw new Error(
      `varianceScaling: distribution '${distribution}' is not one of ${DISTRIBUTIONS.join(', ')}`,
    );
  }
  const description = `VarianceScaling(scale=${scale}, mode=${mode}, distribution=${distribution})`;
  return withDescription((shape, rng) => {
    const { fanIn, fanOut } = computeFans(shape);
    const n = mode === 'fan_in' ? fanIn : mode === 'fan_out' ? fanOut : (fanIn + fanOut) / 2;
    const variance = scale / Math.max(1, n);
    if (distribution === 'truncated_normal') {
      const stddev = Math.sqrt(variance) / TRUNCATED_NORMAL_STDDEV_CORRECTION;
      return fill(shape, () => truncatedDraw(rng, 0, stddev));
    }
    if (distribution === 'untruncated_normal') {
      const stddev = Math.sqrt(variance);
      return fill(shape, () => stddev * rng.normal());
    }
    const limit = Math.sqrt(3 * variance);
    return fill(shape, () => rng.uniformRange(-limit, limit));
  }, description);
}

/** He normal: VarianceScaling(2, fan_in, truncated_normal). */
export const heNormal = (): Initializer =>
  varianceScaling({ scale: 2, mode: 'fan_in', distribution: 'truncated_normal' });
/** He uniform: VarianceScaling(2, fan_in, uniform). */
export const heUniform = (): Initializer =>
  varianceScaling({ scale: 2, mode: 'fan_in', distribution: 'uniform' });
/** Glorot (Xavier) uniform, the Keras default kernel initializer: VarianceScaling(1, fan_avg, uniform). */
export const glorotUniform = (): Initializer =>
  varianceScaling({ scale: 1, mode: 'fan_avg', distribution: 'uniform' });
/** Glorot normal: VarianceScaling(1, fan_avg, truncated_normal). */
export const glorotNormal = (): Initializer =>
  varianceScaling({ scale: 1, mode: 'fan_avg', distribution: 'truncated_normal' });
/** LeCun normal: VarianceScaling(1, fan_in, truncated_normal). */
export const lecunNormal = (): Initializer =>
  varianceScaling({ scale: 1, mode: 'fan_in', distribution: 'truncated_normal' });
/** LeCun uniform: VarianceScaling(1, fan_in, uniform). */
export const lecunUniform = (): Initializer =>
  varianceScaling({ scale: 1, mode: 'fan_in', distribution: 'uniform' });

/** A Keras serialised initializer: `{class_name: 'VarianceScaling', config: {scale: 2, ...}}`. */
export interface InitializerConfig {
  class_name: string;
  config?: Record<string, unknown>;
}

export type InitializerIdentifier = string | InitializerConfig | Initializer;

type Factory = (config: Record<string, unknown>) => Initializer;

function num(config: Record<string, unknown>, key: string, cls: string): number | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') {
    throw new Error(`initializer ${cls}: config.${key} must be a number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function str(config: Record<string, unknown>, key: string, cls: string): string | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    throw new Error(`initializer ${cls}: config.${key} must be a string, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Canonical Keras class names; lookup ignores case and underscores ('he_normal' = 'HeNormal'). */
const FACTORIES: Record<string, Factory> = {
  Zeros: () => zeros,
  Ones: () => ones,
  Constant: (c) => constant(num(c, 'value', 'Constant')),
  RandomNormal: (c) =>
    randomNormal({
      mean: num(c, 'mean', 'RandomNormal'),
      stddev: num(c, 'stddev', 'RandomNormal'),
    }),
  RandomUniform: (c) =>
    randomUniform({
      minval: num(c, 'minval', 'RandomUniform'),
      maxval: num(c, 'maxval', 'RandomUniform'),
    }),
  TruncatedNormal: (c) =>
    truncatedNormal({
      mean: num(c, 'mean', 'TruncatedNormal'),
      stddev: num(c, 'stddev', 'TruncatedNormal'),
    }),
  VarianceScaling: (c) =>
    varianceScaling({
      scale: num(c, 'scale', 'VarianceScaling'),
      mode: str(c, 'mode', 'VarianceScaling') as FanMode | undefined,
      distribution: str(c, 'distribution', 'VarianceScaling') as
        VarianceScalingDistribution | undefined,
    }),
  HeNormal: () => heNormal(),
  HeUniform: () => heUniform(),
  GlorotUniform: () => glorotUniform(),
  GlorotNormal: () => glorotNormal(),
  LecunNormal: () => lecunNormal(),
  LecunUniform: () => lecunUniform(),
};

function canonicalKey(name: string): string {
  return name.replace(/_/g, '').toLowerCase();
}

const BY_KEY = new Map(Object.entries(FACTORIES).map(([k, f]) => [canonicalKey(k), f]));

/** Names {@link getInitializer} accepts (Keras class names; snake_case forms work too). */
export const INITIALIZER_NAMES: readonly string[] = Object.keys(FACTORIES);

/**
 * Resolves a Keras/Model Garden initializer identifier: a name ('he_normal', 'HeNormal',
 * 'VarianceScaling' (Keras defaults), 'truncated_normal', 'zeros', ...), a serialised
 * `{class_name, config}` object, or an initializer function (returned as is).
 */
export function getInitializer(id: InitializerIdentifier): Initializer {
  if (typeof id === 'function') return id;
  const [name, config] =
    typeof id === 'string'
      ? [id, {}]
      : [id?.class_name, (id?.config ?? {}) as Record<string, unknown>];
  if (typeof name !== 'string') {
    throw new Error(
      `getInitializer: expected a name or {class_name, config}, got ${JSON.stringify(id)}`,
    );
  }
  const factory = BY_KEY.get(canonicalKey(name));
  if (!factory) {
    throw new Error(
      `unknown initializer '${name}'; valid names: ${INITIALIZER_NAMES.join(', ')} ` +
        `(case and underscores are ignored, e.g. 'he_normal')`,
    );
  }
  return factory(config);
}
