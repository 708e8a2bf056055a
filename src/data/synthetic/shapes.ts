/**
 * A seeded synthetic classification data set: one geometric shape per small RGB image.
 *
 * Each image has a uniform random background colour, one shape of a random size, position and
 * colour (its luminance differs from the background's by at least `minContrast`), and mild uniform
 * per-pixel noise. Shapes are rasterised without anti-aliasing: a pixel is foreground when its
 * centre (y + 0.5, x + 0.5) lies inside the shape, so masks are exact and easy to reason about.
 * Everything is drawn from one {@link Rng} stream, so a seed fixes the whole data set; train and
 * test splits are two seeds.
 */
import { Rng } from '../../core/random.js';

/** Class names in label order. */
export const SHAPE_CLASS_NAMES = [
  'circle',
  'square',
  'triangle',
  'cross',
  'horizontal_bar',
  'vertical_bar',
  'ring',
  'diamond',
] as const;

export type ShapeClassName = (typeof SHAPE_CLASS_NAMES)[number];

/** Label map: class index → class name. */
export const SHAPE_LABEL_MAP: Readonly<Record<number, ShapeClassName>> = Object.freeze(
  Object.fromEntries(SHAPE_CLASS_NAMES.map((name, i) => [i, name])),
);

export type Rgb = [number, number, number];

/** Everything that determines a noise-free shape image. Coordinates are in pixels. */
export interface ShapeParams {
  className: ShapeClassName;
  /** Shape centre; pixel (y, x) covers [y, y+1) × [x, x+1), so the image spans [0, size]. */
  centerY: number;
  centerX: number;
  /** Half-extent: the radius of a circle, half the side of a square. */
  size: number;
  foreground: Rgb;
  background: Rgb;
}

/** Smallest image edge for which all classes stay distinguishable. */
export const MIN_SHAPE_IMAGE_SIZE = 16;
/** Half-extent range as fractions of the image edge. */
const SIZE_FRACTION_MIN = 0.2;
const SIZE_FRACTION_MAX = 0.42;
/** Half-thickness of bars and cross arms, as a fraction of the half-extent (at least 0.75 px). */
const BAR_HALF_THICKNESS = 0.22;
/** Inner radius of a ring, as a fraction of its outer radius. */
const RING_INNER_FRACTION = 0.55;

function barHalfThickness(size: number): number {
  return Math.max(0.75, BAR_HALF_THICKNESS * size);
}

/**
 * Whether the point (dy, dx), relative to the shape centre, is inside a shape of half-extent
 * `size`. Triangles point up (apex at dy = -size, base at dy = +size, base width 2·size).
 */
export function shapeContains(
  className: ShapeClassName,
  dy: number,
  dx: number,
  size: number,
): boolean {
  const ay = Math.abs(dy);
  const ax = Math.abs(dx);
  switch (className) {
    case 'circle':
      return dy * dy + dx * dx <= size * size;
    case 'square':
      return ay <= size && ax <= size;
    case 'triangle':
      return ay <= size && ax <= (dy + size) / 2;
    case 'cross': {
      const t = barHalfThickness(size);
      return (ax <= t && ay <= size) || (ay <= t && ax <= size);
    }
    case 'horizontal_bar':
      return ay <= barHalfThickness(size) && ax <= size;
    case 'vertical_bar':
      return ax <= barHalfThickness(size) && ay <= size;
    case 'ring': {
      const r2 = dy * dy + dx * dx;
      const inner = RING_INNER_FRACTION * size;
      return r2 <= size * size && r2 > inner * inner;
    }
    case 'diamond':
      return ax + ay <= size;
  }
}

/** Foreground mask [H, W] (1 inside, 0 outside) of a square image of edge `imageSize`. */
export function shapeMask(params: ShapeParams, imageSize: number): Uint8Array {
  const mask = new Uint8Array(imageSize * imageSize);
  for (let y = 0; y < imageSize; y++) {
    const dy = y + 0.5 - params.centerY;
    for (let x = 0; x < imageSize; x++) {
      if (shapeContains(params.className, dy, x + 0.5 - params.centerX, params.size)) {
        mask[y * imageSize + x] = 1;
      }
    }
  }
  return mask;
}

/** Rec. 601 luma of an RGB colour, 0..255. */
export function luminance(c: Rgb): number {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

function randomColour(rng: Rng): Rgb {
  return [rng.int(256), rng.int(256), rng.int(256)];
}

/** A foreground colour whose luminance differs from `background`'s by at least `minContrast`. */
function contrastingColour(rng: Rng, background: Rgb, minContrast: number): Rgb {
  const bgLum = luminance(background);
  for (let attempt = 0; attempt < 64; attempt++) {
    const c = randomColour(rng);
    if (Math.abs(luminance(c) - bgLum) >= minContrast) return c;
  }
  // Black or white always differs by >= 127.5, more than any allowed minContrast.
  return bgLum >= 127.5 ? [0, 0, 0] : [255, 255, 255];
}

export interface ShapeSamplingOptions {
  /** Minimum luminance difference between shape and background, 0..127. Default 80. */
  minContrast?: number;
}

/** Draws a random size, position and colours for one shape that fits inside the image. */
export function sampleShapeParams(
  className: ShapeClassName,
  imageSize: number,
  rng: Rng,
  opts: ShapeSamplingOptions = {},
): ShapeParams {
  const minContrast = opts.minContrast ?? 80;
  const size = rng.uniformRange(SIZE_FRACTION_MIN * imageSize, SIZE_FRACTION_MAX * imageSize);
  const centerY = rng.uniformRange(size, imageSize - size);
  const centerX = rng.uniformRange(size, imageSize - size);
  const background = randomColour(rng);
  const foreground = contrastingColour(rng, background, minContrast);
  return { className, centerY, centerX, size, foreground, background };
}

/**
 * Paints a shape into `out` at element offset `offset` as [H, W, 3] RGB uint8, adding uniform
 * integer noise in [-noiseAmplitude, noiseAmplitude] per channel (clamped to 0..255).
 */
export function drawShape(
  params: ShapeParams,
  imageSize: number,
  noiseAmplitude: number,
  rng: Rng,
  out: Uint8Array = new Uint8Array(imageSize * imageSize * 3),
  offset = 0,
): Uint8Array {
  const mask = shapeMask(params, imageSize);
  const span = 2 * noiseAmplitude + 1;
  for (let p = 0; p < mask.length; p++) {
    const colour = mask[p] ? params.foreground : params.background;
    for (let c = 0; c < 3; c++) {
      const noise = noiseAmplitude > 0 ? rng.int(span) - noiseAmplitude : 0;
      out[offset + 3 * p + c] = Math.min(255, Math.max(0, colour[c] + noise));
    }
  }
  return out;
}

function checkImageSize(imageSize: number): void {
  if (!Number.isInteger(imageSize) || imageSize < MIN_SHAPE_IMAGE_SIZE) {
    throw new Error(`imageSize must be an integer >= ${MIN_SHAPE_IMAGE_SIZE}, got ${imageSize}`);
  }
}

function checkNoise(noiseAmplitude: number): void {
  if (!Number.isInteger(noiseAmplitude) || noiseAmplitude < 0 || noiseAmplitude > 64) {
    throw new Error(`noiseAmplitude must be an integer in 0..64, got ${noiseAmplitude}`);
  }
}

function checkContrast(minContrast: number): void {
  if (!(minContrast >= 0 && minContrast <= 127)) {
    throw new Error(`minContrast must be in 0..127, got ${minContrast}`);
  }
}

function checkClassName(name: string): asserts name is ShapeClassName {
  if (!(SHAPE_CLASS_NAMES as readonly string[]).includes(name)) {
    throw new Error(
      `unknown shape class '${name}'; choose one of: ${SHAPE_CLASS_NAMES.join(', ')}`,
    );
  }
}

export interface GenerateShapesOptions extends ShapeSamplingOptions {
  numExamples: number;
  /** Image edge in pixels (square images). Default 32. */
  imageSize?: number;
  /** Seed of the data set; different seeds give independent splits. Default 0. */
  seed?: number;
  /** Classes to draw, in label order. Default: all of {@link SHAPE_CLASS_NAMES}. */
  classNames?: readonly ShapeClassName[];
  /** Per-channel uniform noise amplitude (integer). Default 8. */
  noiseAmplitude?: number;
  /** Also return per-pixel segmentation labels ({@link ShapesDataset.labelMaps}). */
  withLabelMaps?: boolean;
}

export interface ShapesDataset {
  /** Row-major [N, H, W, 3] RGB uint8. */
  images: Uint8Array;
  /** [N] indices into `classNames`. */
  labels: Uint8Array;
  classNames: readonly ShapeClassName[];
  shape: [number, number, number, number];
  /** The parameters of each example, for tests and visualisation. */
  params: ShapeParams[];
  /**
   * With `withLabelMaps`: row-major [N, H, W] semantic labels, 0 for the background and
   * 1 + the class index inside the shape (the shape's mask).
   */
  labelMaps?: Uint8Array;
}

/**
 * Generates a balanced, shuffled shapes data set: class counts differ by at most one.
 * Deterministic for a given set of options.
 */
export function generateShapes(opts: GenerateShapesOptions): ShapesDataset {
  const { numExamples } = opts;
  const imageSize = opts.imageSize ?? 32;
  const seed = opts.seed ?? 0;
  const classNames = opts.classNames ?? SHAPE_CLASS_NAMES;
  const noiseAmplitude = opts.noiseAmplitude ?? 8;
  if (!Number.isInteger(numExamples) || numExamples < 0) {
    throw new Error(`numExamples must be a non-negative integer, got ${numExamples}`);
  }
  checkImageSize(imageSize);
  checkNoise(noiseAmplitude);
  checkContrast(opts.minContrast ?? 80);
  if (classNames.length === 0 || classNames.length > 255) {
    throw new Error(`classNames must list 1..255 classes, got ${classNames.length}`);
  }
  for (const name of classNames) checkClassName(name);

  const rng = Rng.derive(seed, 'synthetic/shapes');
  const order = new Int32Array(numExamples);
  for (let i = 0; i < numExamples; i++) order[i] = i % classNames.length;
  rng.shuffle(order);

  const pixelsPerImage = imageSize * imageSize * 3;
  const images = new Uint8Array(numExamples * pixelsPerImage);
  const labels = new Uint8Array(numExamples);
  const plane = imageSize * imageSize;
  const labelMaps = opts.withLabelMaps ? new Uint8Array(numExamples * plane) : undefined;
  const params: ShapeParams[] = [];
  for (let i = 0; i < numExamples; i++) {
    labels[i] = order[i];
    const p = sampleShapeParams(classNames[order[i]], imageSize, rng, opts);
    drawShape(p, imageSize, noiseAmplitude, rng, images, i * pixelsPerImage);
    params.push(p);
    if (labelMaps) {
      const mask = shapeMask(p, imageSize);
      for (let j = 0; j < plane; j++) labelMaps[i * plane + j] = mask[j] ? order[i] + 1 : 0;
    }
  }
  return {
    images,
    labels,
    classNames,
    shape: [numExamples, imageSize, imageSize, 3],
    params,
    ...(labelMaps ? { labelMaps } : {}),
  };
}

export interface RenderShapeOptions extends ShapeSamplingOptions {
  /** Image edge in pixels. Default 32. */
  imageSize?: number;
  /** Seed for the parameters not given and for the noise. Default 0. */
  seed?: number;
  /** Noise amplitude; default 8 (as in {@link generateShapes}), 0 for a clean image. */
  noiseAmplitude?: number;
  centerY?: number;
  centerX?: number;
  size?: number;
  foreground?: Rgb;
  background?: Rgb;
}

function checkRgb(field: string, c: Rgb): void {
  if (c.length !== 3 || c.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
    throw new Error(`${field} must be three integers in 0..255, got [${c.join(', ')}]`);
  }
}

/**
 * Renders one image of a shape, e.g. to predict on: parameters not given are drawn from `seed`.
 * @returns the [H, W, 3] RGB uint8 image and the parameters used
 */
export function renderShape(
  className: ShapeClassName,
  opts: RenderShapeOptions = {},
): { image: Uint8Array; params: ShapeParams } {
  checkClassName(className);
  const imageSize = opts.imageSize ?? 32;
  const noiseAmplitude = opts.noiseAmplitude ?? 8;
  checkImageSize(imageSize);
  checkNoise(noiseAmplitude);
  checkContrast(opts.minContrast ?? 80);
  const rng = Rng.derive(opts.seed ?? 0, `synthetic/shapes/render/${className}`);
  const sampled = sampleShapeParams(className, imageSize, rng, opts);
  const params: ShapeParams = {
    className,
    centerY: opts.centerY ?? sampled.centerY,
    centerX: opts.centerX ?? sampled.centerX,
    size: opts.size ?? sampled.size,
    foreground: opts.foreground ?? sampled.foreground,
    background: opts.background ?? sampled.background,
  };
  if (!(params.size > 0)) throw new Error(`size must be positive, got ${params.size}`);
  for (const field of ['centerY', 'centerX'] as const) {
    if (!Number.isFinite(params[field])) {
      throw new Error(`${field} must be a finite number, got ${params[field]}`);
    }
  }
  checkRgb('foreground', params.foreground);
  checkRgb('background', params.background);
  return { image: drawShape(params, imageSize, noiseAmplitude, rng), params };
}
