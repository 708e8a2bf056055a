/**
 * Model Garden's classification parser (official/vision/dataloaders/classification_input.py,
 * `Parser._parse_train_image` / `_parse_eval_image`) as a pipeline map function: one serialized
 * tf.Example in, a normalised float32 HWC image and its label out.
 *
 * Training, in Model Garden's order (each step optional as its DataConfig field says):
 *   decode → Inception random crop (`aug_crop`, area `crop_area_range`, aspect [3/4, 4/3]; the
 *   0.875 center crop when the sampler returns the whole image) → random left-right flip
 *   (`aug_rand_hflip`) → colour jitter (`color_jitter`) → resize to `output_size`
 *   (`tf_resize_method`) → RandAugment / AutoAugment (`aug_type`) → normalise with
 *   MEAN_RGB / STDDEV_RGB → random erasing (`random_erasing`).
 * Evaluation: decode → center crop of `center_crop_fraction` (when `aug_crop`) → resize →
 * normalise.
 *
 * Random draws come only from the context's stream, in the order of the steps above, so an
 * example parses identically whichever worker runs it.
 *
 * Model Garden's `decode_jpeg_only` only selects TF's fused decode-and-crop JPEG kernel, which
 * gives the pixels of decoding then cropping; here every format sharp reads (JPEG, PNG, ...) is
 * decoded, then cropped. `dtype` is not a parser option: images are float32 and the trainer's
 * mixed-precision policy decides compute precision.
 *
 * Output features: `image` float32 [h, w, num_channels]; `label` int32 [] (the class index; with
 * num_classes given a record without a label, or with one outside [0, num_classes), is an error
 * naming the record; without it, -1 stands for none, Model Garden's default), or with `is_multilabel`
 * float32 [num_classes] counting each listed class (Model Garden's sum of one-hots).
 */
import { ExampleDecodeError, type RecordContext } from '../decoders/errors.js';
import { ClassificationDecoder } from '../decoders/classification.js';
import { decodeImage } from '../decoders/image.js';
import { MEAN_RGB, STDDEV_RGB } from '../in_memory.js';
import {
  AUGMENT_OPS,
  autoAugment,
  randAugment,
  type AugmentOpName,
  type AutoAugmentOptions,
  type RandAugmentOptions,
} from '../ops/autoaugment.js';
import { colorJitter } from '../ops/color_jitter.js';
import {
  CENTER_CROP_FRACTION,
  centerCropImage,
  centerCropWindow,
  inceptionCrop,
  inceptionCropWindow,
} from '../ops/crop.js';
import { randomErasing, type RandomErasingOptions } from '../ops/erase.js';
import { horizontalFlipCoin, randomHorizontalFlip } from '../ops/flip.js';
import type { Image } from '../ops/image.js';
import { normalizeImage } from '../ops/normalize.js';
import { cropFlipResizeBilinear, resizeImage, type ResizeMethod } from '../ops/resize.js';
import type { Rng } from '../../core/random.js';
import {
  OptionReader,
  type ParsedFeatures,
  type ParserContext,
  type ParserFn,
} from './features.js';

/**
 * JSON options of the classification parser: the DataConfig fields of Model Garden's
 * `configs/image_classification.py` DataConfig that the parser reads (same names and defaults),
 * plus the output geometry and the normalisation constants.
 */
export interface ClassificationParserOptions {
  /** [height, width] of the output image (the model's input size). */
  output_size: [number, number];
  /** 3 (RGB, default) or 1 (grey: `mean` and `stddev` must then have one value). */
  num_channels?: number;
  /** Needed with `is_multilabel`; when given, single labels are checked against it. */
  num_classes?: number;
  image_field_key?: string;
  label_field_key?: string;
  is_multilabel?: boolean;
  aug_rand_hflip?: boolean;
  aug_crop?: boolean | null;
  crop_area_range?: [number, number] | null;
  center_crop_fraction?: number | null;
  /** Model Garden's Augmentation oneOf: `{type: 'randaug' | 'autoaug' | null, randaug, autoaug}`. */
  aug_type?: AugTypeOptions | null;
  color_jitter?: number;
  random_erasing?: RandomErasingFields | null;
  decode_jpeg_only?: boolean;
  three_augment?: boolean;
  tf_resize_method?: string;
  /** Per-channel offset on 0..255. Default MEAN_RGB (RGB only). */
  mean?: number[];
  /** Per-channel divisor on 0..255. Default STDDEV_RGB (RGB only). */
  stddev?: number[];
}

/** configs/common.py Augmentation, as it arrives in JSON. */
export interface AugTypeOptions {
  type: 'randaug' | 'autoaug' | null;
  randaug?: {
    num_layers?: number;
    magnitude?: number;
    cutout_const?: number;
    translate_const?: number;
    magnitude_std?: number;
    prob_to_apply?: number | null;
    exclude_ops?: string[];
  };
  autoaug?: { augmentation_name?: string; cutout_const?: number; translate_const?: number };
}

/** configs/common.py RandomErasing fields. */
export interface RandomErasingFields {
  probability?: number;
  min_area?: number;
  max_area?: number;
  min_aspect?: number;
}

const WHAT = 'classification parser options';

const KNOWN_OPTIONS = [
  'output_size',
  'num_channels',
  'num_classes',
  'image_field_key',
  'label_field_key',
  'is_multilabel',
  'aug_rand_hflip',
  'aug_crop',
  'crop_area_range',
  'center_crop_fraction',
  'aug_type',
  'color_jitter',
  'random_erasing',
  'decode_jpeg_only',
  'three_augment',
  'tf_resize_method',
  'mean',
  'stddev',
];

export type Augmenter = (image: Image, rng: Rng) => Image;

/** The options checked and resolved to what the parse steps use. */
interface ResolvedOptions {
  /** Buffers of decoded images, free for the next decode (this parser instance's). */
  scratch: Uint8Array[];
  height: number;
  width: number;
  channels: 1 | 3;
  numClasses: number | undefined;
  decoder: ClassificationDecoder;
  hflip: boolean;
  crop: boolean;
  cropAreaRange: [number, number];
  centerCropFraction: number;
  colorJitter: number;
  augmenter: Augmenter | null;
  erasing: RandomErasingOptions | null;
  resizeMethod: ResizeMethod;
  mean: readonly number[];
  stddev: readonly number[];
}

/** Model Garden's Augmentation oneOf as an augmenter; errors name `${what}.aug_type...`. */
export function resolveAugmenter(
  aug: Record<string, unknown> | undefined,
  what = WHAT,
): Augmenter | null {
  if (!aug) return null;
  const type = aug.type ?? null;
  if (type === null) return null;
  if (type === 'randaug') {
    const r = new OptionReader(`${what}.aug_type.randaug`, aug.randaug ?? {});
    const exclude = r.raw('exclude_ops') ?? [];
    if (
      !Array.isArray(exclude) ||
      !exclude.every((op) => (AUGMENT_OPS as readonly string[]).includes(op as string))
    ) {
      throw new TypeError(
        `${what}.aug_type.randaug.exclude_ops must list operations among ${AUGMENT_OPS.join(', ')}, ` +
          `got ${JSON.stringify(exclude)}`,
      );
    }
    const probToApply = r.raw('prob_to_apply');
    // Model Garden's Parser passes these six fields to augment.RandAugment (not magnitude_std).
    const opts: RandAugmentOptions = {
      numLayers: r.number('num_layers', 2, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0'),
      magnitude: r.number('magnitude', 10, (v) => v >= 0 && v <= 10, 'a number in [0, 10]'),
      cutoutConst: r.number('cutout_const', 40),
      translateConst: r.number('translate_const', 10),
      probToApply:
        probToApply === undefined
          ? undefined
          : r.number('prob_to_apply', 1, (v) => v >= 0 && v <= 1, 'a number in [0, 1]'),
      excludeOps: exclude as AugmentOpName[],
    };
    return (image, rng) => randAugment(image, rng, opts);
  }
  if (type === 'autoaug') {
    const r = new OptionReader(`${what}.aug_type.autoaug`, aug.autoaug ?? {});
    const name = r.string('augmentation_name', 'v0');
    if (name !== 'v0') {
      throw new RangeError(
        `${what}.aug_type.autoaug.augmentation_name '${name}' is not available (only 'v0')`,
      );
    }
    const opts: AutoAugmentOptions = {
      cutoutConst: r.number('cutout_const', 100),
      translateConst: r.number('translate_const', 250),
    };
    return (image, rng) => autoAugment(image, rng, opts);
  }
  throw new RangeError(
    `${what}.aug_type.type must be 'randaug', 'autoaug' or null, got ${JSON.stringify(type)}`,
  );
}

function resolveErasing(fields: Record<string, unknown> | undefined): RandomErasingOptions | null {
  if (!fields) return null;
  const r = new OptionReader(`${WHAT}.random_erasing`, fields);
  r.onlyKnown(['probability', 'min_area', 'max_area', 'min_aspect']);
  // configs/common.py RandomErasing defaults.
  return {
    probability: r.number('probability', 0.25),
    minArea: r.number('min_area', 0.02),
    maxArea: r.number('max_area', 1 / 3),
    minAspect: r.number('min_aspect', 0.3),
  };
}

function resolveOptions(options: unknown): ResolvedOptions {
  const r = new OptionReader(WHAT, options);
  r.onlyKnown(KNOWN_OPTIONS);
  const size = r.numbers('output_size', undefined, 2);
  if (!size || !size.every((v) => Number.isInteger(v) && v > 0)) {
    throw new TypeError(
      `${WHAT}.output_size must be [height, width] positive integers, got ` +
        JSON.stringify(r.raw('output_size')),
    );
  }
  const channels = r.number('num_channels', 3, (v) => v === 1 || v === 3, '1 or 3') as 1 | 3;
  const isMultilabel = r.bool('is_multilabel', false);
  const numClassesRaw = r.raw('num_classes');
  const numClasses =
    numClassesRaw === undefined
      ? undefined
      : r.number('num_classes', 0, (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  if (isMultilabel && numClasses === undefined) {
    throw new TypeError(`${WHAT}.num_classes is required with is_multilabel`);
  }
  if (r.bool('three_augment', false)) {
    throw new RangeError(
      `${WHAT}.three_augment: the DeiT-III three-augment policy is not available; set it to false`,
    );
  }
  r.bool('decode_jpeg_only', true); // type-checked only; see the module comment
  const method = r.string('tf_resize_method', 'bilinear');
  if (method !== 'bilinear' && method !== 'nearest') {
    throw new RangeError(
      `${WHAT}.tf_resize_method '${method}' is not available (bilinear or nearest)`,
    );
  }
  const cropAreaRange = (r.numbers('crop_area_range', [0.08, 1.0], 2) ?? [0.08, 1.0]) as [
    number,
    number,
  ];
  if (!(cropAreaRange[0] > 0 && cropAreaRange[0] <= cropAreaRange[1] && cropAreaRange[1] <= 1)) {
    throw new RangeError(
      `${WHAT}.crop_area_range must be [min, max] with 0 < min <= max <= 1, got ` +
        `[${cropAreaRange.join(', ')}]`,
    );
  }
  const centerCropFraction = r.number(
    'center_crop_fraction',
    CENTER_CROP_FRACTION,
    (v) => v > 0 && v <= 1,
    'a number in (0, 1]',
  );
  const jitter = r.number('color_jitter', 0, (v) => v >= 0, 'a number >= 0');
  const augmenter = resolveAugmenter(r.object('aug_type'));
  if (channels !== 3 && (augmenter || jitter > 0)) {
    throw new RangeError(
      `${WHAT}: aug_type and color_jitter need RGB images, num_channels is ${channels}`,
    );
  }
  const mean = r.numbers('mean', channels === 3 ? [...MEAN_RGB] : undefined);
  const stddev = r.numbers('stddev', channels === 3 ? [...STDDEV_RGB] : undefined);
  if (!mean || !stddev) {
    throw new TypeError(`${WHAT}: mean and stddev are required for ${channels}-channel images`);
  }
  for (const [field, v] of [
    ['mean', mean],
    ['stddev', stddev],
  ] as const) {
    if (v.length !== 1 && v.length !== channels) {
      throw new RangeError(
        `${WHAT}.${field} has ${v.length} values; give 1 or ${channels} (one per channel)`,
      );
    }
  }
  if (stddev.some((v) => v === 0)) throw new RangeError(`${WHAT}.stddev must be non-zero`);
  return {
    height: size[0],
    width: size[1],
    channels,
    numClasses,
    scratch: [],
    decoder: new ClassificationDecoder({
      imageKey: r.string('image_field_key', 'image/encoded'),
      labelKey: r.string('label_field_key', 'image/class/label'),
      isMultilabel,
    }),
    hflip: r.bool('aug_rand_hflip', true),
    crop: r.bool('aug_crop', true),
    cropAreaRange,
    centerCropFraction,
    colorJitter: jitter,
    augmenter,
    erasing: resolveErasing(r.object('random_erasing')),
    resizeMethod: method,
    mean,
    stddev,
  };
}

/** `_parse_train_image` after decoding: a uint8 HWC image in, normalised float32 out. */
function trainImage(o: ResolvedOptions, decoded: Image, rng: Rng, out?: OutputArray): Image {
  if (o.colorJitter === 0 && o.resizeMethod === 'bilinear') {
    // Fast path, bitwise equal to the steps below: crop, flip, resize (and normalise when no
    // augmenter runs in between) in one pass, drawing the same random numbers in the same order.
    const window = o.crop
      ? inceptionCropWindow(decoded.height, decoded.width, rng, { areaRange: o.cropAreaRange })
      : undefined;
    const flip = o.hflip && horizontalFlipCoin(rng);
    const normalize = o.augmenter ? undefined : { mean: o.mean, stddev: o.stddev };
    let image: Image = cropFlipResizeBilinear(decoded, o.height, o.width, {
      window,
      flipLeftRight: flip,
      normalize,
      // The pooled array only when this result is the returned feature.
      out: o.augmenter || o.erasing ? undefined : out?.(o.height * o.width * o.channels),
    });
    if (o.augmenter) {
      image = normalizeImage(o.augmenter(image, rng), { mean: o.mean, stddev: o.stddev });
    }
    if (o.erasing) image = randomErasing(image, rng, o.erasing);
    return image;
  }
  let image = decoded;
  if (o.crop) image = inceptionCrop(image, rng, { areaRange: o.cropAreaRange });
  if (o.hflip) image = randomHorizontalFlip(rng, image).image;
  if (o.colorJitter > 0) {
    const m = o.colorJitter;
    image = colorJitter(image, rng, { brightness: m, contrast: m, saturation: m });
  }
  image = resizeImage(image, o.height, o.width, o.resizeMethod);
  if (o.augmenter) image = o.augmenter(image, rng);
  image = normalizeImage(image, { mean: o.mean, stddev: o.stddev });
  if (o.erasing) image = randomErasing(image, rng, o.erasing);
  return image;
}

/** `_parse_eval_image` after decoding. */
function evalImage(o: ResolvedOptions, decoded: Image, out?: OutputArray): Image {
  if (o.resizeMethod === 'bilinear') {
    // Fast path, bitwise equal to the steps below.
    const window = o.crop
      ? centerCropWindow(decoded.height, decoded.width, o.centerCropFraction)
      : undefined;
    return cropFlipResizeBilinear(decoded, o.height, o.width, {
      window,
      normalize: { mean: o.mean, stddev: o.stddev },
      out: out?.(o.height * o.width * o.channels),
    });
  }
  let image = decoded;
  if (o.crop) image = centerCropImage(image, o.centerCropFraction);
  image = resizeImage(image, o.height, o.width, o.resizeMethod);
  return normalizeImage(image, { mean: o.mean, stddev: o.stddev });
}

function labelFeature(o: ResolvedOptions, labels: number[], record: RecordContext) {
  const key = o.decoder.labelKey;
  if (o.decoder.isMultilabel) {
    const n = o.numClasses as number;
    const hot = new Float32Array(n);
    // tf.one_hot gives an all-zero row for an index outside [0, n); the sum skips it likewise.
    for (const l of labels) if (l >= 0 && l < n) hot[l] += 1;
    return { data: hot, shape: [n] };
  }
  const label = labels.length ? labels[0] : -1;
  // With num_classes known, every example must carry a class: a missing label (the decoder's
  // default -1) or a negative one would give an all-zero one-hot target and a zero loss.
  if (o.numClasses !== undefined && !(label >= 0 && label < o.numClasses)) {
    throw new ExampleDecodeError(
      record,
      key,
      label === -1
        ? `no label (the feature is missing or -1); num_classes ${o.numClasses} needs one in [0, ${o.numClasses})`
        : `label ${label} is outside [0, ${o.numClasses}) (num_classes ${o.numClasses})`,
    );
  }
  return { data: Int32Array.of(label), shape: [] };
}

/**
 * Parses one serialized classification tf.Example (see the module comment). Errors name the
 * record (`ctx.where`) and, where there is one, the feature.
 */
async function parseWith(
  o: ResolvedOptions,
  bytes: Uint8Array,
  ctx: ParserContext,
): Promise<ParsedFeatures> {
  // describeRecord() prints a context with only `file` as that string, i.e. `ctx.where`.
  const record: RecordContext = { file: ctx.where };
  const { encoded, labels } = o.decoder.parse(bytes, record);
  if (encoded.length === 0) {
    throw new ExampleDecodeError(record, o.decoder.imageKey, 'no image bytes in the record');
  }
  // Decoded pixels are dead once the image is cropped and resized, so their buffers are reused:
  // a pool, as the maps of one worker interleave (see MapContext.allocFloat32 for why).
  const scratch = o.scratch.pop();
  let decoded: Image<Uint8Array> | undefined;
  try {
    decoded = await decodeImage(encoded, {
      channels: o.channels,
      record,
      key: o.decoder.imageKey,
      into: scratch,
    });
    const label = labelFeature(o, labels, record);
    let image: Image;
    try {
      image = ctx.training
        ? trainImage(o, decoded, ctx.rng, ctx.allocFloat32)
        : evalImage(o, decoded, ctx.allocFloat32);
      if (image.data.buffer === decoded.data.buffer) image = { ...image, data: image.data.slice() };
    } catch (err) {
      throw new ExampleDecodeError(
        record,
        o.decoder.imageKey,
        `${decoded.height}x${decoded.width} image: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return {
      image: { data: image.data, shape: [o.height, o.width, o.channels] },
      label,
    };
  } finally {
    const free = decoded && decoded.data.buffer !== scratch?.buffer ? decoded.data : scratch;
    // Only a buffer of its own (a small Buffer from sharp may share Node's pool slab).
    if (free && o.scratch.length < MAX_SCRATCH && free.byteLength === free.buffer.byteLength) {
      o.scratch.push(free);
    }
  }
}

/** Decoded-image buffers kept per parser instance: the maps one worker runs at once. */
const MAX_SCRATCH = 4;

type OutputArray = (length: number) => Float32Array;

/**
 * The classification parser for `options` (a {@link ClassificationParserOptions}, checked here
 * with errors naming the field). The pipeline calls this factory once per worker.
 */
export function createClassificationParser(options: unknown): ParserFn {
  const resolved = resolveOptions(options);
  return (bytes, ctx) => parseWith(resolved, bytes, ctx);
}

/** A pipeline map reference to {@link createClassificationParser} with `options`. */
export function classificationParserRef(options: ClassificationParserOptions): {
  module: string;
  factory: string;
  options: ClassificationParserOptions;
} {
  resolveOptions(options); // fail here, not in every worker
  return { module: import.meta.url, factory: 'createClassificationParser', options };
}
