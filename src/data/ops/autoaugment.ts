/**
 * AutoAugment (policy v0) and RandAugment as Model Garden's official/vision/ops/augment.py:
 * the operation set, the magnitude -> argument mappings (`level_to_arg`, levels 0..10), the
 * sub-policy application and RandAugment's layer sampling.
 *
 * Magnitude mappings (level L, _MAX_LEVEL = 10):
 *   Rotate       L/10 * 30 degrees, negated with probability 1/2
 *   ShearX/Y     L/10 * 0.3, negated with probability 1/2
 *   TranslateX/Y L/10 * translateConst pixels, negated with probability 1/2
 *   Color, Contrast, Brightness, Sharpness   factor L/10 * 1.8 + 0.1
 *   Posterize    int(L/10 * 4) bits;  Solarize  threshold int(L/10 * 256)
 *   SolarizeAdd  addition int(L/10 * 110) (threshold 128);  Cutout  pad int(L/10 * cutoutConst)
 *   AutoContrast, Equalize, Invert           no argument
 * Geometric ops and Cutout fill with grey 128 (`replace_value = [128] * 3`); see
 * ./geometric_ops.ts for the reflect fill Model Garden's transform actually uses.
 *
 * Random draws (our Rng stands in for TF's per-op seeds, so only the selected op draws):
 *   AutoAugment: the sub-policy index, then per op its apply coin (`u + prob >= 1`, i.e.
 *   `floor(u + prob)` as Model Garden), then, when applied, its argument's sign coin and the op's
 *   own draws (Cutout's centre).
 *   RandAugment, per layer: the op index in [0, ops + 1) (the extra index is "no op", as Model
 *   Garden's switch default), [a N(0, 1) level offset when magnitudeStd > 0], the sign coin, the
 *   op's own draws, [the probToApply coin].
 */
import type { Rng } from '../../core/random.js';
import {
  autoContrast,
  brightness,
  color,
  contrast,
  equalize,
  invert,
  posterize,
  sharpness,
  solarize,
  solarizeAdd,
} from './color_ops.js';
import { cutout } from './erase.js';
import { rotate, shearX, shearY, translateX, translateY, type FillMode } from './geometric_ops.js';
import { checkImage, toUint8, type Image } from './image.js';

/** The maximum level of Model Garden's policies (`_MAX_LEVEL`). */
export const MAX_LEVEL = 10;

/** The operations of AutoAugment v0 and RandAugment. */
export const AUGMENT_OPS = [
  'AutoContrast',
  'Equalize',
  'Invert',
  'Rotate',
  'Posterize',
  'Solarize',
  'Color',
  'Contrast',
  'Brightness',
  'Sharpness',
  'ShearX',
  'ShearY',
  'TranslateX',
  'TranslateY',
  'Cutout',
  'SolarizeAdd',
] as const;

export type AugmentOpName = (typeof AUGMENT_OPS)[number];

/** One (operation, probability, level) step of a sub-policy. */
export type PolicyStep = readonly [AugmentOpName, number, number];

/** AutoAugment policy v0 (AutoAugment.policy_v0): 25 sub-policies of two steps. */
export const AUTOAUGMENT_POLICY_V0: readonly (readonly PolicyStep[])[] = [
  [
    ['Equalize', 0.8, 1],
    ['ShearY', 0.8, 4],
  ],
  [
    ['Color', 0.4, 9],
    ['Equalize', 0.6, 3],
  ],
  [
    ['Color', 0.4, 1],
    ['Rotate', 0.6, 8],
  ],
  [
    ['Solarize', 0.8, 3],
    ['Equalize', 0.4, 7],
  ],
  [
    ['Solarize', 0.4, 2],
    ['Solarize', 0.6, 2],
  ],
  [
    ['Color', 0.2, 0],
    ['Equalize', 0.8, 8],
  ],
  [
    ['Equalize', 0.4, 8],
    ['SolarizeAdd', 0.8, 3],
  ],
  [
    ['ShearX', 0.2, 9],
    ['Rotate', 0.6, 8],
  ],
  [
    ['Color', 0.6, 1],
    ['Equalize', 1.0, 2],
  ],
  [
    ['Invert', 0.4, 9],
    ['Rotate', 0.6, 0],
  ],
  [
    ['Equalize', 1.0, 9],
    ['ShearY', 0.6, 3],
  ],
  [
    ['Color', 0.4, 7],
    ['Equalize', 0.6, 0],
  ],
  [
    ['Posterize', 0.4, 6],
    ['AutoContrast', 0.4, 7],
  ],
  [
    ['Solarize', 0.6, 8],
    ['Color', 0.6, 9],
  ],
  [
    ['Solarize', 0.2, 4],
    ['Rotate', 0.8, 9],
  ],
  [
    ['Rotate', 1.0, 7],
    ['TranslateY', 0.8, 9],
  ],
  [
    ['ShearX', 0.0, 0],
    ['Solarize', 0.8, 4],
  ],
  [
    ['ShearY', 0.8, 0],
    ['Color', 0.6, 4],
  ],
  [
    ['Color', 1.0, 0],
    ['Rotate', 0.6, 2],
  ],
  [
    ['Equalize', 0.8, 4],
    ['Equalize', 0.0, 8],
  ],
  [
    ['Equalize', 1.0, 4],
    ['AutoContrast', 0.6, 2],
  ],
  [
    ['ShearY', 0.4, 7],
    ['SolarizeAdd', 0.6, 7],
  ],
  [
    ['Posterize', 0.8, 2],
    ['Solarize', 0.6, 10],
  ],
  [
    ['Solarize', 0.6, 8],
    ['Equalize', 0.6, 1],
  ],
  [
    ['Color', 0.8, 6],
    ['Rotate', 0.4, 5],
  ],
];

export interface OpConstants {
  /** Cutout's multiplier (AutoAugment 100, RandAugment 40). */
  cutoutConst: number;
  /** Translation's multiplier in pixels (AutoAugment 250, RandAugment 100). */
  translateConst: number;
}

/** `u >= 0.5` keeps the sign (Model Garden's `floor(u + 0.5)` coin). */
function randomSign(rng: Rng, v: number): number {
  return Math.floor(rng.uniform() + 0.5) >= 1 ? v : -v;
}

/**
 * The argument of operation `name` at `level` (Model Garden's level_to_arg), drawing the sign
 * coin for the signed ones. Returns null for operations without an argument.
 */
export function levelToArg(
  name: AugmentOpName,
  level: number,
  rng: Rng,
  k: OpConstants,
): number | null {
  const frac = level / MAX_LEVEL;
  switch (name) {
    case 'AutoContrast':
    case 'Equalize':
    case 'Invert':
      return null;
    case 'Rotate':
      return randomSign(rng, frac * 30);
    case 'ShearX':
    case 'ShearY':
      return randomSign(rng, frac * 0.3);
    case 'TranslateX':
    case 'TranslateY':
      return randomSign(rng, frac * k.translateConst);
    case 'Color':
    case 'Contrast':
    case 'Brightness':
    case 'Sharpness':
      return frac * 1.8 + 0.1;
    case 'Posterize':
      return Math.trunc(frac * 4);
    case 'Solarize':
      return Math.trunc(frac * 256);
    case 'SolarizeAdd':
      return Math.trunc(frac * 110);
    case 'Cutout':
      return Math.trunc(frac * k.cutoutConst);
  }
}

const GREY = [128, 128, 128];

/** Applies operation `name` with argument `arg` (from {@link levelToArg}) to a uint8 image. */
export function applyAugmentOp(
  name: AugmentOpName,
  image: Image<Uint8Array>,
  arg: number | null,
  rng: Rng,
  fillMode: FillMode = 'reflect',
): Image<Uint8Array> {
  const a = arg ?? 0;
  const geo = { fillMode, replace: GREY.slice(0, image.channels) };
  switch (name) {
    case 'AutoContrast':
      return autoContrast(image);
    case 'Equalize':
      return equalize(image);
    case 'Invert':
      return invert(image);
    case 'Rotate':
      return rotate(image, a, geo);
    case 'Posterize':
      return posterize(image, a);
    case 'Solarize':
      return solarize(image, a);
    case 'SolarizeAdd':
      return solarizeAdd(image, a, 128);
    case 'Color':
      return color(image, a);
    case 'Contrast':
      return contrast(image, a);
    case 'Brightness':
      return brightness(image, a);
    case 'Sharpness':
      return sharpness(image, a);
    case 'ShearX':
      return shearX(image, a, geo);
    case 'ShearY':
      return shearY(image, a, geo);
    case 'TranslateX':
      return translateX(image, a, geo);
    case 'TranslateY':
      return translateY(image, a, geo);
    case 'Cutout':
      return cutout(image, a, rng, [128]);
  }
}

/** A uint8 image for the augmenters, and a function casting the result back to the input type. */
function asUint8(image: Image): {
  u8: Image<Uint8Array>;
  restore: (r: Image<Uint8Array>) => Image;
} {
  checkImage('augment', image);
  if (image.channels !== 3) {
    throw new RangeError(
      `augment: AutoAugment / RandAugment need RGB images, got ${image.channels} channels`,
    );
  }
  const float = image.data instanceof Float32Array;
  return {
    u8: toUint8(image),
    restore: (r) => (float ? { ...r, data: Float32Array.from(r.data) } : r),
  };
}

export interface AutoAugmentOptions extends Partial<OpConstants> {
  /** Sub-policies; default {@link AUTOAUGMENT_POLICY_V0}. */
  policy?: readonly (readonly PolicyStep[])[];
  /** Fill of the geometric ops; default 'reflect' (see ./geometric_ops.ts). */
  fillMode?: FillMode;
}

function checkStep(step: PolicyStep, where: string): void {
  const [name, prob, level] = step;
  if (!(AUGMENT_OPS as readonly string[]).includes(name)) {
    throw new RangeError(
      `${where}: unknown operation '${name}' (one of ${AUGMENT_OPS.join(', ')})`,
    );
  }
  if (!(prob >= 0 && prob <= 1))
    throw new RangeError(`${where}: ${name} probability ${prob} is outside [0, 1]`);
  if (!(level >= 0 && level <= MAX_LEVEL)) {
    throw new RangeError(`${where}: ${name} level ${level} is outside [0, ${MAX_LEVEL}]`);
  }
}

/**
 * AutoAugment.distort: one uniformly chosen sub-policy applied step by step, each step with its
 * probability. Float images are clipped and truncated to uint8 first and returned as float32.
 * Defaults: policy v0, cutoutConst 100, translateConst 250.
 */
export function autoAugment(image: Image, rng: Rng, opts: AutoAugmentOptions = {}): Image {
  const policy = opts.policy ?? AUTOAUGMENT_POLICY_V0;
  if (policy.length === 0) throw new RangeError('autoAugment: the policy has no sub-policies');
  policy.forEach((sub, i) => sub.forEach((step) => checkStep(step, `autoAugment policy[${i}]`)));
  const k: OpConstants = {
    cutoutConst: opts.cutoutConst ?? 100,
    translateConst: opts.translateConst ?? 250,
  };
  const { u8, restore } = asUint8(image);
  let out = u8;
  for (const [name, prob, level] of policy[rng.int(policy.length)]) {
    if (rng.uniform() + prob >= 1) {
      out = applyAugmentOp(name, out, levelToArg(name, level, rng, k), rng, opts.fillMode);
    }
  }
  return restore(out);
}

export interface RandAugmentOptions extends Partial<OpConstants> {
  /** Operations applied in sequence (N). Default 2. */
  numLayers?: number;
  /** Shared magnitude (M), 0..10. Default 10. */
  magnitude?: number;
  /** When > 0, each op's level gets a N(0, 1) offset (clipped to 0..10), as Model Garden. */
  magnitudeStd?: number;
  /** Probability of keeping each layer's result. Default: always. */
  probToApply?: number;
  /** Operations left out of the candidate set. */
  excludeOps?: readonly AugmentOpName[];
  /** Fill of the geometric ops; default 'reflect' (see ./geometric_ops.ts). */
  fillMode?: FillMode;
}

/**
 * RandAugment.distort: `numLayers` times, pick one of the operations or none (uniform over
 * ops + 1 choices) and apply it at `magnitude`. Defaults: 2 layers, magnitude 10,
 * cutoutConst 40, translateConst 100.
 */
export function randAugment(image: Image, rng: Rng, opts: RandAugmentOptions = {}): Image {
  const numLayers = opts.numLayers ?? 2;
  const magnitude = opts.magnitude ?? 10;
  if (!Number.isInteger(numLayers) || numLayers < 0) {
    throw new RangeError(`randAugment: numLayers must be a non-negative integer, got ${numLayers}`);
  }
  if (!(magnitude >= 0 && magnitude <= MAX_LEVEL)) {
    throw new RangeError(`randAugment: magnitude must be in [0, ${MAX_LEVEL}], got ${magnitude}`);
  }
  for (const name of opts.excludeOps ?? []) {
    if (!(AUGMENT_OPS as readonly string[]).includes(name)) {
      throw new RangeError(`randAugment: excludeOps has unknown operation '${name}'`);
    }
  }
  const ops = AUGMENT_OPS.filter((op) => !(opts.excludeOps ?? []).includes(op));
  const k: OpConstants = {
    cutoutConst: opts.cutoutConst ?? 40,
    translateConst: opts.translateConst ?? 100,
  };
  const { u8, restore } = asUint8(image);
  let out = u8;
  for (let layer = 0; layer < numLayers; layer++) {
    const pick = rng.int(ops.length + 1);
    if (pick === ops.length) {
      if (opts.probToApply !== undefined) rng.uniform();
      continue;
    }
    const name = ops[pick];
    let level = magnitude;
    if ((opts.magnitudeStd ?? 0) > 0)
      level = Math.min(Math.max(level + rng.normal(), 0), MAX_LEVEL);
    const augmented = applyAugmentOp(
      name,
      out,
      levelToArg(name, level, rng, k),
      rng,
      opts.fillMode,
    );
    if (opts.probToApply === undefined || rng.uniform() < opts.probToApply) out = augmented;
  }
  return restore(out);
}
