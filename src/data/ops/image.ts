/**
 * Images and instance masks as plain typed arrays, and the TensorFlow slicing / padding / flipping
 * primitives the augmentation ops are built from.
 *
 * Everything in src/data/ops is a pure function on these arrays (no tensors, no globals, random
 * draws only from the {@link Rng} passed in), so the input pipeline can run it in worker threads.
 * An image is row-major HWC; a pixel value is on the 0..255 scale whether the array is uint8 or
 * float32. Masks are row-major [N, H, W], one channel per instance.
 */

/** Pixel storage: uint8 (decoded images, AutoAugment) or float32 (after resizing). */
export type PixelArray = Uint8Array | Float32Array;

/** A row-major HWC image; `data.length === height * width * channels`. */
export interface Image<T extends PixelArray = PixelArray> {
  data: T;
  height: number;
  width: number;
  channels: number;
}

/** Instance masks, row-major [count, height, width] (one value per pixel per instance). */
export interface InstanceMasks<T extends PixelArray = PixelArray> {
  data: T;
  count: number;
  height: number;
  width: number;
}

function isDim(v: number, allowZero: boolean): boolean {
  return Number.isInteger(v) && (allowZero ? v >= 0 : v > 0);
}

/** Throws a TypeError naming `where` unless `image` is a consistent HWC image. */
export function checkImage(where: string, image: Image): void {
  const { height, width, channels, data } = image;
  if (!isDim(height, false) || !isDim(width, false) || !isDim(channels, false)) {
    throw new TypeError(
      `${where}: image height, width and channels must be positive integers, got ` +
        `${height}x${width}x${channels}`,
    );
  }
  if (!(data instanceof Uint8Array) && !(data instanceof Float32Array)) {
    throw new TypeError(`${where}: image data must be a Uint8Array or Float32Array`);
  }
  if (data.length !== height * width * channels) {
    throw new TypeError(
      `${where}: image data has ${data.length} values, ${height}x${width}x${channels} needs ` +
        `${height * width * channels}`,
    );
  }
}

/** Throws a TypeError naming `where` unless `masks` is a consistent [N, H, W] array. */
export function checkMasks(where: string, masks: InstanceMasks): void {
  const { count, height, width, data } = masks;
  if (!isDim(count, true) || !isDim(height, false) || !isDim(width, false)) {
    throw new TypeError(
      `${where}: masks count must be a non-negative integer and height, width positive ` +
        `integers, got [${count}, ${height}, ${width}]`,
    );
  }
  if (data.length !== count * height * width) {
    throw new TypeError(
      `${where}: masks data has ${data.length} values, [${count}, ${height}, ${width}] needs ` +
        `${count * height * width}`,
    );
  }
}

/** A zero-filled array of the same kind as `like`. */
export function allocLike<T extends PixelArray>(like: T, length: number): T {
  return (like instanceof Uint8Array ? new Uint8Array(length) : new Float32Array(length)) as T;
}

/**
 * The window `[y, y + h) x [x, x + w)` of `image` (tf.slice / tf.image.crop_to_bounding_box).
 * The window must lie inside the image.
 */
export function cropImage<T extends PixelArray>(
  image: Image<T>,
  y: number,
  x: number,
  h: number,
  w: number,
): Image<T> {
  checkImage('cropImage', image);
  if (
    ![y, x].every((v) => isDim(v, true)) ||
    ![h, w].every((v) => isDim(v, false)) ||
    y + h > image.height ||
    x + w > image.width
  ) {
    throw new RangeError(
      `cropImage: window y=${y} x=${x} h=${h} w=${w} is not inside the ` +
        `${image.height}x${image.width} image`,
    );
  }
  const c = image.channels;
  const out = allocLike(image.data, h * w * c);
  const rowLen = w * c;
  for (let r = 0; r < h; r++) {
    const src = ((y + r) * image.width + x) * c;
    out.set(image.data.subarray(src, src + rowLen), r * rowLen);
  }
  return { data: out, height: h, width: w, channels: c };
}

/**
 * Places `image` at (offsetY, offsetX) in a zero image of `targetH x targetW`
 * (tf.image.pad_to_bounding_box). The image must fit.
 */
export function padToBoundingBox<T extends PixelArray>(
  image: Image<T>,
  offsetY: number,
  offsetX: number,
  targetH: number,
  targetW: number,
): Image<T> {
  checkImage('padToBoundingBox', image);
  if (offsetY < 0 || offsetX < 0 || offsetY + image.height > targetH) {
    throw new RangeError(
      `padToBoundingBox: a ${image.height}-row image at offset ${offsetY} does not fit in ` +
        `height ${targetH}`,
    );
  }
  if (offsetX + image.width > targetW) {
    throw new RangeError(
      `padToBoundingBox: a ${image.width}-column image at offset ${offsetX} does not fit in ` +
        `width ${targetW}`,
    );
  }
  const c = image.channels;
  const out = allocLike(image.data, targetH * targetW * c);
  const rowLen = image.width * c;
  for (let r = 0; r < image.height; r++) {
    const dst = ((offsetY + r) * targetW + offsetX) * c;
    out.set(image.data.subarray(r * rowLen, (r + 1) * rowLen), dst);
  }
  return { data: out, height: targetH, width: targetW, channels: c };
}

/** Mirrors an image left-right (tf.image.flip_left_right). */
export function flipLeftRight<T extends PixelArray>(image: Image<T>): Image<T> {
  checkImage('flipLeftRight', image);
  const { height, width, channels: c } = image;
  const out = allocLike(image.data, image.data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const src = (row + x) * c;
      const dst = (row + width - 1 - x) * c;
      for (let k = 0; k < c; k++) out[dst + k] = image.data[src + k];
    }
  }
  return { ...image, data: out };
}

/** Mirrors masks left-right (Model Garden's `masks[:, :, ::-1]`). */
export function flipMasksLeftRight<T extends PixelArray>(
  masks: InstanceMasks<T>,
): InstanceMasks<T> {
  checkMasks('flipMasksLeftRight', masks);
  const { count, height, width } = masks;
  const out = allocLike(masks.data, masks.data.length);
  for (let r = 0; r < count * height; r++) {
    const row = r * width;
    for (let x = 0; x < width; x++) out[row + width - 1 - x] = masks.data[row + x];
  }
  return { ...masks, data: out };
}

/** The image as float32 (values unchanged, still on the 0..255 scale). */
export function toFloat32(image: Image): Image<Float32Array> {
  checkImage('toFloat32', image);
  if (image.data instanceof Float32Array) return image as Image<Float32Array>;
  return { ...image, data: Float32Array.from(image.data) };
}

/**
 * The image as uint8 the way Model Garden's augmenters take a float image:
 * `tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8)` (clip, then truncate toward zero).
 */
export function toUint8(image: Image): Image<Uint8Array> {
  checkImage('toUint8', image);
  if (image.data instanceof Uint8Array) return image as Image<Uint8Array>;
  const src = image.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    // NaN clips to 0 here; TF's cast of NaN is unspecified.
    out[i] = v > 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
  }
  return { ...image, data: out };
}

/**
 * Rounds half to even, as tf.round and C's lrintf do (2.5 -> 2, 3.5 -> 4, -0.5 -> -0).
 */
export function roundHalfToEven(v: number): number {
  const r = Math.round(v);
  // Math.round rounds .5 up; step back to the even neighbour on exact ties.
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
