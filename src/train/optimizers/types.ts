/**
 * The optimizer contract and the optimizer config shapes.
 *
 * Update rules are pure tensor functions (no variable assignment), so the engine can record one
 * training step, optimizer included, into a single graph; {@link OptimizerState} in ./state.ts is
 * the small stateful driver for eager use.
 *
 * Config types are those of the zod schemas in src/core/config/optimization.ts: every field is
 * optional on input and takes Model Garden's default, so both hand-written partial configs and
 * fully defaulted, schema-parsed configs fit.
 */
import type { z } from 'zod';
import type {
  adagradConfig,
  adamConfig,
  adamWeightDecayConfig,
  lambConfig,
  larsConfig,
  rmspropConfig,
  sgdConfig,
} from '../../core/config/optimization.js';

// The optimizer contract is shared with the compiled step (src/core/step_parts.ts).
export type { Optimizer, ParamUpdateInput, ParamUpdateOutput } from '../../core/step_parts.js';

// ---------------------------------------------------------------------------- config shapes

/*
 * Optimizer configs are the zod schemas of src/core/config/optimization.ts (Model Garden's fields
 * and defaults, official/modeling/optimization/configs/optimizer_config.py). Optimizers accept the
 * schema's input type (any subset of the fields) and parse it, so defaults live in one place.
 */
export type SgdConfig = z.input<typeof sgdConfig>;
export type AdamConfig = z.input<typeof adamConfig>;
export type AdamWeightDecayConfig = z.input<typeof adamWeightDecayConfig>;
export type RmspropConfig = z.input<typeof rmspropConfig>;
export type LambConfig = z.input<typeof lambConfig>;
export type LarsConfig = z.input<typeof larsConfig>;
export type AdagradConfig = z.input<typeof adagradConfig>;

/** A config with every field present (Model Garden's defaults filled in). */
export type ResolvedSgdConfig = z.output<typeof sgdConfig>;
export type ResolvedAdamConfig = z.output<typeof adamConfig>;
export type ResolvedAdamWeightDecayConfig = z.output<typeof adamWeightDecayConfig>;
export type ResolvedRmspropConfig = z.output<typeof rmspropConfig>;
export type ResolvedLambConfig = z.output<typeof lambConfig>;
export type ResolvedLarsConfig = z.output<typeof larsConfig>;
export type ResolvedAdagradConfig = z.output<typeof adagradConfig>;

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
