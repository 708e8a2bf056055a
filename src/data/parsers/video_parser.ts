/**
 * Model Garden's video parser (official/vision/dataloaders/video_input.py `Parser`,
 * `process_image`, `process_label`; sampling and crops from official/vision/ops/
 * preprocess_ops_3d.py) as a pipeline map function: one serialized tf.SequenceExample of JPEG
 * frames in, a float32 clip and its label out.
 *
 * Training: stride (uniform in [max(stride - r, 1), stride + r) with `random_stride_range` r) →
 * a clip of `num_frames` frames from a random offset (the video looped when too short) → decode →
 * ONE distorted box for the whole clip (tf.image.sample_distorted_bounding_box: aspect range
 * scaled by width/height, `aug_min/max_area_ratio`, min_object_covered 0.1, 100 attempts) →
 * bilinear resize to the crop size (cast back to uint8, as MG) → random left-right flip of the
 * whole clip → Auto/RandAugment (the same draws for every frame) → [0, 1] or [-1, 1].
 * Evaluation: `num_test_clips` clips at linearly spaced offsets (one central clip when 1) →
 * decode → resize so the short side is `min_image_size` → `num_test_crops` crops (1: central crop
 * or zero pad; 3: start, centre and end of the long side) → normalise.
 *
 * Output features: `image` float32 [views * num_frames, h, w, c], views ordered crop-major
 * (crop 0's clips, then crop 1's, ...: MG concatenates crops after clips); `label` float32
 * [num_classes] (the sum of the one-hots of every listed class, MG's `one_hot`) or int32 [] (the
 * first class) when `one_hot` is false.
 */
import { ExampleDecodeError, type RecordContext } from '../decoders/errors.js';
import { decodeImage } from '../decoders/image.js';
import { VideoDecoder } from '../decoders/video.js';
import { sampleDistortedBoundingBox } from '../ops/crop.js';
import type { Image } from '../ops/image.js';
import { cropFlipResizeBilinear } from '../ops/resize.js';
import { Rng } from '../../core/random.js';
import { resolveAugmenter, type Augmenter } from './classification_parser.js';
import {
  OptionReader,
  type ParsedFeature,
  type ParsedFeatures,
  type ParserContext,
  type ParserFn,
} from './features.js';

/** JSON options: Model Garden's video DataConfig fields the parser reads (names and defaults). */
export interface VideoParserOptions {
  /** `feature_shape`: [num_frames, crop height, crop width, channels (3)]. */
  feature_shape: [number, number, number, number];
  num_classes?: number;
  temporal_stride?: number;
  random_stride_range?: number;
  num_test_clips?: number;
  num_test_crops?: number;
  min_image_size?: number;
  zero_centering_image?: boolean;
  one_hot?: boolean;
  aug_min_aspect_ratio?: number;
  aug_max_aspect_ratio?: number;
  aug_min_area_ratio?: number;
  aug_max_area_ratio?: number;
  aug_type?: Record<string, unknown> | null;
  image_field_key?: string;
  label_field_key?: string;
}

const WHAT = 'video parser options';
const KNOWN = [
  'feature_shape',
  'num_classes',
  'temporal_stride',
  'random_stride_range',
  'num_test_clips',
  'num_test_crops',
  'min_image_size',
  'zero_centering_image',
  'one_hot',
  'aug_min_aspect_ratio',
  'aug_max_aspect_ratio',
  'aug_min_area_ratio',
  'aug_max_area_ratio',
  'aug_type',
  'image_field_key',
  'label_field_key',
];

interface Resolved {
  frames: number;
  height: number;
  width: number;
  numClasses: number | undefined;
  stride: number;
  strideRange: number;
  clips: number;
  crops: number;
  minSize: number;
  zeroCentering: boolean;
  oneHot: boolean;
  aspect: [number, number];
  area: [number, number];
  augmenter: Augmenter | null;
  decoder: VideoDecoder;
}

function resolve(options: unknown): Resolved {
  const r = new OptionReader(WHAT, options);
  r.onlyKnown(KNOWN);
  const shape = r.numbers('feature_shape', undefined, 4);
  if (!shape || !shape.every((v) => Number.isInteger(v) && v > 0) || shape[3] !== 3) {
    throw new TypeError(
      `${WHAT}.feature_shape must be [frames, height, width, 3] positive integers, got ` +
        JSON.stringify(r.raw('feature_shape')),
    );
  }
  const posInt = (v: number) => Number.isInteger(v) && v > 0;
  const n = r.raw('num_classes');
  const numClasses =
    n === undefined || n === -1
      ? undefined
      : r.number('num_classes', 0, posInt, 'a positive integer');
  const oneHot = r.bool('one_hot', true);
  if (oneHot && numClasses === undefined) {
    // MG process_label: "`num_classes` should be given when requesting one hot label."
    throw new TypeError(`${WHAT}.num_classes must be given with one_hot labels`);
  }
  const crops = r.number('num_test_crops', 1, (v) => v === 1 || v === 3, '1 or 3');
  const aspect: [number, number] = [
    r.number('aug_min_aspect_ratio', 0.5, (v) => v > 0, '> 0'),
    r.number('aug_max_aspect_ratio', 2.0, (v) => v > 0, '> 0'),
  ];
  const area: [number, number] = [
    r.number('aug_min_area_ratio', 0.49, (v) => v > 0 && v <= 1, 'in (0, 1]'),
    r.number('aug_max_area_ratio', 1.0, (v) => v > 0 && v <= 1, 'in (0, 1]'),
  ];
  if (aspect[0] > aspect[1] || area[0] > area[1]) {
    throw new RangeError(`${WHAT}: aug_min_* must not exceed aug_max_*`);
  }
  return {
    frames: shape[0],
    height: shape[1],
    width: shape[2],
    numClasses,
    stride: r.number('temporal_stride', 1, posInt, 'a positive integer'),
    strideRange: r.number(
      'random_stride_range',
      0,
      (v) => Number.isInteger(v) && v >= 0,
      'an integer >= 0',
    ),
    clips: r.number('num_test_clips', 1, posInt, 'a positive integer'),
    crops,
    minSize: r.number('min_image_size', 256, posInt, 'a positive integer'),
    zeroCentering: r.bool('zero_centering_image', false),
    oneHot,
    aspect,
    area,
    augmenter: resolveAugmenter(r.object('aug_type'), WHAT),
    decoder: new VideoDecoder({
      imageKey: r.string('image_field_key', 'image/encoded'),
      labelKey: r.string('label_field_key', 'clip/label/index'),
    }),
  };
}

/** preprocess_ops_3d `_sample_or_pad_sequence_indices`: the video looped as needed. */
export function clipIndices(length: number, frames: number, stride: number, offset: number) {
  return Array.from({ length: frames }, (_, i) => (offset + i * stride) % length);
}

/** preprocess_ops_3d `sample_sequence` with `random`: the offset ~ U[0, max_offset). */
export function randomClipOffset(length: number, frames: number, stride: number, rng: Rng) {
  const span = (frames - 1) * stride;
  const maxOffset = length > span ? length - span : length;
  return rng.int(maxOffset);
}

/** The evaluation clip offsets: one central clip, or MG's `sample_linspace_sequence`. */
export function evalClipOffsets(length: number, frames: number, stride: number, clips: number) {
  if (clips === 1) return [Math.max(0, Math.floor((length - frames * stride) / 2))];
  const max = Math.max(0, length - frames * stride);
  // tf.linspace in float32, then cast to int32 (truncation).
  return Array.from({ length: clips }, (_, i) => Math.trunc(Math.fround((max * i) / (clips - 1))));
}

/** preprocess_ops_3d `resize_smallest`'s output size (floor divisions, as there). */
export function resizeSmallestSize(h: number, w: number, min: number): [number, number] {
  return [Math.max(min, Math.floor((h * min) / w)), Math.max(min, Math.floor((w * min) / h))];
}

/**
 * preprocess_ops_3d `crop_image` (not random) windows along each axis: one central crop
 * (tf.image.resize_with_crop_or_pad: a negative offset pads with zeros), or three at the start,
 * centre and end of the long side.
 */
export function evalCropOffsets(h: number, w: number, th: number, tw: number, crops: number) {
  if (crops === 1) {
    const off = (size: number, t: number) =>
      size >= t ? Math.floor((size - t) / 2) : -Math.floor((t - size) / 2);
    return [[off(h, th), off(w, tw)]];
  }
  if (h >= w) return [0, roundHalfEven(h / 2 - Math.floor(th / 2)), h - th].map((y) => [y, 0]);
  return [0, roundHalfEven(w / 2 - Math.floor(tw / 2)), w - tw].map((x) => [0, x]);
}

/** tf.math.round: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** `tf.cast(float image, uint8)`: truncation (the values lie in [0, 255]). */
function truncate(image: Image): Image {
  const d = image.data;
  for (let i = 0; i < d.length; i++) d[i] = Math.trunc(d[i]);
  return image;
}

/** Copies the window at (y, x) of `image` (zero outside it) into `out` at `at`. */
function copyWindow(
  image: Image,
  y: number,
  x: number,
  th: number,
  tw: number,
  out: Float32Array,
  at: number,
) {
  const { data, height, width, channels: c } = image;
  for (let i = 0; i < th; i++) {
    const sy = y + i;
    for (let j = 0; j < tw; j++) {
      const sx = x + j;
      const dst = at + (i * tw + j) * c;
      if (sy < 0 || sy >= height || sx < 0 || sx >= width) continue;
      const src = (sy * width + sx) * c;
      for (let k = 0; k < c; k++) out[dst + k] = data[src + k];
    }
  }
}

function labelFeature(
  o: Resolved,
  labels: number[],
  record: RecordContext,
  key: string,
): ParsedFeature {
  if (labels.length === 0) throw new ExampleDecodeError(record, key, 'no label');
  if (o.numClasses !== undefined) {
    for (const l of labels) {
      if (!(Number.isInteger(l) && l >= 0 && l < o.numClasses)) {
        throw new ExampleDecodeError(record, key, `label ${l} is outside [0, ${o.numClasses})`);
      }
    }
  }
  if (!o.oneHot) return { data: Int32Array.of(labels[0]), shape: [] };
  const n = o.numClasses as number;
  const hot = new Float32Array(n);
  for (const l of labels) hot[l] += 1;
  // MG's "trick for single label": one class means the target is 1 - one_hot.
  if (n === 1) hot[0] = 1 - hot[0];
  return { data: hot, shape: [n] };
}

async function parseWith(
  o: Resolved,
  bytes: Uint8Array,
  ctx: ParserContext,
): Promise<ParsedFeatures> {
  const record: RecordContext = { file: ctx.where };
  const key = o.decoder.imageKey;
  const ex = o.decoder.decode(bytes, record);
  const length = ex.frames.length;
  if (length === 0) throw new ExampleDecodeError(record, key, 'no frames');
  const label = labelFeature(o, ex.labels, record, o.decoder.labelKey);
  const decoded = new Map<number, Image>();
  const frame = async (t: number): Promise<Image> => {
    let img = decoded.get(t);
    if (!img) {
      img = await decodeImage(ex.frames[t], { channels: 3, record, key: `${key}[${t}]` });
      if (
        decoded.size &&
        (img.height !== decoded.values().next().value!.height ||
          img.width !== decoded.values().next().value!.width)
      ) {
        throw new ExampleDecodeError(record, `${key}[${t}]`, 'frames of different sizes');
      }
      decoded.set(t, img);
    }
    return img;
  };
  const { frames: T, height: H, width: W } = o;
  const plane = H * W * 3;
  const scale = o.zeroCentering ? 2 / 255 : 1 / 255;
  const shift = o.zeroCentering ? -1 : 0;
  if (ctx.training) {
    const rng = ctx.rng;
    const stride =
      o.strideRange > 0
        ? Math.max(o.stride - o.strideRange, 1) +
          rng.int(o.stride + o.strideRange - Math.max(o.stride - o.strideRange, 1))
        : o.stride;
    const idx = clipIndices(length, T, stride, randomClipOffset(length, T, stride, rng));
    const first = await frame(idx[0]);
    const factor = W / H;
    const box = sampleDistortedBoundingBox(first.height, first.width, rng, {
      aspectRatioRange: [o.aspect[0] * factor, o.aspect[1] * factor],
      areaRange: o.area,
      minObjectCovered: 0.1,
      maxAttempts: 100,
    });
    const window = {
      offsetY: box.offsetY,
      offsetX: box.offsetX,
      height: box.height,
      width: box.width,
    };
    const flip = rng.int(2) === 1;
    // One augmentation policy draw for the clip: every frame replays the same stream.
    const augSeed = o.augmenter ? rng.nextUint32() : 0;
    const out = new Float32Array(T * plane);
    for (let t = 0; t < T; t++) {
      let img: Image = truncate(
        cropFlipResizeBilinear(await frame(idx[t]), H, W, { window, flipLeftRight: flip }),
      );
      if (o.augmenter) img = o.augmenter(img, new Rng(augSeed));
      const d = img.data;
      for (let i = 0; i < plane; i++) out[t * plane + i] = d[i] * scale + shift;
    }
    return { image: { data: out, shape: [T, H, W, 3] }, label };
  }
  const image = await evalClipViews(length, frame, {
    frames: T,
    height: H,
    width: W,
    stride: o.stride,
    clips: o.clips,
    crops: o.crops,
    minSize: o.minSize,
    scale,
    shift,
    fail: (detail) => new ExampleDecodeError(record, key, detail),
  });
  return { image: { data: image, shape: [o.clips * o.crops * T, H, W, 3] }, label };
}

/** What {@link evalClipViews} samples and how it normalises (the parser's evaluation fields). */
export interface EvalClipOptions {
  frames: number;
  height: number;
  width: number;
  stride: number;
  clips: number;
  crops: number;
  minSize: number;
  /** Normalisation: value * scale + shift. */
  scale: number;
  shift: number;
  /** The error for a video that cannot give the views. */
  fail: (detail: string) => Error;
}

/**
 * The evaluation views of a video of `length` frames (`frame(t)` decodes frame t): `clips`
 * clips at {@link evalClipOffsets}, each frame resized so its short side is `minSize`, then
 * `crops` crops, normalised; float32 [clips * crops * frames, height, width, 3], crop-major.
 * The parser's evaluation path, and `predict`'s video preprocessing.
 */
export async function evalClipViews(
  length: number,
  frame: (t: number) => Promise<Image> | Image,
  o: EvalClipOptions,
): Promise<Float32Array> {
  const { frames: T, height: H, width: W } = o;
  const plane = H * W * 3;
  const offsets = evalClipOffsets(length, T, o.stride, o.clips);
  const views = o.clips * o.crops;
  const out = new Float32Array(views * T * plane);
  for (let c = 0; c < o.clips; c++) {
    const idx = clipIndices(length, T, o.stride, offsets[c]);
    for (let t = 0; t < T; t++) {
      let img = await frame(idx[t]);
      const [rh, rw] = resizeSmallestSize(img.height, img.width, o.minSize);
      if (rh !== img.height || rw !== img.width)
        img = truncate(cropFlipResizeBilinear(img, rh, rw));
      const windows = evalCropOffsets(rh, rw, H, W, o.crops);
      if (o.crops === 3 && (rh < H || rw < W)) {
        throw o.fail(`${rh}x${rw} frames are smaller than the ${H}x${W} crops`);
      }
      windows.forEach(([y, x], k) => {
        copyWindow(img, y, x, H, W, out, ((k * o.clips + c) * T + t) * plane);
      });
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i] * o.scale + o.shift;
  return out;
}

/** The video parser for `options` ({@link VideoParserOptions}, checked with errors naming the field). */
export function createVideoParser(options: unknown): ParserFn {
  const o = resolve(options);
  return (bytes, ctx) => parseWith(o, bytes, ctx);
}

/** A pipeline map reference to {@link createVideoParser} with `options`. */
export function videoParserRef(options: VideoParserOptions) {
  resolve(options); // fail here, not in every worker
  return { module: import.meta.url, factory: 'createVideoParser', options };
}
