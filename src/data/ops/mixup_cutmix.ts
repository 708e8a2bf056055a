/**
 * MixUp and CutMix on a batch with mixed, label-smoothed targets, as Model Garden's
 * augment.MixupAndCutmix (batch mode: each image is mixed with the image at the mirrored batch
 * position, `reverse(images, axis 0)`).
 *
 * One coin `u < prob` decides whether the batch is mixed at all (otherwise only label smoothing
 * applies); a second `u < switchProb` picks CutMix over MixUp. Each image i gets its own mixing
 * weight lam_i: MixUp blends `lam_i * x_i + (1 - lam_i) * x_{B-1-i}`; CutMix pastes a box of
 * `trunc(sqrt(1 - lam_i) * H)` rows by the same number of columns (Model Garden sizes both sides
 * from the height) centred at a uniform pixel, and recomputes lam_i = 1 - box area / image area
 * from the nominal (unclipped) box. Targets are
 * `lam_i * smooth(y_i) + (1 - lam_i) * smooth(y_{B-1-i})` with
 * `smooth = one_hot * (1 - ls) + ls / numClasses`.
 *
 * lam is drawn as Model Garden draws it, `g1 / (g1 + g2)` with `g ~ tf.random.gamma(shape, 1.,
 * beta=alpha)`: concentration 1 and rate alpha, i.e. exponential variables, so lam is uniform on
 * (0, 1) whatever alpha is. `lambdaSampling: 'beta'` draws the Beta(alpha, alpha) the papers
 * describe instead.
 */
import type { Rng } from '../../core/random.js';
import { rectangleWindow } from './erase.js';

const f32 = Math.fround;

export interface MixupCutmixOptions {
  /** MixUp's alpha; 0 disables MixUp. Default 0.8. */
  mixupAlpha?: number;
  /** CutMix's alpha; 0 disables CutMix. Default 1.0. */
  cutmixAlpha?: number;
  /** Probability of mixing the batch. Default 1.0. */
  prob?: number;
  /** Probability of CutMix (else MixUp) when both are enabled. Default 0.5. */
  switchProb?: number;
  /** Label smoothing. Default 0.1. */
  labelSmoothing?: number;
  /** Number of classes of the one-hot targets. Default 1001. */
  numClasses?: number;
  /** 'model_garden' (default, see the module comment) or 'beta'. */
  lambdaSampling?: 'model_garden' | 'beta';
}

export interface ImageBatch {
  /** Row-major [B, H, W, C] float32 images. */
  images: Float32Array;
  shape: [number, number, number, number];
  /** [B] integer class ids. */
  labels: ArrayLike<number>;
}

export interface MixedBatch {
  images: Float32Array;
  shape: [number, number, number, number];
  /** Row-major [B, numClasses] mixed soft targets. */
  labels: Float32Array;
  /** Which augmentation was applied. */
  mode: 'mixup' | 'cutmix' | 'none';
  /** Per-image weight of the image's own label (1 when mode is 'none'). */
  lambdas: Float32Array;
}

/** Gamma(shape k, rate 1) by Marsaglia and Tsang (k < 1 via the u^(1/k) boost). */
export function sampleGamma(rng: Rng, k: number): number {
  if (!(k > 0)) throw new RangeError(`sampleGamma: shape must be positive, got ${k}`);
  if (k < 1) {
    let u = rng.uniform();
    while (u === 0) u = rng.uniform();
    return sampleGamma(rng, k + 1) * Math.pow(u, 1 / k);
  }
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.uniform();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) as Gamma(a) / (Gamma(a) + Gamma(b)). */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x / (x + y);
}

/** `n` mixing weights for `alpha`, drawn as the options say (all first gammas, then seconds). */
function sampleLambdas(
  rng: Rng,
  alpha: number,
  n: number,
  how: 'model_garden' | 'beta',
): Float32Array {
  const first = new Float64Array(n);
  const second = new Float64Array(n);
  for (const arr of [first, second]) {
    for (let i = 0; i < n; i++) {
      // Gamma(concentration 1, rate alpha) = Exp(1) / alpha; Beta needs Gamma(alpha, 1).
      arr[i] = how === 'beta' ? sampleGamma(rng, alpha) : sampleGamma(rng, 1) / alpha;
    }
  }
  return Float32Array.from(first, (g, i) => g / (g + second[i]));
}

/** Label-smoothed one-hot rows (MixupAndCutmix._smooth_labels). */
export function smoothOneHot(
  labels: ArrayLike<number>,
  numClasses: number,
  labelSmoothing: number,
): Float32Array {
  const off = f32(labelSmoothing / numClasses);
  const on = f32(1 - labelSmoothing + off);
  const out = new Float32Array(labels.length * numClasses).fill(off);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
      throw new RangeError(
        `mixupAndCutmix: labels[${i}] = ${l} is not a class id in 0..${numClasses - 1}`,
      );
    }
    out[i * numClasses + l] = on;
  }
  return out;
}

/** Applies Model Garden's MixupAndCutmix to a batch; see the module comment. */
export function mixupAndCutmix(
  batch: ImageBatch,
  rng: Rng,
  opts: MixupCutmixOptions = {},
): MixedBatch {
  const [b, h, w, c] = batch.shape;
  if (![b, h, w, c].every((v) => Number.isInteger(v) && v > 0)) {
    throw new RangeError(
      `mixupAndCutmix: shape must be positive [B, H, W, C], got [${batch.shape.join(', ')}]`,
    );
  }
  if (batch.images.length !== b * h * w * c) {
    throw new RangeError(
      `mixupAndCutmix: images has ${batch.images.length} values, shape needs ${b * h * w * c}`,
    );
  }
  if (batch.labels.length !== b) {
    throw new RangeError(`mixupAndCutmix: ${batch.labels.length} labels for ${b} images`);
  }
  const mixupAlpha = opts.mixupAlpha ?? 0.8;
  const cutmixAlpha = opts.cutmixAlpha ?? 1.0;
  const prob = opts.prob ?? 1.0;
  let switchProb = opts.switchProb ?? 0.5;
  const ls = opts.labelSmoothing ?? 0.1;
  const numClasses = opts.numClasses ?? 1001;
  const how = opts.lambdaSampling ?? 'model_garden';
  if (mixupAlpha < 0 || cutmixAlpha < 0 || (!mixupAlpha && !cutmixAlpha)) {
    throw new RangeError('mixupAndCutmix: need mixupAlpha >= 0, cutmixAlpha >= 0, not both 0');
  }
  if (mixupAlpha && !cutmixAlpha) switchProb = -1;
  else if (!mixupAlpha && cutmixAlpha) switchProb = 1;

  const smooth = smoothOneHot(batch.labels, numClasses, ls);
  if (!(rng.uniform() < prob)) {
    return {
      images: batch.images,
      shape: batch.shape,
      labels: smooth,
      mode: 'none',
      lambdas: new Float32Array(b).fill(1),
    };
  }
  const useCutmix = rng.uniform() < switchProb;
  const plane = h * w * c;
  const images = new Float32Array(batch.images.length);
  let lambdas: Float32Array;
  if (useCutmix) {
    lambdas = sampleLambdas(rng, cutmixAlpha, b, how);
    const cy = Array.from({ length: b }, () => rng.int(h));
    const cx = Array.from({ length: b }, () => rng.int(w));
    images.set(batch.images);
    for (let i = 0; i < b; i++) {
      const ratio = f32(Math.sqrt(f32(1 - lambdas[i])));
      const cutH = Math.trunc(f32(ratio * h));
      const cutW = Math.trunc(f32(ratio * h)); // Model Garden uses the height for both sides.
      lambdas[i] = f32(1 - (cutH * cutW) / (h * w));
      const win = rectangleWindow(h, w, cx[i], cy[i], cutW >> 1, cutH >> 1);
      const dst = i * plane;
      const src = (b - 1 - i) * plane;
      for (let y = win.y0; y < win.y1; y++) {
        const row = (y * w + win.x0) * c;
        const len = (win.x1 - win.x0) * c;
        images.set(batch.images.subarray(src + row, src + row + len), dst + row);
      }
    }
  } else {
    lambdas = sampleLambdas(rng, mixupAlpha, b, how);
    for (let i = 0; i < b; i++) {
      const lam = lambdas[i];
      const rest = f32(1 - lam);
      const dst = i * plane;
      const src = (b - 1 - i) * plane;
      for (let p = 0; p < plane; p++) {
        images[dst + p] = f32(lam * batch.images[dst + p]) + f32(rest * batch.images[src + p]);
      }
    }
  }
  const labels = new Float32Array(b * numClasses);
  for (let i = 0; i < b; i++) {
    const lam = lambdas[i];
    const own = i * numClasses;
    const other = (b - 1 - i) * numClasses;
    for (let k = 0; k < numClasses; k++) {
      labels[own + k] = f32(lam * smooth[own + k]) + f32(f32(1 - lam) * smooth[other + k]);
    }
  }
  return { images, shape: batch.shape, labels, mode: useCutmix ? 'cutmix' : 'mixup', lambdas };
}
