/**
 * Helpers shared by the optimizers: config defaults and checks, weight-name patterns, and the
 * Keras gradient-clipping transform every optimizer config carries.
 */
import * as tf from '@tensorflow/tfjs-core';
import { clipByGlobalNorm, clipByNorm, clipByValue } from '../clipping.js';
import type { z } from 'zod';
import type { BaseOptimizerConfig } from '../../core/config/optimization.js';
import { ConfigError } from '../../core/config/errors.js';
import { validateConfig } from '../../core/config/resolve.js';

/**
 * Parses an optimizer sub-config with its schema: missing fields take Model Garden's defaults;
 * unknown fields and wrong types fail with a ConfigError naming the field.
 * @param where names the config in error messages, e.g. `optimizer.sgd`.
 */
export function resolveConfig<S extends z.ZodType>(
  cfg: object | null | undefined,
  schema: S,
  where: string,
): z.output<S> {
  try {
    return validateConfig(schema, cfg ?? {}, where);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Report full dotted paths (`optimizer.adam.beta_1`), as resolveConfig does for a whole config.
    const issues = err.issues.map((i) => ({ ...i, path: i.path ? `${where}.${i.path}` : where }));
    throw new ConfigError(where, issues);
  }
}

/** Throws unless `lo <= value <= hi`. */
export function checkRange(value: number, lo: number, hi: number, field: string): void {
  if (!(value >= lo && value <= hi)) {
    throw new Error(`${field} must be in [${lo}, ${hi}], got ${value}`);
  }
}

/**
 * Compiled weight-name patterns. Model Garden tests `re.search(pattern, name)` against TF variable
 * names; JS RegExp#test has the same "substring matches" meaning for the patterns configs use
 * (literals, `|`, `^`, `$`, character classes). Python-only syntax such as inline `(?i)` flags is
 * rejected with an error naming the field.
 */
export function compilePatterns(patterns: string[] | null, field: string): RegExp[] {
  return (patterns ?? []).map((p) => {
    try {
      return new RegExp(p);
    } catch (err) {
      throw new Error(`${field}: invalid regular expression '${p}' (${(err as Error).message})`, {
        cause: err,
      });
    }
  });
}

export function matchesAny(patterns: RegExp[], name: string): boolean {
  return patterns.some((r) => r.test(name));
}

/**
 * The TF variable name Model Garden's AdamWeightDecay and LARS match patterns against:
 * `var.name`, i.e. the Keras path plus the `:0` output suffix. (LAMB strips the suffix first and
 * matches the bare path.)
 */
export function tfVariableName(path: string): string {
  return `${path}:0`;
}

/**
 * Keras optimizer_v2 `_transform_gradients`: clipvalue, then clipnorm (per tensor), then
 * global_clipnorm (tf_keras/optimizers/legacy/optimizer_v2.py). Keras refuses clipnorm together
 * with global_clipnorm; so does {@link checkClipping}.
 */
export function kerasClipGradients(cfg: BaseOptimizerConfig, grads: tf.Tensor[]): tf.Tensor[] {
  const { clipvalue, clipnorm, global_clipnorm } = cfg;
  // Intermediates are freed by the tidy; inputs come back unchanged when nothing applies.
  return tf.tidy(() => {
    let out = grads;
    if (clipvalue !== null && clipvalue !== undefined) {
      out = out.map((g) => clipByValue(g, clipvalue));
    }
    if (clipnorm !== null && clipnorm !== undefined) {
      out = out.map((g) => clipByNorm(g, clipnorm));
    }
    if (global_clipnorm !== null && global_clipnorm !== undefined) {
      out = clipByGlobalNorm(out, global_clipnorm).grads;
    }
    return out;
  });
}

/** Rejects what Keras rejects: both clipnorm and global_clipnorm, or negative clip values. */
export function checkClipping(cfg: BaseOptimizerConfig, where: string): void {
  const set = (v: number | null | undefined) => v !== null && v !== undefined;
  if (set(cfg.clipnorm) && set(cfg.global_clipnorm)) {
    throw new Error(
      `${where}: cannot accept both clipnorm (${cfg.clipnorm}) and global_clipnorm ` +
        `(${cfg.global_clipnorm}); set one of them`,
    );
  }
  for (const key of ['clipnorm', 'clipvalue', 'global_clipnorm'] as const) {
    const v = cfg[key];
    if (set(v) && !((v as number) >= 0)) throw new Error(`${where}.${key} must be >= 0, got ${v}`);
  }
}

/** Zeros shaped and typed like `param`: the initial value of most slots. */
export function zerosSlot(param: tf.Tensor): tf.Tensor {
  return tf.zerosLike(param);
}

/** Throws when an update input lacks a slot the optimizer needs. */
export function requireSlot(
  slots: Record<string, tf.Tensor>,
  name: string,
  optimizer: string,
  path: string,
): tf.Tensor {
  const s = slots[name];
  if (!s) {
    throw new Error(
      `${optimizer}: missing slot '${name}' for weight '${path}' (got: ${Object.keys(slots).join(', ') || 'none'})`,
    );
  }
  return s;
}

/** Keras backend epsilon: legacy Adam, RMSprop and LAMB use it when `epsilon` is 0 (`epsilon or ...`). */
export const KERAS_EPSILON = 1e-7;

/** `epsilon or backend_config.epsilon()`, as the Keras legacy optimizers and MG's LAMB do. */
export function kerasEpsilon(epsilon: number): number {
  return epsilon || KERAS_EPSILON;
}
