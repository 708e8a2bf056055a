/**
 * `tf.image.resize` (TF2, antialias off) on typed-array images: bilinear and nearest neighbour
 * with half-pixel centres.
 *
 * TensorFlow's kernels (tensorflow/core/kernels/image/resize_bilinear_op.cc,
 * resize_nearest_neighbor_op.cc, util/image_resizer_state.h) use, per axis,
 * `scale = in_size / out_size` and
 *   - bilinear: `src = (dst + 0.5) * scale - 0.5`, `lower = max(floor(src), 0)`,
 *     `upper = min(ceil(src), in_size - 1)`, `lerp = src - floor(src)`, then
 *     `top = tl + (tr - tl) * xlerp`, `bottom = bl + (br - bl) * xlerp`,
 *     `out = top + (bottom - top) * ylerp`, all in float32;
 *   - nearest: `src = clamp(floor((dst + 0.5) * scale), 0, in_size - 1)`.
 * Bilinear output is float32 whatever the input type (as tf.image.resize); nearest keeps the
 * input's type. Arithmetic here is rounded to float32 at each step, as the kernels compute.
 */
import * as tf from '@tensorflow/tfjs-core';
import { allocLike, checkImage, checkMasks, type Image, type InstanceMasks } from './image.js';
import type { PixelArray } from './image.js';

const f32 = Math.fround;

export type ResizeMethod = 'bilinear' | 'nearest';

/** Per-output-index source rows/columns and weights of TF's half-pixel bilinear resize. */
interface BilinearTaps {
  lower: Int32Array;
  upper: Int32Array;
  lerp: Float32Array;
}

function bilinearTaps(outSize: number, inSize: number): BilinearTaps {
  const scale = f32(inSize / outSize);
  const lower = new Int32Array(outSize);
  const upper = new Int32Array(outSize);
  const lerp = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const src = f32(f32(f32(i + 0.5) * scale) - 0.5);
    const fl = Math.floor(src);
    lower[i] = Math.max(fl, 0);
    upper[i] = Math.min(Math.ceil(src), inSize - 1);
    lerp[i] = f32(src - fl);
  }
  return { lower, upper, lerp };
}

/** Source index per output index of TF's half-pixel nearest-neighbour resize. */
function nearestTaps(outSize: number, inSize: number): Int32Array {
  const scale = f32(inSize / outSize);
  const idx = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const src = Math.floor(f32(f32(i + 0.5) * scale));
    idx[i] = Math.max(0, Math.min(src, inSize - 1));
  }
  return idx;
}

function checkSize(where: string, height: number, width: number): void {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0) {
    throw new RangeError(`${where}: output size must be positive integers, got ${height}x${width}`);
  }
}

/**
 * Bilinear resize of an HWC image to `[height, width]` with TF's half-pixel centres
 * (`tf.image.resize(image, size, 'bilinear')`). Returns float32.
 */
export function resizeBilinear(image: Image, height: number, width: number): Image<Float32Array> {
  checkImage('resizeBilinear', image);
  checkSize('resizeBilinear', height, width);
  return cropFlipResizeBilinear(image, height, width);
}

type Window = { offsetY: number; offsetX: number; height: number; width: number };

/** Whether `win` is a non-empty integer window inside a `height` x `width` image. */
function windowInside(win: Window, height: number, width: number): boolean {
  return (
    [win.offsetY, win.offsetX, win.height, win.width].every(Number.isInteger) &&
    win.offsetY >= 0 &&
    win.offsetX >= 0 &&
    win.height >= 1 &&
    win.width >= 1 &&
    win.offsetY + win.height <= height &&
    win.offsetX + win.width <= width
  );
}

/**
 * The two horizontally interpolated source rows a bilinear output row reads, kept so that the
 * next output row reuses them: output rows read source rows in order, so a row is filled once
 * while consecutive output rows share it (whenever the source is less than twice the output).
 */
class SourceRowPair {
  private readonly a: Float32Array;
  private readonly b: Float32Array;
  private heldA = -1;
  private heldB = -1;

  constructor(
    length: number,
    private readonly fill: (sourceRow: number, into: Float32Array) => void,
  ) {
    this.a = new Float32Array(length);
    this.b = new Float32Array(length);
  }

  /** Rows r0 and r1, each filled if not held, without evicting the other. */
  pair(r0: number, r1: number): [Float32Array, Float32Array] {
    this.ensure(r0, r1);
    this.ensure(r1, r0);
    return [this.of(r0), this.of(r1)];
  }

  private ensure(need: number, keep: number): void {
    if (this.heldA === need || this.heldB === need) return;
    if (this.heldA === keep) this.fill((this.heldB = need), this.b);
    else this.fill((this.heldA = need), this.a);
  }

  private of(r: number): Float32Array {
    return this.heldA === r ? this.a : this.b;
  }
}

export interface FusedBilinearOptions {
  /** Source window [offsetY, offsetX, height, width] (default: the whole image). */
  window?: { offsetY: number; offsetX: number; height: number; width: number };
  /** Mirror the window left-right before resizing (`tf.image.flip_left_right`). */
  flipLeftRight?: boolean;
  /** Normalise the result to `(v - mean[c]) / stddev[c]` in float32 (src/data/ops/normalize.ts). */
  normalize?: { mean: ArrayLike<number>; stddev: ArrayLike<number> };
  /** Array to write the result into (height * width * channels values), instead of a new one. */
  out?: Float32Array;
}

/**
 * Crop → optional left-right flip → {@link resizeBilinear} → optional normalisation in one pass
 * over the output, without the intermediate images: the fast path of the classification parser.
 * Every output value is computed from the same source values by the same float32 operations as
 * the separate ops (`cropImage`, `flipLeftRight`, `resizeBilinear`, `normalizeImage`), so the
 * result is bitwise identical to running them in turn (test/data/ops/resize.test.ts).
 */
export function cropFlipResizeBilinear(
  image: Image,
  height: number,
  width: number,
  opts: FusedBilinearOptions = {},
): Image<Float32Array> {
  checkImage('cropFlipResizeBilinear', image);
  checkSize('cropFlipResizeBilinear', height, width);
  const { data: src, width: inW, channels: c } = image;
  const win = opts.window ?? { offsetY: 0, offsetX: 0, height: image.height, width: inW };
  if (!windowInside(win, image.height, inW)) {
    throw new RangeError(
      `cropFlipResizeBilinear: window ${JSON.stringify(win)} is not inside the ` +
        `${image.height}x${inW} image`,
    );
  }
  const ys = bilinearTaps(height, win.height);
  const xs = bilinearTaps(width, win.width);
  // Window-relative source columns → image columns (mirrored inside the window when flipping).
  const flip = opts.flipLeftRight ?? false;
  const col = (i: number) => win.offsetX + (flip ? win.width - 1 - i : i);
  const left = Int32Array.from(xs.lower, col);
  const right = Int32Array.from(xs.upper, col);
  let mean: Float32Array | null = null;
  let std: Float32Array | null = null;
  if (opts.normalize) {
    const { mean: m, stddev: s } = opts.normalize;
    if (m.length !== c || s.length !== c) {
      throw new RangeError(
        `cropFlipResizeBilinear: normalize needs ${c} mean and stddev values, got ${m.length} and ${s.length}`,
      );
    }
    mean = Float32Array.from(m);
    std = Float32Array.from(s);
  }
  const size = height * width * c;
  if (opts.out && opts.out.length !== size) {
    throw new RangeError(
      `cropFlipResizeBilinear: out holds ${opts.out.length} values, the ${height}x${width}x${c} result ${size}`,
    );
  }
  const out = opts.out ?? new Float32Array(size);
  if (src instanceof Uint8Array && c === 3) {
    return rgb8CropFlipResize(src, inW, win.offsetY, ys, xs, left, right, mean, std, out);
  }
  let o = 0;
  for (let y = 0; y < height; y++) {
    const top = (win.offsetY + ys.lower[y]) * inW;
    const bot = (win.offsetY + ys.upper[y]) * inW;
    const yl = ys.lerp[y];
    for (let x = 0; x < width; x++) {
      const xl = xs.lerp[x];
      const tl = (top + left[x]) * c;
      const tr = (top + right[x]) * c;
      const bl = (bot + left[x]) * c;
      const br = (bot + right[x]) * c;
      for (let k = 0; k < c; k++) {
        const vtl = src[tl + k];
        const vbl = src[bl + k];
        const t = f32(vtl + f32(f32(src[tr + k] - vtl) * xl));
        const b = f32(vbl + f32(f32(src[br + k] - vbl) * xl));
        const v = f32(t + f32(f32(b - t) * yl));
        out[o++] = mean && std ? f32(v - mean[k]) / std[k] : v;
      }
    }
  }
  return { data: out, height, width, channels: c };
}

/**
 * The loop of {@link cropFlipResizeBilinear} for uint8 RGB sources (decoded JPEGs): the same
 * float32 operations in the same order, so bitwise equal to the general loop. The horizontal
 * lerps of a source row do not depend on the output row, so each source row is interpolated
 * once into a float32 row and reused by every output row that reads it (consecutive output rows
 * share a source row whenever the window is less than twice the output height); the channel loop
 * is unrolled. `left`/`right` are the source columns of each output column (flip applied),
 * `offsetY` the window's first row.
 */
function rgb8CropFlipResize(
  src: Uint8Array,
  inW: number,
  offsetY: number,
  ys: BilinearTaps,
  xs: BilinearTaps,
  left: Int32Array,
  right: Int32Array,
  mean: Float32Array | null,
  std: Float32Array | null,
  out: Float32Array,
): Image<Float32Array> {
  const height = ys.lerp.length;
  const width = xs.lerp.length;
  const l3 = Int32Array.from(left, (v) => v * 3);
  const r3 = Int32Array.from(right, (v) => v * 3);
  // Without normalisation: subtract 0 and divide by 1, both exact on float32 values.
  const [m0, m1, m2] = mean ?? [0, 0, 0];
  const [s0, s1, s2] = std ?? [1, 1, 1];
  const rowStride = inW * 3;
  const xl = xs.lerp;
  const rows = new SourceRowPair(width * 3, (r, row) =>
    lerpRow(src, (offsetY + r) * rowStride, l3, r3, xl, row),
  );
  let o = 0;
  for (let y = 0; y < height; y++) {
    const [top, bot] = rows.pair(ys.lower[y], ys.upper[y]);
    const yl = ys.lerp[y];
    for (let j = 0; j < width * 3; j += 3) {
      let t = top[j];
      out[o] = f32(f32(t + f32(f32(bot[j] - t) * yl)) - m0) / s0;
      t = top[j + 1];
      out[o + 1] = f32(f32(t + f32(f32(bot[j + 1] - t) * yl)) - m1) / s1;
      t = top[j + 2];
      out[o + 2] = f32(f32(t + f32(f32(bot[j + 2] - t) * yl)) - m2) / s2;
      o += 3;
    }
  }
  return { data: out, height, width, channels: 3 };
}

export interface ResizeWindowOptions {
  /** The part [offsetY, offsetX, height, width] of the resized image to keep. */
  window: { offsetY: number; offsetX: number; height: number; width: number };
  /** [height, width] of the output: the window at its top-left, zeros elsewhere. */
  paddedSize: [number, number];
  /** Mirror the source left-right before resizing (`tf.image.flip_left_right`). */
  flipLeftRight?: boolean;
  /** Array to write the result into (paddedSize and channels), instead of a new one. */
  out?: Float32Array;
}

/**
 * Optional left-right flip → {@link resizeBilinear} to `[height, width]` → crop of
 * `opts.window` → zero padding to `opts.paddedSize`, in one pass over the kept window: what
 * Model Garden's resize_and_crop_image does after the detection parser's flip. Only the window
 * is computed (with scale jitter up to 2, the resized image is up to 4 times the output), each
 * value by the float32 operations of the separate ops in the same order, so the result is
 * bitwise theirs (test/data/ops/resize_and_crop.test.ts). Each source row is interpolated
 * horizontally once and reused by the output rows that read it.
 */
export function resizeWindowBilinear(
  image: Image,
  height: number,
  width: number,
  opts: ResizeWindowOptions,
): Image<Float32Array> {
  checkImage('resizeWindowBilinear', image);
  checkSize('resizeWindowBilinear', height, width);
  const { data: src, height: inH, width: inW, channels: c } = image;
  const win = opts.window;
  const [padH, padW] = opts.paddedSize;
  if (
    !windowInside(win, height, width) ||
    !Number.isInteger(padH) ||
    !Number.isInteger(padW) ||
    padH < win.height ||
    padW < win.width
  ) {
    throw new RangeError(
      `resizeWindowBilinear: window ${JSON.stringify(win)} is not inside the ${height}x${width} ` +
        `resized image, or does not fit paddedSize [${padH}, ${padW}]`,
    );
  }
  const size = padH * padW * c;
  if (opts.out && opts.out.length !== size) {
    throw new RangeError(
      `resizeWindowBilinear: out holds ${opts.out.length} values, the ${padH}x${padW}x${c} result ${size}`,
    );
  }
  const out = opts.out ?? new Float32Array(size);
  const ys = bilinearTaps(height, inH);
  const xs = bilinearTaps(width, inW);
  const flip = opts.flipLeftRight ?? false;
  const w = win.width;
  // Per kept output column: the source columns (times c; mirrored when flipping) and weight.
  const lc = new Int32Array(w);
  const rc = new Int32Array(w);
  const xl = new Float32Array(w);
  for (let x = 0; x < w; x++) {
    const sx = win.offsetX + x;
    lc[x] = (flip ? inW - 1 - xs.lower[sx] : xs.lower[sx]) * c;
    rc[x] = (flip ? inW - 1 - xs.upper[sx] : xs.upper[sx]) * c;
    xl[x] = xs.lerp[sx];
  }
  const rows = new SourceRowPair(w * c, (r, row) =>
    lerpRowAnyChannels(src, r * inW * c, lc, rc, xl, c, row),
  );
  const rowLength = padW * c;
  for (let y = 0; y < win.height; y++) {
    const sy = win.offsetY + y;
    const [top, bot] = rows.pair(ys.lower[sy], ys.upper[sy]);
    const yl = ys.lerp[sy];
    let o = y * rowLength;
    for (let j = 0; j < w * c; j++) {
      const t = top[j];
      out[o++] = f32(t + f32(f32(bot[j] - t) * yl));
    }
    out.fill(0, o, (y + 1) * rowLength);
  }
  out.fill(0, win.height * rowLength);
  return { data: out, height: padH, width: padW, channels: c };
}

/**
 * Horizontal lerps of one source row (starting at `base`) into `row`, any channel count, with
 * the general loop's float32 rounding of the difference (exact for uint8, not for float32).
 */
function lerpRowAnyChannels(
  src: ArrayLike<number>,
  base: number,
  lc: Int32Array,
  rc: Int32Array,
  xl: Float32Array,
  c: number,
  row: Float32Array,
): void {
  for (let x = 0, j = 0; x < xl.length; x++) {
    const w = xl[x];
    const l = base + lc[x];
    const r = base + rc[x];
    for (let k = 0; k < c; k++, j++) {
      const a = src[l + k];
      row[j] = f32(a + f32(f32(src[r + k] - a) * w));
    }
  }
}

/** Horizontal lerps of one uint8 RGB source row (starting at `base`) into `row`. */
function lerpRow(
  src: Uint8Array,
  base: number,
  l3: Int32Array,
  r3: Int32Array,
  xl: Float32Array,
  row: Float32Array,
): void {
  for (let x = 0, j = 0; x < xl.length; x++, j += 3) {
    const w = xl[x];
    const l = base + l3[x];
    const r = base + r3[x];
    // uint8 differences are exact, so only the products and sums are rounded to float32.
    let a = src[l];
    row[j] = f32(a + f32((src[r] - a) * w));
    a = src[l + 1];
    row[j + 1] = f32(a + f32((src[r + 1] - a) * w));
    a = src[l + 2];
    row[j + 2] = f32(a + f32((src[r + 2] - a) * w));
  }
}

/**
 * Nearest-neighbour resize of an HWC image to `[height, width]` with TF's half-pixel centres
 * (`tf.image.resize(image, size, 'nearest')`). Keeps the input's array type.
 */
export function resizeNearest<T extends PixelArray>(
  image: Image<T>,
  height: number,
  width: number,
): Image<T> {
  checkImage('resizeNearest', image);
  checkSize('resizeNearest', height, width);
  const { data: src, width: inW, channels: c } = image;
  const ys = nearestTaps(height, image.height);
  const xs = nearestTaps(width, inW);
  const out = allocLike(src, height * width * c);
  let o = 0;
  for (let y = 0; y < height; y++) {
    const row = ys[y] * inW;
    for (let x = 0; x < width; x++) {
      const s = (row + xs[x]) * c;
      for (let k = 0; k < c; k++) out[o++] = src[s + k];
    }
  }
  return { data: out, height, width, channels: c };
}

/** Resizes with the named method (bilinear returns float32; nearest keeps the type). */
export function resizeImage(
  image: Image,
  height: number,
  width: number,
  method: ResizeMethod = 'bilinear',
): Image {
  if (method === 'bilinear') return resizeBilinear(image, height, width);
  if (method === 'nearest') return resizeNearest(image, height, width);
  throw new RangeError(`resizeImage: unknown method '${String(method)}' (bilinear or nearest)`);
}

/** Nearest-neighbour resize of [N, H, W] instance masks to `[height, width]` (half-pixel). */
export function resizeMasksNearest<T extends PixelArray>(
  masks: InstanceMasks<T>,
  height: number,
  width: number,
): InstanceMasks<T> {
  checkMasks('resizeMasksNearest', masks);
  checkSize('resizeMasksNearest', height, width);
  const ys = nearestTaps(height, masks.height);
  const xs = nearestTaps(width, masks.width);
  const plane = masks.height * masks.width;
  const out = allocLike(masks.data, masks.count * height * width);
  let o = 0;
  for (let n = 0; n < masks.count; n++) {
    for (let y = 0; y < height; y++) {
      const row = n * plane + ys[y] * masks.width;
      for (let x = 0; x < width; x++) out[o++] = masks.data[row + xs[x]];
    }
  }
  return { data: out, count: masks.count, height, width };
}

/**
 * The tfjs-tensor variant: `tf.image.resizeBilinear` / `resizeNearestNeighbor` with
 * `halfPixelCenters = true`, which implement the same formulas as TF's kernels. `image` is
 * [H, W, C] or [B, H, W, C]; the result is float32 for bilinear and keeps the dtype for nearest.
 */
export function resizeTensor<R extends tf.Rank.R3 | tf.Rank.R4>(
  image: tf.Tensor<R>,
  size: [number, number],
  method: ResizeMethod = 'bilinear',
): tf.Tensor<R> {
  checkSize('resizeTensor', size[0], size[1]);
  if (image.rank !== 3 && image.rank !== 4) {
    throw new RangeError(
      `resizeTensor: image must be [H, W, C] or [B, H, W, C], got rank ${image.rank}`,
    );
  }
  const x = image as unknown as tf.Tensor3D | tf.Tensor4D;
  if (method === 'bilinear') {
    return tf.image.resizeBilinear(x, size, false, true) as unknown as tf.Tensor<R>;
  }
  if (method === 'nearest') {
    return tf.image.resizeNearestNeighbor(x, size, false, true) as unknown as tf.Tensor<R>;
  }
  throw new RangeError(`resizeTensor: unknown method '${String(method)}' (bilinear or nearest)`);
}
