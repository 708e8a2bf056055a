/**
 * The image and box part of Model Garden's RetinaNet parser
 * (official/vision/dataloaders/retinanet_input.py `_parse_train_data` / `_parse_eval_data`, with
 * `resize_first` off) as a pipeline map function; ./retinanet_parser.ts and ./maskrcnn_parser.ts
 * add the anchor labels, reading their anchors through {@link readAnchorSettings}.
 *
 * Training: decode (decoders/detection.ts) → drop crowd objects (`skip_crowd_during_training`)
 * → normalise with MEAN_RGB / STDDEV_RGB → random left-right flip of image and boxes
 * (`aug_rand_hflip`) → boxes to pixels → resize_and_crop_image to `output_size` with scale
 * jitter [`aug_scale_min`, `aug_scale_max`], zero-padded to the multiple of 2^`max_level` →
 * boxes moved and clipped likewise → boxes emptied by the crop dropped.
 * Evaluation: the same without crowd skipping, flip or jitter.
 *
 * Output features: `image` float32 [paddedH, paddedW, 3]; `boxes` float32 [N, 4] in pixels of the
 * output image ([ymin, xmin, ymax, xmax]); `classes` int32 [N]; `image_info` float32 [4, 2]
 * (`[[orig h, w], [desired h, w], [scale y, x], [offset y, x]]`). N varies per example: batch
 * with padding on `boxes` and `classes`.
 */
import { ExampleDecodeError, type RecordContext } from '../decoders/errors.js';
import { TfExampleDecoder, type DetectionExample } from '../decoders/detection.js';
import { MEAN_RGB, STDDEV_RGB } from '../in_memory.js';
import {
  denormalizeBoxes,
  gatherRows,
  horizontalFlipBoxes,
  nonEmptyBoxIndices,
} from '../../ops/box_ops.js';
import { horizontalFlipCoin } from '../ops/flip.js';
import type { Image } from '../ops/image.js';
import { normalizeImage } from '../ops/normalize.js';
import {
  computePaddedSize,
  resizeAndCropBoxes,
  resizeAndCropImage,
} from '../ops/resize_and_crop.js';
import { Rng } from '../../core/random.js';
import { generateAnchors, unpackLabels, type Anchors } from '../../ops/anchor.js';
import {
  OptionReader,
  type ParsedFeatures,
  type ParserContext,
  type ParserFn,
} from './features.js';

/**
 * JSON options: Model Garden's RetinaNet Parser arguments of the same names and defaults
 * (configs/retinanet.py `Parser`; `max_level` is the model's).
 */
export interface DetectionParserOptions {
  /** [height, width] the image is fitted into. */
  output_size: [number, number];
  /** Padding to a multiple of 2^max_level (Model Garden `pad`, default true; max_level 7). */
  pad?: boolean;
  max_level?: number;
  /** Random left-right flip in training (default false). */
  aug_rand_hflip?: boolean;
  aug_scale_min?: number;
  aug_scale_max?: number;
  skip_crowd_during_training?: boolean;
  mean?: number[];
  stddev?: number[];
}

/** The option names {@link readDetectionSettings} reads. */
export const DETECTION_OPTION_NAMES: readonly string[] = [
  'output_size',
  'pad',
  'max_level',
  'aug_rand_hflip',
  'aug_scale_min',
  'aug_scale_max',
  'skip_crowd_during_training',
  'mean',
  'stddev',
];

/** Resolved detection geometry options. */
export interface DetectionSettings {
  desired: [number, number];
  padded: [number, number];
  maxLevel: number;
  hflip: boolean;
  scaleMin: number;
  scaleMax: number;
  skipCrowd: boolean;
  mean: number[];
  stddev: number[];
  decoder: TfExampleDecoder;
}

/** Reads the {@link DETECTION_OPTION_NAMES} fields of `r` (errors name `<what>.<field>`). */
export function readDetectionSettings(r: OptionReader): DetectionSettings {
  const size = r.numbers('output_size', undefined, 2);
  if (!size || !size.every((v) => Number.isInteger(v) && v > 0)) {
    throw new TypeError(`${r.what}.output_size must be [height, width] positive integers`);
  }
  const desired: [number, number] = [size[0], size[1]];
  const maxLevel = r.number('max_level', 7, (v) => Number.isInteger(v) && v >= 0, 'an integer');
  const padded = r.bool('pad', true) ? computePaddedSize(desired, 2 ** maxLevel) : desired;
  const scaleMin = r.number('aug_scale_min', 1.0, (v) => v > 0, 'a positive number');
  const scaleMax = r.number('aug_scale_max', 1.0, (v) => v >= scaleMin, '>= aug_scale_min');
  const mean = r.numbers('mean', [...MEAN_RGB]) as number[];
  const stddev = r.numbers('stddev', [...STDDEV_RGB]) as number[];
  return {
    desired,
    padded,
    maxLevel,
    hflip: r.bool('aug_rand_hflip', false),
    scaleMin,
    scaleMax,
    skipCrowd: r.bool('skip_crowd_during_training', true),
    mean,
    stddev,
    decoder: new TfExampleDecoder(),
  };
}

/** The anchor option names {@link readAnchorSettings} reads. */
export const ANCHOR_OPTION_NAMES: readonly string[] = [
  'min_level',
  'num_scales',
  'aspect_ratios',
  'anchor_size',
  'max_num_instances',
];

/** A family's defaults of the anchor fields (its configs' `Anchor` and the model's min_level). */
export interface AnchorDefaults {
  minLevel: number;
  numScales: number;
  anchorSize: number;
}

/**
 * Reads the {@link ANCHOR_OPTION_NAMES} fields of `r` with the family's defaults and builds Model
 * Garden's multilevel anchors for the padded image (errors name `<what>.<field>`, or `<what>:`
 * for a combination the anchor generator refuses).
 */
export function readAnchorSettings(
  r: OptionReader,
  det: DetectionSettings,
  defaults: AnchorDefaults,
): { anchors: Anchors; maxNumInstances: number } {
  const int = (v: number) => Number.isInteger(v);
  const minLevel = r.number(
    'min_level',
    defaults.minLevel,
    (v) => int(v) && v >= 0 && v <= det.maxLevel,
    `an integer in [0, max_level ${det.maxLevel}]`,
  );
  const numScales = r.number(
    'num_scales',
    defaults.numScales,
    (v) => int(v) && v >= 1,
    'an integer >= 1',
  );
  const aspectRatios = r.numbers('aspect_ratios', [0.5, 1.0, 2.0]) as number[];
  const anchorSize = r.number(
    'anchor_size',
    defaults.anchorSize,
    (v) => v > 0,
    'a positive number',
  );
  const maxNumInstances = r.number(
    'max_num_instances',
    100,
    (v) => int(v) && v >= 1,
    'an integer >= 1',
  );
  try {
    const anchors = generateAnchors({
      minLevel,
      maxLevel: det.maxLevel,
      numScales,
      aspectRatios,
      anchorSize,
      imageSize: det.padded,
    });
    return { anchors, maxNumInstances };
  } catch (err) {
    throw new RangeError(`${r.what}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Adds the `<name>/<level>` features of a flat per-anchor array with `depth` values per anchor;
 * `copy` for arrays shared between examples (a batch may take over a feature's array).
 */
export function perLevelFeatures(
  out: ParsedFeatures,
  name: string,
  values: Float32Array | Int32Array,
  anchors: Anchors,
  depth: number,
  copy = false,
): void {
  for (const [level, view] of Object.entries(unpackLabels(values, anchors, depth))) {
    out[`${name}/${level}`] = { data: copy ? view.data.slice() : view.data, shape: view.shape };
  }
}

const WHAT = 'detection parser options';

function resolve(options: unknown): DetectionSettings {
  const r = new OptionReader(WHAT, options);
  r.onlyKnown(DETECTION_OPTION_NAMES);
  return readDetectionSettings(r);
}

/** One example after the detection geometry, before any labelling. */
export interface DetectionGeometry {
  /** The decoded example (all objects, original normalised boxes). */
  example: DetectionExample;
  /** Normalised, resized, padded image, row-major [padded h, padded w, 3]. */
  image: Float32Array;
  /** [N, 4] boxes in output pixels, crowd (training) and emptied boxes dropped. */
  boxes: Float32Array;
  /** [N] their classes. */
  classes: Int32Array;
  /** [4, 2] Model Garden's image_info. */
  imageInfo: Float32Array;
  /** Whether the image (and boxes) were flipped left-right. */
  flipped: boolean;
  /** [N] the example's object index of each kept box (masks follow the boxes with it). */
  kept: number[];
}

function transform(
  o: DetectionSettings,
  image: Image,
  boxes: Float32Array,
  classes: Int32Array,
  training: boolean,
  rng: Rng,
  allocFloat32?: (length: number) => Float32Array,
) {
  const { height, width } = image;
  const img: Image = normalizeImage(image, { mean: o.mean, stddev: o.stddev });
  // The random flip's coin (one uniform, as preprocess_ops.random_horizontal_flip); the image is
  // mirrored inside the fused resize below, bitwise as flipping it first.
  const flip = training && o.hflip && horizontalFlipCoin(rng);
  const pixelBoxes = denormalizeBoxes(flip ? horizontalFlipBoxes(boxes) : boxes, height, width);
  const { image: out, imageInfo } = resizeAndCropImage(img, rng, {
    desiredSize: o.desired,
    paddedSize: o.padded,
    augScaleMin: training ? o.scaleMin : 1,
    augScaleMax: training ? o.scaleMax : 1,
    flipLeftRight: flip,
    out: allocFloat32?.(o.padded[0] * o.padded[1] * img.channels),
  });
  const moved = resizeAndCropBoxes(
    pixelBoxes,
    [imageInfo[4], imageInfo[5]],
    [imageInfo[2], imageInfo[3]],
    [imageInfo[6], imageInfo[7]],
  );
  const keep = nonEmptyBoxIndices(moved);
  return {
    image: out.data as Float32Array,
    boxes: gatherRows(moved, keep, 4),
    classes: gatherRows(classes, keep),
    imageInfo,
    flipped: flip,
    keep,
  };
}

/**
 * Decodes `bytes` and applies the detection geometry of `o`; errors are ExampleDecodeErrors
 * naming the record.
 */
export async function parseDetectionGeometry(
  o: DetectionSettings,
  bytes: Uint8Array,
  ctx: ParserContext,
): Promise<DetectionGeometry> {
  const record: RecordContext = { file: ctx.where };
  const ex = await o.decoder.decode(bytes, record);
  const image = ex.image;
  if (!image) throw new ExampleDecodeError(record, 'image/encoded', 'image was not decoded');
  let boxes = ex.boxes;
  let classes = ex.classes;
  let objects = Array.from(classes, (_, i) => i);
  if (ctx.training && o.skipCrowd) {
    objects = ex.isCrowd.flatMap((crowd, i) => (crowd ? [] : [i]));
    boxes = gatherRows(boxes, objects, 4);
    classes = gatherRows(classes, objects);
  }
  try {
    const { keep, ...t } = transform(
      o,
      image,
      boxes,
      classes,
      ctx.training,
      ctx.rng,
      ctx.allocFloat32,
    );
    return { example: ex, ...t, kept: keep.map((k) => objects[k]) };
  } catch (err) {
    throw new ExampleDecodeError(record, undefined, (err as Error).message, { cause: err });
  }
}

/**
 * The evaluation geometry of one decoded image without an example (what `predict` feeds a
 * detector): normalised, resized into `desired` keeping the aspect ratio and zero-padded, as
 * {@link parseDetectionGeometry} does with `training` false.
 */
export function detectionEvalImage(
  o: DetectionSettings,
  image: Image,
): { image: Float32Array; imageInfo: Float32Array; padded: [number, number] } {
  // Without jitter the resize draws nothing that matters: any seed gives the same result.
  const t = transform(o, image, new Float32Array(0), new Int32Array(0), false, new Rng(0));
  return { image: t.image, imageInfo: t.imageInfo, padded: o.padded };
}

async function parseWith(
  o: DetectionSettings,
  bytes: Uint8Array,
  ctx: ParserContext,
): Promise<ParsedFeatures> {
  const g = await parseDetectionGeometry(o, bytes, ctx);
  return {
    image: { data: g.image, shape: [o.padded[0], o.padded[1], 3] },
    boxes: { data: g.boxes, shape: [g.classes.length, 4] },
    classes: { data: g.classes, shape: [g.classes.length] },
    image_info: { data: g.imageInfo, shape: [4, 2] },
  };
}

/** The detection parser for `options` ({@link DetectionParserOptions}); one per worker. */
export function createDetectionParser(options: unknown): ParserFn {
  const o = resolve(options);
  return (bytes, ctx) => parseWith(o, bytes, ctx);
}

/** A pipeline map reference to {@link createDetectionParser} with `options`. */
export function detectionParserRef(options: DetectionParserOptions): {
  module: string;
  factory: string;
  options: DetectionParserOptions;
} {
  resolve(options);
  return { module: import.meta.url, factory: 'createDetectionParser', options };
}
