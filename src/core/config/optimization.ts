/**
 * Optimizer, learning-rate, warmup and EMA configs, field for field as Model Garden's
 * official/modeling/optimization/configs/{optimization_config,optimizer_config,
 * learning_rate_config}.py. Names and defaults match MG so MG YAML files parse unchanged; the
 * optimizer and schedule implementations read exactly these fields.
 *
 * Branches without an implementation here (the experimental Keras optimizers, SLIDE, Adafactor,
 * step_cosine_with_offset) parse, so MG files load, but selecting one is rejected as "not
 * supported yet" ({@link notSupported}).
 */
import { z } from 'zod';
import {
  bool,
  config,
  crossCheck,
  extendConfig,
  float,
  int,
  notSupported,
  oneOf,
  optBool,
  optFloat,
  optInt,
  optList,
  optStr,
  optSub,
  str,
  sub,
  type CrossCheckProblem,
} from './schema.js';

// ---------------------------------------------------------------------------------------------
// Optimizers (optimizer_config.py)
// ---------------------------------------------------------------------------------------------

/** BaseOptimizerConfig: gradient clipping shared by all optimizers (null = no clipping). */
export const baseOptimizerConfig = config({
  clipnorm: optFloat(),
  clipvalue: optFloat(),
  global_clipnorm: optFloat(),
});

/** SGDConfig (tf.keras.optimizers.SGD arguments). */
export const sgdConfig = extendConfig(baseOptimizerConfig, {
  name: str('SGD'),
  decay: float(0.0),
  nesterov: bool(false),
  momentum: float(0.0),
});

/** SGDExperimentalConfig. */
export const sgdExperimentalConfig = extendConfig(baseOptimizerConfig, {
  name: str('SGD'),
  nesterov: bool(false),
  momentum: float(0.0),
  jit_compile: bool(false),
});

/** RMSPropConfig (tf.keras.optimizers.RMSprop arguments). */
export const rmspropConfig = extendConfig(baseOptimizerConfig, {
  name: str('RMSprop'),
  rho: float(0.9),
  momentum: float(0.0),
  epsilon: float(1e-7),
  centered: bool(false),
});

/** AdagradConfig. */
export const adagradConfig = extendConfig(baseOptimizerConfig, {
  name: str('Adagrad'),
  initial_accumulator_value: float(0.1),
  epsilon: float(1e-7),
});

/** AdamConfig (tf.keras.optimizers.Adam arguments). */
export const adamConfig = extendConfig(baseOptimizerConfig, {
  name: str('Adam'),
  beta_1: float(0.9),
  beta_2: float(0.999),
  epsilon: float(1e-7),
  amsgrad: bool(false),
});

/** AdamExperimentalConfig. */
export const adamExperimentalConfig = extendConfig(baseOptimizerConfig, {
  name: str('Adam'),
  beta_1: float(0.9),
  beta_2: float(0.999),
  epsilon: float(1e-7),
  amsgrad: bool(false),
  jit_compile: bool(false),
});

/**
 * AdamWeightDecay's pattern fields: a list of variable-name patterns, or one bare string kept as
 * written. Model Garden declares them `Optional[List[str]]`, but its config machinery stores a
 * string unchanged (hyperparams/base_config.py `Config._set`: neither a dict nor a list, so
 * copied as is) and its ViT/DeiT YAMLs (`imagenet_vit*_tpu.yaml`) give one; what the optimizer
 * makes of a string is in src/train/optimizers/adamw.ts.
 */
function patternList() {
  return z
    .union([z.string(), z.array(z.string())])
    .nullable()
    .default(null);
}

/** AdamWeightDecayConfig (MG's `adamw`). */
export const adamWeightDecayConfig = extendConfig(baseOptimizerConfig, {
  name: str('AdamWeightDecay'),
  beta_1: float(0.9),
  beta_2: float(0.999),
  epsilon: float(1e-7),
  amsgrad: bool(false),
  weight_decay_rate: float(0.0),
  include_in_weight_decay: patternList(),
  exclude_from_weight_decay: patternList(),
  gradient_clip_norm: float(1.0),
});

/**
 * AdamWeightDecayExperimentalConfig. Note MG redeclares `global_clipnorm` here with default 1.0
 * (the base class's is null).
 */
export const adamWeightDecayExperimentalConfig = extendConfig(baseOptimizerConfig, {
  name: str('AdamWeightDecayExperimental'),
  beta_1: float(0.9),
  beta_2: float(0.999),
  epsilon: float(1e-7),
  amsgrad: bool(false),
  weight_decay: float(0.0),
  global_clipnorm: float(1.0),
  jit_compile: bool(false),
});

/** LAMBConfig (tensorflow_addons LAMB arguments). Exclusion lists are regex patterns. */
export const lambConfig = extendConfig(baseOptimizerConfig, {
  name: str('LAMB'),
  beta_1: float(0.9),
  beta_2: float(0.999),
  epsilon: float(1e-6),
  weight_decay_rate: float(0.0),
  exclude_from_weight_decay: optList(z.string()),
  exclude_from_layer_adaptation: optList(z.string()),
});

/** LARSConfig: layer-wise adaptive rate scaling. */
export const larsConfig = extendConfig(baseOptimizerConfig, {
  name: str('LARS'),
  momentum: float(0.9),
  eeta: float(0.001),
  weight_decay_rate: float(0.0),
  nesterov: bool(false),
  classic_momentum: bool(true),
  exclude_from_weight_decay: optList(z.string()),
  exclude_from_layer_adaptation: optList(z.string()),
});

/** SLIDEConfig. */
export const slideConfig = extendConfig(baseOptimizerConfig, {
  name: str('SLIDE'),
  beta_1: float(0.9),
  beta_2: float(0.999),
  epsilon: float(1e-6),
  weight_decay_rate: float(0.0),
  weight_decay_type: str('inner'),
  exclude_from_weight_decay: optList(z.string()),
  exclude_from_layer_adaptation: optList(z.string()),
  include_in_sparse_layer_adaptation: optList(z.string()),
  sparse_layer_learning_rate: float(0.1),
  do_gradient_rescaling: bool(true),
  norm_type: str('layer'),
  ratio_clip_norm: float(1e5),
});

/** AdafactorConfig. */
export const adafactorConfig = extendConfig(baseOptimizerConfig, {
  name: str('Adafactor'),
  factored: bool(true),
  multiply_by_parameter_scale: bool(true),
  beta1: optFloat(),
  decay_rate: float(0.8),
  step_offset: int(0),
  clipping_threshold: float(1.0),
  min_dim_size_to_factor: int(128),
  epsilon1: float(1e-30),
  epsilon2: float(1e-3),
  weight_decay: optFloat(),
  include_in_weight_decay: optStr(),
});

/** EMAConfig: exponential moving average of the weights (MG's ExponentialMovingAverage). */
export const emaConfig = extendConfig(baseOptimizerConfig, {
  // MG's EMAConfig inherits the clipping fields, but its moving average does not clip.
  clipnorm: notSupported(optFloat()),
  clipvalue: notSupported(optFloat()),
  global_clipnorm: notSupported(optFloat()),
  name: str('ExponentialMovingAverage'),
  trainable_weights_only: bool(true),
  average_decay: float(0.99),
  start_step: int(0),
  dynamic_decay: bool(true),
});

/** OptimizerConfig oneOf; `type` null by default (MG: `type: Optional[str] = None`). */
export const optimizerConfig = oneOf({
  sgd: sgdConfig,
  sgd_experimental: notSupported(sgdExperimentalConfig),
  adam: adamConfig,
  adam_experimental: notSupported(adamExperimentalConfig),
  adamw: adamWeightDecayConfig,
  adamw_experimental: notSupported(adamWeightDecayExperimentalConfig),
  lamb: lambConfig,
  rmsprop: rmspropConfig,
  lars: larsConfig,
  adagrad: adagradConfig,
  slide: notSupported(slideConfig),
  adafactor: notSupported(adafactorConfig),
});

// ---------------------------------------------------------------------------------------------
// Learning-rate schedules (learning_rate_config.py)
// ---------------------------------------------------------------------------------------------

/** ConstantLrConfig. */
export const constantLrConfig = config({
  name: str('Constant'),
  learning_rate: float(0.1),
});

/**
 * Problems of a piecewise schedule: `boundaries` strictly increasing and, where `values`
 * follows one value per interval, `values` one longer than `boundaries`.
 */
function piecewiseProblems(
  cfg: { boundaries: number[] | null; values: number[] | null },
  valuesPerInterval: boolean,
): CrossCheckProblem[] {
  const problems: CrossCheckProblem[] = [];
  const { boundaries, values } = cfg;
  if (boundaries) {
    for (let i = 1; i < boundaries.length; i++) {
      if (!(boundaries[i] > boundaries[i - 1])) {
        problems.push({
          path: ['boundaries'],
          message: `boundaries must be strictly increasing, got [${boundaries.join(', ')}]`,
        });
        break;
      }
    }
  }
  if (valuesPerInterval && boundaries && values && values.length !== boundaries.length + 1) {
    problems.push({
      path: ['values'],
      message:
        `values needs one entry more than boundaries (one per interval): ` +
        `${boundaries.length} boundaries but ${values.length} values`,
    });
  }
  return problems;
}

/** StepwiseLrConfig: piecewise constant (Keras PiecewiseConstantDecay). */
export const stepwiseLrConfig = crossCheck(
  config({
    name: str('PiecewiseConstantDecay'),
    boundaries: optList(z.int()),
    values: optList(z.number()),
    offset: int(0),
  }),
  (cfg) => piecewiseProblems(cfg, true),
);

/** ExponentialLrConfig. */
export const exponentialLrConfig = config({
  name: str('ExponentialDecay'),
  initial_learning_rate: optFloat(),
  decay_steps: optInt(),
  decay_rate: optFloat(),
  staircase: optBool(),
  offset: int(0),
});

/** PolynomialLrConfig. */
export const polynomialLrConfig = config({
  name: str('PolynomialDecay'),
  initial_learning_rate: optFloat(),
  decay_steps: optInt(),
  end_learning_rate: float(0.0001),
  power: float(1.0),
  cycle: bool(false),
  offset: int(0),
});

/** CosineLrConfig (Keras CosineDecay). */
export const cosineLrConfig = config({
  name: str('CosineDecay'),
  initial_learning_rate: optFloat(),
  decay_steps: optInt(),
  alpha: float(0.0),
  offset: int(0),
});

/** DirectPowerLrConfig: lr * step^power. */
export const directPowerLrConfig = config({
  name: str('DirectPowerDecay'),
  initial_learning_rate: optFloat(),
  power: float(-0.5),
});

/** PowerAndLinearDecayLrConfig. */
export const powerAndLinearDecayLrConfig = config({
  name: str('PowerAndLinearDecay'),
  initial_learning_rate: optFloat(),
  total_decay_steps: optInt(),
  power: float(-0.5),
  linear_decay_fraction: float(0.1),
  offset: int(0),
});

/** PowerDecayWithOffsetLrConfig. */
export const powerDecayWithOffsetLrConfig = config({
  name: str('PowerDecayWithOffset'),
  initial_learning_rate: optFloat(),
  power: float(-0.5),
  offset: int(0),
  pre_offset_learning_rate: float(1.0e6),
});

/**
 * StepCosineLrConfig (StepCosineDecayWithOffset): cosine from values[i] towards values[i+1]
 * within each interval, so `values` has one entry per boundary; only the ordering is checked.
 */
export const stepCosineLrConfig = crossCheck(
  config({
    name: str('StepCosineDecayWithOffset'),
    boundaries: optList(z.int()),
    values: optList(z.number()),
    offset: int(0),
  }),
  (cfg) => piecewiseProblems(cfg, false),
);

/** LrConfig oneOf; `type` null by default. */
export const lrConfig = oneOf({
  constant: constantLrConfig,
  stepwise: stepwiseLrConfig,
  exponential: exponentialLrConfig,
  polynomial: polynomialLrConfig,
  cosine: cosineLrConfig,
  power: directPowerLrConfig,
  power_linear: powerAndLinearDecayLrConfig,
  power_with_offset: powerDecayWithOffsetLrConfig,
  step_cosine_with_offset: notSupported(stepCosineLrConfig),
});

// ---------------------------------------------------------------------------------------------
// Warmup (learning_rate_config.py)
// ---------------------------------------------------------------------------------------------

/** LinearWarmupConfig: from warmup_learning_rate up to the schedule's rate over warmup_steps. */
export const linearWarmupConfig = config({
  name: str('linear'),
  warmup_learning_rate: float(0),
  warmup_steps: optInt(),
});

/** PolynomialWarmupConfig. */
export const polynomialWarmupConfig = config({
  name: str('polynomial'),
  power: float(1),
  warmup_steps: optInt(),
});

/** WarmupConfig oneOf; `type` null by default. */
export const warmupConfig = oneOf({
  linear: linearWarmupConfig,
  polynomial: polynomialWarmupConfig,
});

// ---------------------------------------------------------------------------------------------
// OptimizationConfig (optimization_config.py)
// ---------------------------------------------------------------------------------------------

/** OptimizationConfig: optimizer, optional EMA, learning-rate schedule and warmup. */
export const optimizationConfig = config({
  optimizer: sub(optimizerConfig),
  ema: optSub(emaConfig),
  learning_rate: sub(lrConfig),
  warmup: sub(warmupConfig),
});

export type BaseOptimizerConfig = z.infer<typeof baseOptimizerConfig>;
export type SGDConfig = z.infer<typeof sgdConfig>;
export type SGDExperimentalConfig = z.infer<typeof sgdExperimentalConfig>;
export type RMSPropConfig = z.infer<typeof rmspropConfig>;
export type AdagradConfig = z.infer<typeof adagradConfig>;
export type AdamConfig = z.infer<typeof adamConfig>;
export type AdamExperimentalConfig = z.infer<typeof adamExperimentalConfig>;
export type AdamWeightDecayConfig = z.infer<typeof adamWeightDecayConfig>;
export type AdamWeightDecayExperimentalConfig = z.infer<typeof adamWeightDecayExperimentalConfig>;
export type LAMBConfig = z.infer<typeof lambConfig>;
export type LARSConfig = z.infer<typeof larsConfig>;
export type SLIDEConfig = z.infer<typeof slideConfig>;
export type AdafactorConfig = z.infer<typeof adafactorConfig>;
export type EMAConfig = z.infer<typeof emaConfig>;
export type OptimizerConfig = z.infer<typeof optimizerConfig>;
export type ConstantLrConfig = z.infer<typeof constantLrConfig>;
export type StepwiseLrConfig = z.infer<typeof stepwiseLrConfig>;
export type ExponentialLrConfig = z.infer<typeof exponentialLrConfig>;
export type PolynomialLrConfig = z.infer<typeof polynomialLrConfig>;
export type CosineLrConfig = z.infer<typeof cosineLrConfig>;
export type DirectPowerLrConfig = z.infer<typeof directPowerLrConfig>;
export type PowerAndLinearDecayLrConfig = z.infer<typeof powerAndLinearDecayLrConfig>;
export type PowerDecayWithOffsetLrConfig = z.infer<typeof powerDecayWithOffsetLrConfig>;
export type StepCosineLrConfig = z.infer<typeof stepCosineLrConfig>;
export type LrConfig = z.infer<typeof lrConfig>;
export type LinearWarmupConfig = z.infer<typeof linearWarmupConfig>;
export type PolynomialWarmupConfig = z.infer<typeof polynomialWarmupConfig>;
export type WarmupConfig = z.infer<typeof warmupConfig>;
export type OptimizationConfig = z.infer<typeof optimizationConfig>;
