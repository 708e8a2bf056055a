/**
 * Model Garden's AdamWeightDecay (official/modeling/optimization/legacy_adamw.py), `type: adamw`:
 * Keras legacy Adam plus decoupled weight decay and its own global-norm clipping.
 *
 *   gradients: clip_by_global_norm(grads, gradient_clip_norm) when gradient_clip_norm > 0, then the
 *              Keras clipvalue / clipnorm / global_clipnorm of the base optimizer
 *   p ← p − lr·weight_decay_rate·p   (for weights chosen by the patterns below; uses the scheduled lr,
 *                                     not Adam's bias-corrected lr_t)
 *   p ← p − (Keras Adam delta)       (see ./adam.ts; computed from moments, not from p, so the two
 *                                     subtractions add up)
 *
 * Which weights decay (`_do_use_weight_decay`): none when weight_decay_rate is 0; otherwise a name
 * matching any `include_in_weight_decay` pattern decays; else a name matching any
 * `exclude_from_weight_decay` pattern does not; else it decays. Names are TF variable names, i.e.
 * the Keras path plus `:0` (see base.ts `tfVariableName`).
 *
 * A field given as one bare string (as Model Garden's imagenet_vit*_tpu.yaml do) is what Model
 * Garden makes of it: its config keeps the string and legacy_adamw.py `_do_use_weight_decay`
 * loops `for r in self._include_in_weight_decay`, i.e. over the string's characters, each one a
 * pattern for `re.search`, in order until one matches. So '.*(kernel|weight):0$' decays every
 * weight (its first pattern '.' matches any name), and a character that is no regular expression
 * ('(', '*') fails only when the loop reaches it, as `re.search` raises then.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adamWeightDecayConfig } from '../../core/config/optimization.js';
import { clipByGlobalNorm } from '../clipping.js';
import { checkAdamHyper, kerasAdamStep } from './adam.js';
import {
  checkClipping,
  compilePatterns,
  kerasClipGradients,
  matchesAny,
  resolveConfig,
  tfVariableName,
  zerosSlot,
  kerasEpsilon,
} from './base.js';
import {
  type AdamWeightDecayConfig,
  type Optimizer,
  type ParamUpdateInput,
  type ParamUpdateOutput,
  type ResolvedAdamWeightDecayConfig,
} from './types.js';

/**
 * A pattern field: a list is compiled up front (a bad pattern is reported at construction); a
 * bare string is its characters, compiled when the in-order search reaches them (module comment).
 */
class PatternSet {
  private readonly compiled: RegExp[];
  private readonly chars: string[] | null;

  constructor(
    value: string | string[] | null,
    private readonly field: string,
  ) {
    this.chars = typeof value === 'string' ? [...value] : null;
    this.compiled = typeof value === 'string' ? [] : compilePatterns(value, field);
  }

  matches(name: string): boolean {
    if (!this.chars) return matchesAny(this.compiled, name);
    for (const [i, c] of this.chars.entries()) {
      this.compiled[i] ??= compilePatterns(
        [c],
        `${this.field} (a string: its character ${i} is a pattern, as in Model Garden)`,
      )[0];
      if (this.compiled[i].test(name)) return true;
    }
    return false;
  }
}

export class AdamWeightDecay implements Optimizer {
  readonly name: string;
  readonly config: ResolvedAdamWeightDecayConfig;
  private readonly include: PatternSet;
  private readonly exclude: PatternSet;

  constructor(cfg: AdamWeightDecayConfig | null = null) {
    this.config = resolveConfig(cfg, adamWeightDecayConfig, 'optimizer.adamw');
    checkClipping(this.config, 'optimizer.adamw');
    checkAdamHyper(this.config, 'optimizer.adamw');
    this.include = new PatternSet(
      this.config.include_in_weight_decay,
      'optimizer.adamw.include_in_weight_decay',
    );
    this.exclude = new PatternSet(
      this.config.exclude_from_weight_decay,
      'optimizer.adamw.exclude_from_weight_decay',
    );
    this.config.epsilon = kerasEpsilon(this.config.epsilon);
    this.name = this.config.name;
  }

  /** Whether the weight at `path` gets decoupled weight decay. */
  usesWeightDecay(path: string): boolean {
    if (this.config.weight_decay_rate === 0) return false;
    const name = tfVariableName(path);
    if (this.include.matches(name)) return true;
    if (this.exclude.matches(name)) return false;
    return true;
  }

  slotNames(_path: string): string[] {
    return this.config.amsgrad ? ['m', 'v', 'vhat'] : ['m', 'v'];
  }

  initSlot(_slot: string, param: tf.Tensor): tf.Tensor {
    return zerosSlot(param);
  }

  update(input: ParamUpdateInput): ParamUpdateOutput {
    return tf.tidy(() => {
      let param = input.param;
      if (this.usesWeightDecay(input.path)) {
        param = tf.sub(param, tf.mul(tf.mul(input.lr, this.config.weight_decay_rate), param));
      }
      const { delta, slots } = kerasAdamStep(this.config, input, this.name);
      return { param: tf.sub(param, delta), slots };
    });
  }

  transformGradients(grads: tf.Tensor[]): tf.Tensor[] {
    return tf.tidy(() => {
      let out = grads;
      if (this.config.gradient_clip_norm > 0) {
        out = clipByGlobalNorm(out, this.config.gradient_clip_norm).grads;
      }
      return kerasClipGradients(this.config, out);
    });
  }
}
