/**
 * RetinaNet-style detection resizing with scale jitter, as Model Garden's
 * preprocess_ops.resize_and_crop_image / resize_and_crop_boxes / resize_and_crop_masks.
 *
 * The image keeps its aspect ratio and is scaled to the largest size inside `desiredSize`
 * (times a random jitter factor in [augScaleMin, augScaleMax] in training), a random window of
 * `desiredSize` is cut from it when it came out larger, and the result is zero-padded at the
 * bottom/right to `paddedSize`. The bookkeeping is returned as Model Garden's `image_info`:
 *
 *     [[original_height, original_width],
 *      [desired_height,  desired_width],
 *      [y_scale,         x_scale],        // scaled size / original size
 *      [y_offset,        x_offset]]       // top-left of the crop in the scaled image
 *
 * Row 1 holds `desired_size`, exactly as Model Garden's code stacks it (its docstring calls it the
 * scaled size, but the code stacks `desired_size`; the scaled size is `round(original * scale)`).
 * Sizes and scales are float32 and rounding is tf.round's (half to even), as in the graph.
 */
import type { Rng } from '../../core/random.js';
import { clipBoxes, type Boxes } from '../../ops/box_ops.js';
import {
  checkImage,
  checkMasks,
  cropImage,
  flipLeftRight,
  padToBoundingBox,
  roundHalfToEven,
  type Image,
  type InstanceMasks,
  type PixelArray,
} from './image.js';
import {
  resizeImage,
  resizeMasksNearest,
  resizeWindowBilinear,
  type ResizeMethod,
} from './resize.js';

const f32 = Math.fround;

/** Row-major [4, 2] float32: see the module comment for the rows. */
export type ImageInfo = Float32Array;

export interface ResizeAndCropOptions {
  /** [height, width] the scaled image is fitted into (and cropped to when jittered larger). */
  desiredSize: [number, number];
  /** [height, width] of the output, >= desiredSize; zero padding fills the rest. */
  paddedSize: [number, number];
  /** Minimum random scale factor on desiredSize. Default 1 (no jitter). */
  augScaleMin?: number;
  /** Maximum random scale factor on desiredSize. Default 1 (no jitter). */
  augScaleMax?: number;
  /** Default 'bilinear' (float32 output); 'nearest' keeps the input's array type. */
  method?: ResizeMethod;
  /** Mirror the image left-right first (the detection parser's flip, fused into the resize). */
  flipLeftRight?: boolean;
  /** Array for the bilinear result (paddedSize and the image's channels), instead of a new one. */
  out?: Float32Array;
}

export interface ResizeAndCropResult {
  image: Image;
  imageInfo: ImageInfo;
}

/**
 * The smallest multiple of `stride` >= each side (preprocess_ops.compute_padded_size), e.g.
 * [100, 200] with stride 32 -> [128, 224].
 */
export function computePaddedSize(desiredSize: [number, number], stride: number): [number, number] {
  if (!(stride > 0))
    throw new RangeError(`computePaddedSize: stride must be positive, got ${stride}`);
  return [Math.ceil(desiredSize[0] / stride) * stride, Math.ceil(desiredSize[1] / stride) * stride];
}

function isClose(a: number, b: number): boolean {
  // Python's math.isclose defaults: rel_tol 1e-9, abs_tol 0.
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function checkSizePair(field: string, v: [number, number]): void {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => Number.isInteger(x) && x > 0)) {
    throw new RangeError(`resizeAndCropImage: ${field} must be [height, width] positive integers`);
  }
}

/**
 * Resizes, jitters, crops and pads `image` as preprocess_ops.resize_and_crop_image.
 *
 * Random draws (only when jittering, i.e. augScaleMin or augScaleMax is not 1): the scale factor,
 * then the crop offset's y and x fractions, each one `rng.uniform()`.
 */
export function resizeAndCropImage(
  image: Image,
  rng: Rng,
  opts: ResizeAndCropOptions,
): ResizeAndCropResult {
  checkImage('resizeAndCropImage', image);
  const { desiredSize, paddedSize } = opts;
  checkSizePair('desiredSize', desiredSize);
  checkSizePair('paddedSize', paddedSize);
  if (paddedSize[0] < desiredSize[0] || paddedSize[1] < desiredSize[1]) {
    throw new RangeError(
      `resizeAndCropImage: paddedSize [${paddedSize.join(', ')}] is smaller than desiredSize ` +
        `[${desiredSize.join(', ')}]`,
    );
  }
  const scaleMin = opts.augScaleMin ?? 1;
  const scaleMax = opts.augScaleMax ?? 1;
  if (!(scaleMin > 0) || !(scaleMax >= scaleMin)) {
    throw new RangeError(
      `resizeAndCropImage: need 0 < augScaleMin <= augScaleMax, got ${scaleMin}, ${scaleMax}`,
    );
  }
  const jitter = !isClose(scaleMin, 1) || !isClose(scaleMax, 1);
  const imageH = image.height;
  const imageW = image.width;

  let targetH = desiredSize[0];
  let targetW = desiredSize[1];
  if (jitter) {
    const randomScale = f32(rng.uniformRange(scaleMin, scaleMax));
    targetH = roundHalfToEven(f32(randomScale * desiredSize[0]));
    targetW = roundHalfToEven(f32(randomScale * desiredSize[1]));
  }
  const scale = Math.min(f32(targetH / imageH), f32(targetW / imageW));
  const scaledH = roundHalfToEven(f32(imageH * scale));
  const scaledW = roundHalfToEven(f32(imageW * scale));
  if (scaledH < 1 || scaledW < 1) {
    throw new RangeError(
      `resizeAndCropImage: a ${imageH}x${imageW} image scales to ${scaledH}x${scaledW} ` +
        `(desiredSize [${desiredSize.join(', ')}], scale ${scale})`,
    );
  }
  const scaleY = f32(scaledH / imageH);
  const scaleX = f32(scaledW / imageW);

  let offsetY = 0;
  let offsetX = 0;
  if (jitter) {
    const maxY = Math.max(scaledH - desiredSize[0], 0);
    const maxX = Math.max(scaledW - desiredSize[1], 0);
    offsetY = Math.trunc(f32(maxY * f32(rng.uniform())));
    offsetX = Math.trunc(f32(maxX * f32(rng.uniform())));
  }

  // Python slicing: the window stops at the image edge.
  const window = jitter
    ? {
        offsetY,
        offsetX,
        height: Math.min(desiredSize[0], scaledH - offsetY),
        width: Math.min(desiredSize[1], scaledW - offsetX),
      }
    : { offsetY: 0, offsetX: 0, height: scaledH, width: scaledW };
  let output: Image;
  if ((opts.method ?? 'bilinear') === 'bilinear') {
    // Only the kept window of the resized image is computed (bitwise the steps below).
    output = resizeWindowBilinear(image, scaledH, scaledW, {
      window,
      paddedSize,
      flipLeftRight: opts.flipLeftRight,
      out: opts.out,
    });
  } else {
    let scaled = resizeImage(
      opts.flipLeftRight ? flipLeftRight(image) : image,
      scaledH,
      scaledW,
      opts.method ?? 'bilinear',
    );
    if (jitter) scaled = cropImage(scaled, offsetY, offsetX, window.height, window.width);
    output = padToBoundingBox(scaled, 0, 0, paddedSize[0], paddedSize[1]);
  }
  const imageInfo = Float32Array.of(
    imageH,
    imageW,
    desiredSize[0],
    desiredSize[1],
    scaleY,
    scaleX,
    offsetY,
    offsetX,
  );
  return { image: output, imageInfo };
}

/**
 * Maps absolute boxes of the original image into the output of {@link resizeAndCropImage}
 * (preprocess_ops.resize_and_crop_boxes): `box * [sy, sx, sy, sx] - [oy, ox, oy, ox]`, clipped to
 * `outputSize` (Model Garden passes image_info row 1, the desired size). Follow with
 * `nonEmptyBoxIndices` to drop boxes the crop emptied.
 */
export function resizeAndCropBoxes(
  boxes: ArrayLike<number>,
  imageScale: ArrayLike<number>,
  outputSize: ArrayLike<number>,
  offset: ArrayLike<number>,
): Boxes {
  if (boxes.length % 4 !== 0) {
    throw new TypeError(`resizeAndCropBoxes: boxes must be [N, 4], got ${boxes.length} values`);
  }
  const moved = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i++) {
    const axis = i % 2; // 0: y, 1: x
    moved[i] = f32(boxes[i] * imageScale[axis]) - offset[axis];
  }
  return clipBoxes(moved, outputSize[0], outputSize[1]);
}

/**
 * Maps [N, H, W] instance masks (at the original image size) into the output of
 * {@link resizeAndCropImage} (preprocess_ops.resize_and_crop_masks): nearest resize to
 * `trunc(imageScale * maskSize)`, crop at `offset` to `outputSize`, zero-pad to `outputSize`.
 * Model Garden passes the padded size as `outputSize` here.
 */
export function resizeAndCropMasks<T extends PixelArray>(
  masks: InstanceMasks<T>,
  imageScale: ArrayLike<number>,
  outputSize: [number, number],
  offset: ArrayLike<number>,
): InstanceMasks<T> {
  checkMasks('resizeAndCropMasks', masks);
  const scaledH = Math.trunc(f32(f32(imageScale[0]) * masks.height));
  const scaledW = Math.trunc(f32(f32(imageScale[1]) * masks.width));
  const [outH, outW] = outputSize;
  const oy = Math.trunc(offset[0]);
  const ox = Math.trunc(offset[1]);
  const out = (
    masks.data instanceof Uint8Array
      ? new Uint8Array(masks.count * outH * outW)
      : new Float32Array(masks.count * outH * outW)
  ) as T;
  if (masks.count === 0 || scaledH < 1 || scaledW < 1) {
    return { data: out, count: masks.count, height: outH, width: outW };
  }
  const scaled = resizeMasksNearest(masks, scaledH, scaledW);
  const rows = Math.max(0, Math.min(outH, scaledH - oy));
  const cols = Math.max(0, Math.min(outW, scaledW - ox));
  for (let n = 0; n < masks.count; n++) {
    for (let y = 0; y < rows; y++) {
      const src = (n * scaledH + oy + y) * scaledW + ox;
      out.set(scaled.data.subarray(src, src + cols), (n * outH + y) * outW);
    }
  }
  return { data: out, count: masks.count, height: outH, width: outW };
}
