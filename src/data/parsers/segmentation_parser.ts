/**
 * Model Garden's semantic segmentation parser (official/vision/dataloaders/segmentation_input.py
 * `Parser`) as a pipeline map function, decoding its tf.Example keys (decoders/segmentation.ts).
 *
 * Both paths: decode → normalise the image with mean / stddev (before any resize, so the padding
 * is 0 in normalised space) → with `preserve_aspect_ratio` false, image (bilinear) and label
 * (nearest) resized to `output_size`.
 * Training: with `crop_size`, image and label resized to `output_size` and a random `crop_size`
 * window cut from both (tf.image.random_crop) → random left-right flip of both
 * (`aug_rand_hflip`) → resize_and_crop_image to the training size (crop_size, else output_size)
 * with scale jitter [`aug_scale_min`, `aug_scale_max`] → the label, offset by +1, goes through
 * resize_and_crop_masks (nearest) so the padding (0) becomes −1 → `ignore_label`.
 * Evaluation: resize_and_crop_image to `output_size` without jitter; the label is resized with it
 * (`resize_eval_groundtruth`, mIoU at output size) or kept at its original size and padded with
 * the ignore label to `groundtruth_padded_size` (mIoU at the original size through image_info).
 *
 * Random draws, in Model Garden's order: the crop offsets (y, x), the flip coin, the jitter.
 *
 * Output features:
 *   image        float32 [h, w, 3]  h x w = crop_size / output_size
 *   masks        float32 [H, W, 1]  class ids, `ignore_label` outside the image
 *   valid_masks  float32 [H, W, 1]  1 where masks != ignore_label (Model Garden's bool as 0/1)
 *   image_info   float32 [4, 2]
 * H x W is h x w, except in evaluation without `resize_eval_groundtruth`: groundtruth_padded_size.
 */
import { ExampleDecodeError, type RecordContext } from '../decoders/errors.js';
import { SegmentationDecoder } from '../decoders/segmentation.js';
import { MEAN_RGB, STDDEV_RGB } from '../in_memory.js';
import { horizontalFlipCoin } from '../ops/flip.js';
import { cropImage, flipLeftRight, padToBoundingBox, type Image } from '../ops/image.js';
import { normalizeImage } from '../ops/normalize.js';
import { resizeBilinear, resizeNearest } from '../ops/resize.js';
import { resizeAndCropImage, resizeAndCropMasks } from '../ops/resize_and_crop.js';
import type { Rng } from '../../core/random.js';
import {
  OptionReader,
  type ParsedFeatures,
  type ParserContext,
  type ParserFn,
} from './features.js';

/**
 * JSON options: Model Garden's segmentation `Parser` arguments of the same names and defaults
 * (the task passes the DataConfig values, whose `aug_rand_hflip` default is true).
 */
export interface SegmentationParserOptions {
  /** [height, width] of the output image. */
  output_size: [number, number];
  /** [height, width] of the training crop taken after resizing to output_size (default none). */
  crop_size?: [number, number] | null;
  /** Default true. */
  resize_eval_groundtruth?: boolean;
  /** [height, width]; required when resize_eval_groundtruth is false. */
  groundtruth_padded_size?: [number, number] | null;
  /** Default 255. */
  ignore_label?: number;
  /** Default false (the Parser's own default). */
  aug_rand_hflip?: boolean;
  /** Default true. */
  preserve_aspect_ratio?: boolean;
  aug_scale_min?: number;
  aug_scale_max?: number;
  /** DenseFeatureConfig of the image: key, mean and stddev on 0..255 (3 channels). */
  image_feature_name?: string;
  mean?: number[];
  stddev?: number[];
}

const WHAT = 'segmentation parser options';

const OPTION_NAMES = [
  'output_size',
  'crop_size',
  'resize_eval_groundtruth',
  'groundtruth_padded_size',
  'ignore_label',
  'aug_rand_hflip',
  'preserve_aspect_ratio',
  'aug_scale_min',
  'aug_scale_max',
  'image_feature_name',
  'mean',
  'stddev',
];

interface Resolved {
  outputSize: [number, number];
  cropSize: [number, number] | null;
  resizeEvalGroundtruth: boolean;
  groundtruthPaddedSize: [number, number] | null;
  ignoreLabel: number;
  hflip: boolean;
  preserveAspectRatio: boolean;
  scaleMin: number;
  scaleMax: number;
  mean: number[];
  stddev: number[];
  decoder: SegmentationDecoder;
}

function sizePair(r: OptionReader, field: string, required: boolean): [number, number] | null {
  const v = r.numbers(field, undefined);
  if (v === undefined || (!required && v.length === 0)) {
    if (required) throw new TypeError(`${WHAT}.${field} must be [height, width], got nothing`);
    return null;
  }
  if (v.length !== 2 || !v.every((x) => Number.isInteger(x) && x > 0)) {
    throw new TypeError(
      `${WHAT}.${field} must be [height, width] positive integers, got ${JSON.stringify(v)}`,
    );
  }
  return [v[0], v[1]];
}

function resolve(options: unknown): Resolved {
  const r = new OptionReader(WHAT, options);
  r.onlyKnown(OPTION_NAMES);
  const outputSize = sizePair(r, 'output_size', true) as [number, number];
  const resizeEvalGroundtruth = r.bool('resize_eval_groundtruth', true);
  const groundtruthPaddedSize = sizePair(r, 'groundtruth_padded_size', false);
  if (!resizeEvalGroundtruth && !groundtruthPaddedSize) {
    throw new TypeError(
      `${WHAT}.groundtruth_padded_size ([height, width]) is required when resize_eval_groundtruth is false`,
    );
  }
  const scaleMin = r.number('aug_scale_min', 1.0, (v) => v > 0, 'a positive number');
  return {
    outputSize,
    cropSize: sizePair(r, 'crop_size', false),
    resizeEvalGroundtruth,
    groundtruthPaddedSize,
    ignoreLabel: r.number(
      'ignore_label',
      255,
      (v) => Number.isInteger(v) && v >= 0,
      'a non-negative integer',
    ),
    hflip: r.bool('aug_rand_hflip', false),
    preserveAspectRatio: r.bool('preserve_aspect_ratio', true),
    scaleMin,
    scaleMax: r.number('aug_scale_max', 1.0, (v) => v >= scaleMin, '>= aug_scale_min'),
    mean: r.numbers('mean', [...MEAN_RGB], 3) as number[],
    stddev: r.numbers('stddev', [...STDDEV_RGB], 3) as number[],
    decoder: new SegmentationDecoder({ imageKey: r.string('image_feature_name', 'image/encoded') }),
  };
}

/**
 * tf.image.random_crop of image and label together: one offset per axis, uniform over the
 * positions where the `size` window fits.
 */
function randomCropPair(
  image: Image<Float32Array>,
  label: Image<Float32Array>,
  size: [number, number],
  rng: Rng,
): [Image<Float32Array>, Image<Float32Array>] {
  const [h, w] = size;
  if (h > image.height || w > image.width) {
    throw new RangeError(
      `crop_size [${h}, ${w}] is larger than the ${image.height}x${image.width} image`,
    );
  }
  const y = rng.int(image.height - h + 1);
  const x = rng.int(image.width - w + 1);
  return [cropImage(image, y, x, h, w), cropImage(label, y, x, h, w)];
}

/** `label + 1` resized/cropped/padded by `place`, then 0 (padding) → ignore label, minus one. */
function shiftedLabel(
  label: Image<Float32Array>,
  ignoreLabel: number,
  place: (shifted: Image<Float32Array>) => { data: Float32Array; height: number; width: number },
): { data: Float32Array; height: number; width: number } {
  const shifted = label.data.map((v) => v + 1);
  const placed = place({ ...label, data: shifted });
  const out = placed.data;
  for (let i = 0; i < out.length; i++) out[i] = out[i] === 0 ? ignoreLabel : out[i] - 1;
  return placed;
}

function transform(
  o: Resolved,
  image: Image,
  labelU8: Uint8Array,
  ctx: ParserContext,
): ParsedFeatures {
  const { training, rng } = ctx;
  let img: Image<Float32Array> = normalizeImage(image, { mean: o.mean, stddev: o.stddev });
  let label: Image<Float32Array> = {
    data: Float32Array.from(labelU8),
    height: image.height,
    width: image.width,
    channels: 1,
  };
  if (!o.preserveAspectRatio) {
    img = resizeBilinear(img, o.outputSize[0], o.outputSize[1]);
    label = resizeNearest(label, o.outputSize[0], o.outputSize[1]);
  }
  let flip = false;
  let size = o.outputSize;
  if (training) {
    if (o.cropSize) {
      img = resizeBilinear(img, o.outputSize[0], o.outputSize[1]);
      label = resizeNearest(label, o.outputSize[0], o.outputSize[1]);
      [img, label] = randomCropPair(img, label, o.cropSize, rng);
      size = o.cropSize;
    }
    flip = o.hflip && horizontalFlipCoin(rng);
    if (flip) label = flipLeftRight(label);
  }
  // The image's flip is fused into the resize (bitwise as flipping first).
  const { image: out, imageInfo } = resizeAndCropImage(img, rng, {
    desiredSize: size,
    paddedSize: size,
    augScaleMin: training ? o.scaleMin : 1,
    augScaleMax: training ? o.scaleMax : 1,
    flipLeftRight: flip,
    out: ctx.allocFloat32?.(size[0] * size[1] * img.channels),
  });
  const scale = [imageInfo[4], imageInfo[5]];
  const offset = [imageInfo[6], imageInfo[7]];
  const asMask = (l: Image<Float32Array>) => ({
    data: l.data,
    count: 1,
    height: l.height,
    width: l.width,
  });
  const placed = shiftedLabel(label, o.ignoreLabel, (shifted) =>
    training || o.resizeEvalGroundtruth
      ? resizeAndCropMasks(asMask(shifted), scale, size, offset)
      : padToBoundingBox(
          shifted,
          0,
          0,
          (o.groundtruthPaddedSize as [number, number])[0],
          (o.groundtruthPaddedSize as [number, number])[1],
        ),
  );
  const valid = placed.data.map((v) => (v === o.ignoreLabel ? 0 : 1));
  return {
    image: { data: out.data as Float32Array, shape: [size[0], size[1], img.channels] },
    masks: { data: placed.data, shape: [placed.height, placed.width, 1] },
    valid_masks: { data: valid, shape: [placed.height, placed.width, 1] },
    image_info: { data: imageInfo, shape: [4, 2] },
  };
}

async function parseWith(
  o: Resolved,
  bytes: Uint8Array,
  ctx: ParserContext,
): Promise<ParsedFeatures> {
  const record: RecordContext = { file: ctx.where };
  const ex = await o.decoder.decode(bytes, record);
  try {
    return transform(o, ex.image, ex.label, ctx);
  } catch (err) {
    throw new ExampleDecodeError(record, undefined, (err as Error).message, { cause: err });
  }
}

/** The segmentation parser for `options` ({@link SegmentationParserOptions}); one per worker. */
export function createSegmentationParser(options: unknown): ParserFn {
  const o = resolve(options);
  return (bytes, ctx) => parseWith(o, bytes, ctx);
}

/** A pipeline map reference to {@link createSegmentationParser} with `options`. */
export function segmentationParserRef(options: SegmentationParserOptions): {
  module: string;
  factory: string;
  options: SegmentationParserOptions;
} {
  resolve(options);
  return { module: import.meta.url, factory: 'createSegmentationParser', options };
}
