/**
 * The optimizer contract and the optimizer config shapes.
 *
 * Update rules are pure tensor functions (no variable assignment), so the engine can record one
 * training step, optimizer included, into a single graph; {@link OptimizerState} in ./state.ts is
 * the small stateful driver for eager use.
 *
 * Config interfaces use Model Garden's field names exactly
 * (official/modeling/optimization/configs/optimizer_config.py and optimization_config.py). Every
 * field is optional; a missing or `null` field takes Model Garden's default, so both hand-written
 * partial configs and fully defaulted, schema-parsed configs fit.
 */
import type * as tf from '@tensorflow/tfjs-core';

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

// ---------------------------------------------------------------------------- config shapes

/** Keras gradient clipping options shared by every optimizer config (BaseOptimizerConfig). */
export interface BaseOptimizerConfig {
  name?: string;
  clipnorm?: number | null;
  clipvalue?: number | null;
  global_clipnorm?: number | null;
}

/** tf.keras.optimizers.legacy.SGD. */
export interface SgdConfig extends BaseOptimizerConfig {
  /** Keras legacy time-inverse decay: lr / (1 + decay * iterations). */
  decay?: number;
  nesterov?: boolean;
  momentum?: number;
}

/** tf.keras.optimizers.legacy.Adam. */
export interface AdamConfig extends BaseOptimizerConfig {
  beta_1?: number;
  beta_2?: number;
  epsilon?: number;
  amsgrad?: boolean;
}

/** Model Garden legacy_adamw.AdamWeightDecay. */
export interface AdamWeightDecayConfig extends AdamConfig {
  weight_decay_rate?: number;
  include_in_weight_decay?: string[] | null;
  exclude_from_weight_decay?: string[] | null;
  gradient_clip_norm?: number;
}

/** tf.keras.optimizers.legacy.RMSprop. */
export interface RmspropConfig extends BaseOptimizerConfig {
  rho?: number;
  momentum?: number;
  epsilon?: number;
  centered?: boolean;
}

/** Model Garden lamb.LAMB. */
export interface LambConfig extends BaseOptimizerConfig {
  beta_1?: number;
  beta_2?: number;
  epsilon?: number;
  weight_decay_rate?: number;
  exclude_from_weight_decay?: string[] | null;
  exclude_from_layer_adaptation?: string[] | null;
}

/** Model Garden lars.LARS. */
export interface LarsConfig extends BaseOptimizerConfig {
  momentum?: number;
  eeta?: number;
  weight_decay_rate?: number;
  nesterov?: boolean;
  classic_momentum?: boolean;
  exclude_from_weight_decay?: string[] | null;
  exclude_from_layer_adaptation?: string[] | null;
}

/** tf.keras.optimizers.legacy.Adagrad. */
export interface AdagradConfig extends BaseOptimizerConfig {
  initial_accumulator_value?: number;
  epsilon?: number;
}

/** Optimizer types {@link buildOptimizer} implements. */
export const OPTIMIZER_TYPES = [
  'sgd',
  'adam',
  'adamw',
  'rmsprop',
  'lamb',
  'lars',
  'adagrad',
] as const;
export type OptimizerType = (typeof OPTIMIZER_TYPES)[number];

/**
 * Model Garden's OptimizerConfig oneOf: `type` names the key whose sub-config is used; the other
 * keys are ignored (schema-parsed configs carry all of them, defaulted).
 */
export interface OptimizerOneOf {
  type?: string | null;
  sgd?: SgdConfig | null;
  adam?: AdamConfig | null;
  adamw?: AdamWeightDecayConfig | null;
  rmsprop?: RmspropConfig | null;
  lamb?: LambConfig | null;
  lars?: LarsConfig | null;
  adagrad?: AdagradConfig | null;
  [other: string]: unknown;
}

// ---------------------------------------------------------------------------- defaults

/** A config with every field present (Model Garden's defaults filled in). */
export type ResolvedSgdConfig = Required<SgdConfig>;
export type ResolvedAdamConfig = Required<AdamConfig>;
export type ResolvedAdamWeightDecayConfig = Required<AdamWeightDecayConfig>;
export type ResolvedRmspropConfig = Required<RmspropConfig>;
export type ResolvedLambConfig = Required<LambConfig>;
export type ResolvedLarsConfig = Required<LarsConfig>;
export type ResolvedAdagradConfig = Required<AdagradConfig>;

const NO_CLIPPING = { clipnorm: null, clipvalue: null, global_clipnorm: null };

/** Model Garden defaults, from official/modeling/optimization/configs/optimizer_config.py. */
export const SGD_DEFAULTS: ResolvedSgdConfig = {
  name: 'SGD',
  ...NO_CLIPPING,
  decay: 0.0,
  nesterov: false,
  momentum: 0.0,
};

export const ADAM_DEFAULTS: ResolvedAdamConfig = {
  name: 'Adam',
  ...NO_CLIPPING,
  beta_1: 0.9,
  beta_2: 0.999,
  epsilon: 1e-7,
  amsgrad: false,
};

export const ADAMW_DEFAULTS: ResolvedAdamWeightDecayConfig = {
  ...ADAM_DEFAULTS,
  name: 'AdamWeightDecay',
  weight_decay_rate: 0.0,
  include_in_weight_decay: null,
  exclude_from_weight_decay: null,
  gradient_clip_norm: 1.0,
};

export const RMSPROP_DEFAULTS: ResolvedRmspropConfig = {
  name: 'RMSprop',
  ...NO_CLIPPING,
  rho: 0.9,
  momentum: 0.0,
  epsilon: 1e-7,
  centered: false,
};

export const LAMB_DEFAULTS: ResolvedLambConfig = {
  name: 'LAMB',
  ...NO_CLIPPING,
  beta_1: 0.9,
  beta_2: 0.999,
  epsilon: 1e-6,
  weight_decay_rate: 0.0,
  exclude_from_weight_decay: null,
  exclude_from_layer_adaptation: null,
};

export const LARS_DEFAULTS: ResolvedLarsConfig = {
  name: 'LARS',
  ...NO_CLIPPING,
  momentum: 0.9,
  eeta: 0.001,
  weight_decay_rate: 0.0,
  nesterov: false,
  classic_momentum: true,
  exclude_from_weight_decay: null,
  exclude_from_layer_adaptation: null,
};

export const ADAGRAD_DEFAULTS: ResolvedAdagradConfig = {
  name: 'Adagrad',
  ...NO_CLIPPING,
  initial_accumulator_value: 0.1,
  epsilon: 1e-7,
};
