/**
 * The geometric operations of AutoAugment / RandAugment (Rotate, ShearX/Y, TranslateX/Y) on
 * uint8 HWC images, as Model Garden's official/vision/ops/augment.py computes them.
 *
 * Each is a projective transform `[a0, a1, a2, b0, b1, b2, c0, c1]` mapping an OUTPUT pixel (x, y)
 * to the INPUT point `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`, `k = c0 x + c1 y + 1`,
 * sampled with nearest interpolation (std::round) as TF's ImageProjectiveTransform kernel
 * (tensorflow/core/kernels/image/image_ops.h). Model Garden calls Keras'
 * `image_preprocessing.transform` with `interpolation='nearest'` and Keras' default
 * `fill_mode='reflect'`, so points outside the image are mirrored back in ("dcba|abcd|dcba") and
 * the wrap/unwrap grey fill never triggers; `fillMode: 'constant'` gives the AutoAugment paper's
 * behaviour instead (outside points take `replace`, default grey 128).
 */
import { checkImage, type Image } from './image.js';

const f32 = Math.fround;

export type FillMode = 'reflect' | 'constant';

export interface TransformOptions {
  /** Default 'reflect' (Model Garden through Keras' default). */
  fillMode?: FillMode;
  /** Per-channel value for outside points in 'constant' mode. Default 128 per channel. */
  replace?: readonly number[];
}

type U8Image = Image<Uint8Array>;

/** TF's FILL_REFLECT coordinate mapping, then clamped to [0, len - 1]. */
function reflectCoordinate(v: number, len: number): number {
  let c = v;
  if (c < 0) {
    if (len <= 1) {
      c = 0;
    } else {
      const sz2 = 2 * len;
      if (c < sz2) c = f32(sz2 * Math.trunc(-c / sz2) + c);
      c = c < -len ? f32(c + sz2) : f32(-c - 1);
    }
  } else if (c > len - 1) {
    if (len <= 1) {
      c = 0;
    } else {
      const sz2 = 2 * len;
      c = f32(c - sz2 * Math.trunc(c / sz2));
      if (c >= len) c = f32(sz2 - c - 1);
    }
  }
  return Math.min(Math.max(c, 0), len - 1);
}

/** std::round: half away from zero. */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/**
 * Applies a projective transform (see the module comment) to a uint8 image with nearest
 * interpolation.
 */
export function projectiveTransform(
  image: Image,
  transform: readonly number[],
  opts: TransformOptions = {},
): U8Image {
  checkImage('projectiveTransform', image);
  if (!(image.data instanceof Uint8Array)) {
    throw new TypeError('projectiveTransform: needs a uint8 image (use toUint8 first)');
  }
  if (transform.length !== 8) {
    throw new RangeError(`projectiveTransform: transform needs 8 values, got ${transform.length}`);
  }
  const mode = opts.fillMode ?? 'reflect';
  if (mode !== 'reflect' && mode !== 'constant') {
    throw new RangeError(`projectiveTransform: fillMode must be 'reflect' or 'constant'`);
  }
  const { height: h, width: w, channels: c, data } = image;
  const replace = opts.replace ?? new Array<number>(c).fill(128);
  if (replace.length !== c && replace.length !== 1) {
    throw new RangeError(`projectiveTransform: replace needs 1 or ${c} values`);
  }
  const t = transform.map((v) => f32(v));
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dst = (y * w + x) * c;
      const k = f32(f32(f32(t[6] * x) + f32(t[7] * y)) + 1);
      let inX = k === 0 ? NaN : f32(f32(f32(f32(t[0] * x) + f32(t[1] * y)) + t[2]) / k);
      let inY = k === 0 ? NaN : f32(f32(f32(f32(t[3] * x) + f32(t[4] * y)) + t[5]) / k);
      if (mode === 'reflect' && k !== 0) {
        inX = reflectCoordinate(inX, w);
        inY = reflectCoordinate(inY, h);
      }
      if (!(inX >= 0 && inX <= w - 1 && inY >= 0 && inY <= h - 1)) {
        for (let ch = 0; ch < c; ch++) out[dst + ch] = replace[replace.length === 1 ? 0 : ch];
        continue;
      }
      const src = (roundHalfAway(inY) * w + roundHalfAway(inX)) * c;
      for (let ch = 0; ch < c; ch++) out[dst + ch] = data[src + ch];
    }
  }
  return { data: out, height: h, width: w, channels: c };
}

/**
 * augment.rotate: rotates by `degrees` about the image centre (positive = counter-clockwise in
 * the displayed image, as TF's angles-to-transform).
 */
export function rotate(image: Image, degrees: number, opts: TransformOptions = {}): U8Image {
  checkImage('rotate', image);
  const rad = f32(degrees * (Math.PI / 180));
  const cos = f32(Math.cos(rad));
  const sin = f32(Math.sin(rad));
  const w1 = image.width - 1;
  const h1 = image.height - 1;
  const xOff = f32(f32(w1 - f32(f32(cos * w1) - f32(sin * h1))) / 2);
  const yOff = f32(f32(h1 - f32(f32(sin * w1) + f32(cos * h1))) / 2);
  return projectiveTransform(image, [cos, -sin, xOff, sin, cos, yOff, 0, 0], opts);
}

/** augment.shear_x: output (x, y) samples input (x + level * y, y). */
export function shearX(image: Image, level: number, opts: TransformOptions = {}): U8Image {
  return projectiveTransform(image, [1, level, 0, 0, 1, 0, 0, 0], opts);
}

/** augment.shear_y: output (x, y) samples input (x, level * x + y). */
export function shearY(image: Image, level: number, opts: TransformOptions = {}): U8Image {
  return projectiveTransform(image, [1, 0, 0, level, 1, 0, 0, 0], opts);
}

/** augment.translate_x: output (x, y) samples input (x + pixels, y), i.e. content moves left. */
export function translateX(image: Image, pixels: number, opts: TransformOptions = {}): U8Image {
  return projectiveTransform(image, [1, 0, pixels, 0, 1, 0, 0, 0], opts);
}

/** augment.translate_y: output (x, y) samples input (x, y + pixels), i.e. content moves up. */
export function translateY(image: Image, pixels: number, opts: TransformOptions = {}): U8Image {
  return projectiveTransform(image, [1, 0, 0, 0, 1, pixels, 0, 0], opts);
}
