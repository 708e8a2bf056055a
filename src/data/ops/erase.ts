/**
 * Rectangle filling and the augmentations built on it: Cutout (augment.cutout) and Random
 * Erasing (augment.RandomErasing), with Model Garden's geometry.
 *
 * A rectangle is given as Model Garden's `_fill_rectangle` takes it, by a centre and half sizes:
 * rows `[max(0, cy - halfH), min(H, cy + halfH))` and columns
 * `[max(0, cx - halfW), min(W, cx + halfW))`.
 */
import type { Rng } from '../../core/random.js';
import { allocLike, checkImage, roundHalfToEven, type Image, type PixelArray } from './image.js';

const f32 = Math.fround;

/** What fills the rectangle. */
export type RectangleFill =
  /** One value per channel (or one for all). */
  | { value: readonly number[] }
  /** The same pixels of another image of the same shape (CutMix). */
  | { source: PixelArray }
  /** Standard normal draws, one per value, row-major over the rectangle (RandomErasing). */
  | { normal: Rng };

/** The pixel window `_fill_rectangle` covers. */
export function rectangleWindow(
  height: number,
  width: number,
  centerX: number,
  centerY: number,
  halfW: number,
  halfH: number,
): { y0: number; y1: number; x0: number; x1: number } {
  return {
    y0: Math.max(0, centerY - halfH),
    y1: Math.min(height, centerY + halfH),
    x0: Math.max(0, centerX - halfW),
    x1: Math.min(width, centerX + halfW),
  };
}

/** A copy of `image` with the rectangle (centre, half sizes) filled by `fill`. */
export function fillRectangle<T extends PixelArray>(
  image: Image<T>,
  centerX: number,
  centerY: number,
  halfW: number,
  halfH: number,
  fill: RectangleFill,
): Image<T> {
  checkImage('fillRectangle', image);
  const { height: h, width: w, channels: c } = image;
  const out = allocLike(image.data, image.data.length);
  out.set(image.data);
  if ('source' in fill && fill.source.length !== image.data.length) {
    throw new RangeError(
      `fillRectangle: fill source has ${fill.source.length} values, image ${out.length}`,
    );
  }
  if ('value' in fill && fill.value.length !== 1 && fill.value.length !== c) {
    throw new RangeError(`fillRectangle: fill value needs 1 or ${c} values`);
  }
  if ('normal' in fill && !(image.data instanceof Float32Array)) {
    throw new TypeError('fillRectangle: normal-noise fill needs a float32 image');
  }
  const win = rectangleWindow(h, w, centerX, centerY, halfW, halfH);
  for (let y = win.y0; y < win.y1; y++) {
    for (let x = win.x0; x < win.x1; x++) {
      const p = (y * w + x) * c;
      for (let k = 0; k < c; k++) {
        if ('value' in fill) out[p + k] = fill.value[fill.value.length === 1 ? 0 : k];
        else if ('source' in fill) out[p + k] = fill.source[p + k];
        else out[p + k] = fill.normal.normal();
      }
    }
  }
  return { ...image, data: out };
}

/**
 * augment.cutout: a `2 padSize x 2 padSize` square centred at a uniform random pixel (row drawn
 * first, then column; the square is clipped at the borders) filled with `replace` (default 128,
 * what AutoAugment / RandAugment pass).
 */
export function cutout<T extends PixelArray>(
  image: Image<T>,
  padSize: number,
  rng: Rng,
  replace: readonly number[] = [128],
): Image<T> {
  checkImage('cutout', image);
  if (!Number.isInteger(padSize) || padSize < 0) {
    throw new RangeError(`cutout: padSize must be a non-negative integer, got ${padSize}`);
  }
  const cy = rng.int(image.height);
  const cx = rng.int(image.width);
  return fillRectangle(image, cx, cy, padSize, padSize, { value: replace });
}

export interface RandomErasingOptions {
  /** Probability of erasing an image. Default 0.25. */
  probability?: number;
  /** Minimum erased area / image area. Default 0.02. */
  minArea?: number;
  /** Maximum erased area / image area. Default 1/3. */
  maxArea?: number;
  /** Minimum aspect ratio (height / width). Default 0.3. */
  minAspect?: number;
  /** Maximum aspect ratio. Default 1 / minAspect. */
  maxAspect?: number;
  /** Minimum number of rectangles. Default 1. */
  minCount?: number;
  /** Maximum number of rectangles. Default 1. */
  maxCount?: number;
  /** Samples tried per rectangle. Default 10. */
  trials?: number;
}

/**
 * augment.RandomErasing on one (usually normalised, float32) image: with `probability`, erase
 * rectangles filled with standard normal noise.
 *
 * Per rectangle, up to `trials` samples of area ~ U(minArea, maxArea) x image area and
 * log-aspect ~ U(log minAspect, log maxAspect); half sizes `round(sqrt(area * aspect) / 2)`
 * (height) and `round(sqrt(area / aspect) / 2)` (width); the first sample with
 * `2 halfH < H` and `2 halfW < W` gets a centre drawn in `[0, H - 2 halfH) x [0, W - 2 halfW)`
 * (Model Garden's ranges: the centre is not shifted by the half size, so the rectangle is
 * clipped at the top/left borders) and is filled. With `minCount < maxCount` the count is drawn
 * from Model Garden's `[minCount, maxCount - minCount + 1)`.
 *
 * Draw order: the probability coin, [the count], then per trial area, aspect, [centre y, x],
 * then the fill's normals.
 */
export function randomErasing<T extends PixelArray>(
  image: Image<T>,
  rng: Rng,
  opts: RandomErasingOptions = {},
): Image<T> {
  checkImage('randomErasing', image);
  const probability = opts.probability ?? 0.25;
  const minArea = opts.minArea ?? 0.02;
  const maxArea = opts.maxArea ?? 1 / 3;
  const minAspect = opts.minAspect ?? 0.3;
  const maxAspect = opts.maxAspect ?? 1 / minAspect;
  const minCount = opts.minCount ?? 1;
  const maxCount = opts.maxCount ?? 1;
  const trials = opts.trials ?? 10;
  if (!(minArea > 0 && maxArea >= minArea && maxArea <= 1)) {
    throw new RangeError(
      `randomErasing: need 0 < minArea <= maxArea <= 1, got ${minArea}, ${maxArea}`,
    );
  }
  if (!(minAspect > 0 && maxAspect > 0)) {
    throw new RangeError(`randomErasing: minAspect and maxAspect must be positive`);
  }
  if (!Number.isInteger(trials) || trials < 1) {
    throw new RangeError(`randomErasing: trials must be a positive integer, got ${trials}`);
  }
  if (rng.uniform() >= probability) return image;

  let count = minCount;
  if (minCount !== maxCount) {
    const hi = maxCount - minCount + 1;
    if (!(hi > minCount)) {
      throw new RangeError(
        `randomErasing: Model Garden draws the count from [minCount, maxCount - minCount + 1), ` +
          `empty for minCount=${minCount}, maxCount=${maxCount}`,
      );
    }
    count = minCount + rng.int(hi - minCount);
  }
  const { height: h, width: w } = image;
  const area = f32(h * w);
  const logLo = Math.log(minAspect);
  const logHi = Math.log(maxAspect);
  let out = image;
  for (let n = 0; n < count; n++) {
    for (let t = 0; t < trials; t++) {
      const eraseArea = f32(rng.uniformRange(f32(area * minArea), f32(area * maxArea)));
      const aspect = f32(Math.exp(f32(rng.uniformRange(logLo, logHi))));
      const halfH = roundHalfToEven(f32(f32(Math.sqrt(f32(eraseArea * aspect))) / 2));
      const halfW = roundHalfToEven(f32(f32(Math.sqrt(f32(eraseArea / aspect))) / 2));
      if (2 * halfH < h && 2 * halfW < w) {
        const cy = rng.int(h - 2 * halfH);
        const cx = rng.int(w - 2 * halfW);
        out = fillRectangle(out, cx, cy, halfW, halfH, { normal: rng });
        break;
      }
    }
  }
  return out;
}
