/**
 * Classification crops: Inception-style random crop (TF's sample_distorted_bounding_box, as
 * Model Garden's preprocess_ops.random_crop_image calls it) and the 0.875 center crop
 * (preprocess_ops.center_crop_image).
 *
 * The sampler follows tensorflow/core/kernels/image/sample_distorted_bounding_box_op.cc step by
 * step (float32 arithmetic, lrintf's round-half-to-even, `Uniform(n)` in [0, n)), with TF's Philox
 * stream replaced by the caller's {@link Rng}: `RandFloat()` is `rng.uniform()` and `Uniform(n)` is
 * `rng.int(n)`.
 */
import type { Rng } from '../../core/random.js';
import { checkImage, cropImage, roundHalfToEven, type Image, type PixelArray } from './image.js';

const f32 = Math.fround;

/** Model Garden's CENTER_CROP_FRACTION (224 / 256), official/vision/ops/preprocess_ops.py. */
export const CENTER_CROP_FRACTION = 0.875;

/** A crop window in pixels. */
export interface CropWindow {
  offsetY: number;
  offsetX: number;
  height: number;
  width: number;
}

export interface DistortedBoxOptions {
  /** Crop width / height range. Default [3/4, 4/3]. */
  aspectRatioRange?: [number, number];
  /** Crop area as a fraction of the image. Default [0.08, 1.0]. */
  areaRange?: [number, number];
  /** Samples tried before falling back to the whole image. Default 10. */
  maxAttempts?: number;
  /**
   * Fraction of some box the crop must cover. Default `areaRange[0]` (what random_crop_image
   * passes).
   */
  minObjectCovered?: number;
  /** Normalised [ymin, xmin, ymax, xmax] boxes; default the whole image [0, 0, 1, 1]. */
  boxes?: ArrayLike<number>;
}

interface Rect {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

const rectArea = (r: Rect): number => (r.maxX - r.minX) * (r.maxY - r.minY);

function intersect(a: Rect, b: Rect): Rect {
  const r = {
    minX: Math.max(a.minX, b.minX),
    minY: Math.max(a.minY, b.minY),
    maxX: Math.min(a.maxX, b.maxX),
    maxY: Math.min(a.maxY, b.maxY),
  };
  return r.minX > r.maxX || r.minY > r.maxY ? { minX: 0, minY: 0, maxX: 0, maxY: 0 } : r;
}

function satisfiesOverlap(crop: Rect, minCovered: number, boxes: Rect[]): boolean {
  if (rectArea(crop) < 1) return false;
  for (const box of boxes) {
    const area = rectArea(box);
    if (area < 1) continue;
    if (f32(rectArea(intersect(crop, box)) / area) >= minCovered) return true;
  }
  return false;
}

/** TF's GenerateRandomCrop: one crop of the given aspect ratio, or null when impossible. */
function generateRandomCrop(
  width: number,
  height: number,
  minRelArea: number,
  maxRelArea: number,
  aspect: number,
  rng: Rng,
): Rect | null {
  if (maxRelArea <= 0 || aspect <= 0 || minRelArea > maxRelArea) return null;
  const minArea = f32(f32(minRelArea * width) * height);
  const maxArea = f32(f32(maxRelArea * width) * height);
  let h = roundHalfToEven(f32(Math.sqrt(f32(minArea / aspect))));
  let maxH = roundHalfToEven(f32(Math.sqrt(f32(maxArea / aspect))));
  if (roundHalfToEven(f32(maxH * aspect)) > width) {
    const eps = f32(0.0000001);
    maxH = Math.trunc((width + 0.5 - eps) / aspect);
    if (roundHalfToEven(f32(maxH * aspect)) > width) maxH -= 1;
  }
  if (maxH > height) maxH = height;
  if (h >= maxH) h = maxH;
  if (h < maxH) h += rng.int(maxH - h + 1);
  let w = roundHalfToEven(f32(h * aspect));
  let area = w * h;
  if (area < minArea) {
    h += 1;
    w = roundHalfToEven(f32(h * aspect));
    area = w * h;
  }
  if (area > maxArea) {
    h -= 1;
    w = roundHalfToEven(f32(h * aspect));
    area = w * h;
  }
  if (area < minArea || area > maxArea || w > width || h > height || w <= 0 || h <= 0) {
    return null;
  }
  const y = h < height ? rng.int(height - h) : 0;
  const x = w < width ? rng.int(width - w) : 0;
  return { minX: x, minY: y, maxX: x + w, maxY: y + h };
}

function checkRange(field: string, r: [number, number], maxOne: boolean): void {
  if (
    !Array.isArray(r) ||
    r.length !== 2 ||
    !(r[0] > 0) ||
    !(r[1] > 0) ||
    (maxOne && (r[0] > 1 || r[1] > 1))
  ) {
    throw new RangeError(
      `sampleDistortedBoundingBox: ${field} must be two positive numbers${maxOne ? ' <= 1' : ''}, ` +
        `got [${String(r)}]`,
    );
  }
}

/**
 * A random crop window of a `height x width` image (tf.image.sample_distorted_bounding_box):
 * up to `maxAttempts` samples of aspect ratio ~ U(aspectRatioRange) and area in `areaRange` that
 * cover at least `minObjectCovered` of one box; the whole image when none qualifies.
 */
export function sampleDistortedBoundingBox(
  height: number,
  width: number,
  rng: Rng,
  opts: DistortedBoxOptions = {},
): CropWindow & { sampled: boolean } {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0) {
    throw new RangeError(`sampleDistortedBoundingBox: bad image size ${height}x${width}`);
  }
  const aspectRange = opts.aspectRatioRange ?? [3 / 4, 4 / 3];
  const areaRange = opts.areaRange ?? [0.08, 1.0];
  checkRange('aspectRatioRange', aspectRange, false);
  checkRange('areaRange', areaRange, true);
  const maxAttempts = opts.maxAttempts ?? 10;
  if (!Number.isInteger(maxAttempts) || maxAttempts <= 0) {
    throw new RangeError(`sampleDistortedBoundingBox: maxAttempts must be a positive integer`);
  }
  const minCovered = opts.minObjectCovered ?? areaRange[0];
  if (!(minCovered >= 0)) {
    throw new RangeError(`sampleDistortedBoundingBox: minObjectCovered must be >= 0`);
  }
  const boxValues = opts.boxes ?? [0, 0, 1, 1];
  if (boxValues.length % 4 !== 0) {
    throw new TypeError(`sampleDistortedBoundingBox: boxes must be [N, 4]`);
  }
  const boxes: Rect[] = [];
  for (let i = 0; i < boxValues.length; i += 4) {
    for (let k = 0; k < 4; k++) {
      const v = boxValues[i + k];
      if (!(v >= 0 && v <= 1)) {
        throw new RangeError(
          `sampleDistortedBoundingBox: box ${i / 4} coordinate ${v} is outside [0, 1]`,
        );
      }
    }
    boxes.push({
      minX: Math.trunc(f32(boxValues[i + 1] * width)),
      minY: Math.trunc(f32(boxValues[i] * height)),
      maxX: Math.trunc(f32(boxValues[i + 3] * width)),
      maxY: Math.trunc(f32(boxValues[i + 2] * height)),
    });
  }
  if (boxes.length === 0) boxes.push({ minX: 0, minY: 0, maxX: width, maxY: height });

  const aLo = f32(aspectRange[0]);
  const aHi = f32(aspectRange[1]);
  for (let i = 0; i < maxAttempts; i++) {
    const aspect = f32(f32(f32(rng.uniform()) * f32(aHi - aLo)) + aLo);
    const crop = generateRandomCrop(
      width,
      height,
      f32(areaRange[0]),
      f32(areaRange[1]),
      aspect,
      rng,
    );
    if (crop && satisfiesOverlap(crop, f32(minCovered), boxes)) {
      return {
        offsetY: crop.minY,
        offsetX: crop.minX,
        height: crop.maxY - crop.minY,
        width: crop.maxX - crop.minX,
        sampled: true,
      };
    }
  }
  return { offsetY: 0, offsetX: 0, height, width, sampled: false };
}

/**
 * Random crop of `image` (preprocess_ops.random_crop_image): the window of
 * {@link sampleDistortedBoundingBox} over the whole image; the whole image when sampling fails.
 */
export function randomCropImage<T extends PixelArray>(
  image: Image<T>,
  rng: Rng,
  opts: Omit<DistortedBoxOptions, 'boxes'> = {},
): Image<T> {
  checkImage('randomCropImage', image);
  const win = sampleDistortedBoundingBox(image.height, image.width, rng, opts);
  return cropImage(image, win.offsetY, win.offsetX, win.height, win.width);
}

/** The square center-crop window of `fraction` x the short side (center_crop_image). */
export function centerCropWindow(
  height: number,
  width: number,
  fraction = CENTER_CROP_FRACTION,
): CropWindow {
  if (!(fraction > 0 && fraction <= 1)) {
    throw new RangeError(`centerCropWindow: fraction must be in (0, 1], got ${fraction}`);
  }
  const crop = f32(f32(fraction) * Math.min(height, width));
  const size = Math.trunc(crop);
  if (size < 1) {
    throw new RangeError(`centerCropWindow: a ${height}x${width} image has no ${fraction} crop`);
  }
  return {
    offsetY: Math.trunc(f32(f32(height - crop) / 2)),
    offsetX: Math.trunc(f32(f32(width - crop) / 2)),
    height: size,
    width: size,
  };
}

/** Square center crop of `fraction` (default 0.875) x the short side (center_crop_image). */
export function centerCropImage<T extends PixelArray>(
  image: Image<T>,
  fraction = CENTER_CROP_FRACTION,
): Image<T> {
  checkImage('centerCropImage', image);
  const win = centerCropWindow(image.height, image.width, fraction);
  return cropImage(image, win.offsetY, win.offsetX, win.height, win.width);
}

/**
 * The training crop of Model Garden's classification parser (classification_input.py
 * `_parse_train_image`): {@link randomCropImage}, and when that returned the whole image
 * (sampling failed, or the sample was the whole image) the center crop instead.
 */
export function inceptionCrop<T extends PixelArray>(
  image: Image<T>,
  rng: Rng,
  opts: Omit<DistortedBoxOptions, 'boxes'> = {},
): Image<T> {
  checkImage('inceptionCrop', image);
  const win = inceptionCropWindow(image.height, image.width, rng, opts);
  return cropImage(image, win.offsetY, win.offsetX, win.height, win.width);
}

/**
 * The window {@link inceptionCrop} cuts from a `height` x `width` image, drawing the same random
 * numbers: the distorted-box sample, or the center crop when the sample is the whole image.
 */
export function inceptionCropWindow(
  height: number,
  width: number,
  rng: Rng,
  opts: Omit<DistortedBoxOptions, 'boxes'> = {},
): CropWindow {
  const win = sampleDistortedBoundingBox(height, width, rng, opts);
  if (win.height === height && win.width === width) return centerCropWindow(height, width);
  return { offsetY: win.offsetY, offsetX: win.offsetX, height: win.height, width: win.width };
}
