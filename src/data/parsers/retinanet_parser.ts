/**
 * Model Garden's RetinaNet parser (official/vision/dataloaders/retinanet_input.py
 * `Parser._parse_train_data` / `_parse_eval_data`, `resize_first` off, no aug_type / JPEG
 * augmentation) as a pipeline map function, so anchors are labelled on the input workers and the
 * compiled step sees fixed-size targets.
 *
 * The image and boxes go through the detection geometry (./detection_parser.ts: crowd skipping in
 * training, normalise, flip, resize_and_crop with scale jitter, pad to 2^max_level, boxes clipped
 * and emptied ones dropped); then Model Garden's anchors for the padded size
 * (src/ops/anchor.ts) are labelled against the boxes (src/ops/anchor_labeler.ts).
 *
 * Output features (per-level dicts of Model Garden become `<key>/<level>`; A anchors in all,
 * k = num_scales * len(aspect_ratios) per location, level l of size h_l x w_l):
 *   image            float32 [padded h, padded w, 3]
 *   image_info       float32 [4, 2]
 *   cls_targets/l    int32   [h_l, w_l, k]       class per anchor, -1 when not positive
 *   box_targets/l    float32 [h_l, w_l, 4k]      encoded [dy, dx, dh, dw]
 *   anchor_boxes/l   float32 [h_l, w_l, 4k]      the anchors, in output pixels
 *   cls_weights      float32 [A]                 0 for ignored anchors
 *   box_weights      float32 [A]                 1 for positive anchors
 *   num_positives    float32 []                  positive anchors (Model Garden's legacy parser)
 * and in evaluation Model Garden's `groundtruths`, padded or clipped to `max_num_instances`:
 *   groundtruths/source_id       int32 []  (process_source_id: the id as a number)
 *   groundtruths/height, /width  int32 []  original image size
 *   groundtruths/num_detections  int32 [1] objects in the record
 *   groundtruths/image_info      float32 [4, 2]
 *   groundtruths/boxes           float32 [max, 4] original pixels, all objects, padding -1
 *   groundtruths/classes         int32 [max], padding -1
 *   groundtruths/areas           float32 [max], padding -1
 *   groundtruths/is_crowds       int32 [max], padding 0
 */
import { ExampleDecodeError } from '../decoders/errors.js';
import type { DetectionExample } from '../decoders/detection.js';
import { generateAnchors, unpackLabels, type Anchors } from '../../ops/anchor.js';
import { AnchorLabeler } from '../../ops/anchor_labeler.js';
import { denormalizeBoxes, type BoxCoderWeights } from '../../ops/box_ops.js';
import type { Image } from '../ops/image.js';
import {
  DETECTION_OPTION_NAMES,
  detectionEvalImage,
  parseDetectionGeometry,
  readDetectionSettings,
  type DetectionParserOptions,
  type DetectionSettings,
} from './detection_parser.js';
import {
  OptionReader,
  type ParsedFeature,
  type ParsedFeatures,
  type ParserContext,
  type ParserFn,
} from './features.js';

/**
 * JSON options: the detection options plus Model Garden's anchor (configs/retinanet.py `Anchor`
 * and the model's `min_level`) and labelling fields, with its defaults.
 */
export interface RetinaNetParserOptions extends DetectionParserOptions {
  /** Default 3. */
  min_level?: number;
  /** Default 3. */
  num_scales?: number;
  /** Default [0.5, 1, 2]. */
  aspect_ratios?: number[];
  /** Default 4. */
  anchor_size?: number;
  /** Default 0.5. */
  match_threshold?: number;
  /** Default 0.5. */
  unmatched_threshold?: number;
  /** Default none (no scaling). */
  box_coder_weights?: [number, number, number, number] | null;
  /** Groundtruths are padded or clipped to this many objects in evaluation (default 100). */
  max_num_instances?: number;
  /** Only true (the default) is supported: the image keeps its aspect ratio. */
  keep_aspect_ratio?: boolean;
}

const WHAT = 'retinanet parser options';

const RETINANET_OPTION_NAMES = [
  ...DETECTION_OPTION_NAMES,
  'min_level',
  'num_scales',
  'aspect_ratios',
  'anchor_size',
  'match_threshold',
  'unmatched_threshold',
  'box_coder_weights',
  'max_num_instances',
  'keep_aspect_ratio',
];

interface Resolved {
  det: DetectionSettings;
  anchors: Anchors;
  labeler: AnchorLabeler;
  maxNumInstances: number;
}

function resolve(options: unknown): Resolved {
  const r = new OptionReader(WHAT, options);
  r.onlyKnown(RETINANET_OPTION_NAMES);
  const det = readDetectionSettings(r);
  const int = (v: number) => Number.isInteger(v);
  const minLevel = r.number(
    'min_level',
    3,
    (v) => int(v) && v >= 0 && v <= det.maxLevel,
    `an integer in [0, max_level ${det.maxLevel}]`,
  );
  const numScales = r.number('num_scales', 3, (v) => int(v) && v >= 1, 'an integer >= 1');
  const aspectRatios = r.numbers('aspect_ratios', [0.5, 1.0, 2.0]) as number[];
  const anchorSize = r.number('anchor_size', 4.0, (v) => v > 0, 'a positive number');
  const weights = r.numbers('box_coder_weights', undefined, 4);
  if (!r.bool('keep_aspect_ratio', true)) {
    throw new TypeError(
      `${WHAT}.keep_aspect_ratio: false is not supported (resize_and_crop keeps the aspect ratio)`,
    );
  }
  const maxNumInstances = r.number(
    'max_num_instances',
    100,
    (v) => int(v) && v >= 1,
    'an integer >= 1',
  );
  const matchThreshold = r.number('match_threshold', 0.5);
  const unmatchedThreshold = r.number('unmatched_threshold', 0.5);
  try {
    const anchors = generateAnchors({
      minLevel,
      maxLevel: det.maxLevel,
      numScales,
      aspectRatios,
      anchorSize,
      imageSize: det.padded,
    });
    const labeler = new AnchorLabeler({
      matchThreshold,
      unmatchedThreshold,
      boxCoderWeights: (weights as BoxCoderWeights | undefined) ?? null,
    });
    return { det, anchors, labeler, maxNumInstances };
  } catch (err) {
    throw new RangeError(`${WHAT}: ${(err as Error).message}`, { cause: err });
  }
}

/** `<name>/<level>` features of a flat per-anchor array with `depth` values per anchor. */
function perLevel(
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

/** The first `size` rows of `values` (rows of `row` numbers), padded with `fill`. */
export function clipOrPad<T extends Float32Array | Int32Array>(
  values: T,
  row: number,
  size: number,
  fill: number,
): ParsedFeature {
  const ctor = values.constructor as new (length: number) => T;
  const out = new ctor(size * row).fill(fill);
  out.set(values.subarray(0, Math.min(values.length, size * row)));
  return { data: out, shape: row === 1 ? [size] : [size, row] };
}

/** Model Garden's process_source_id: the string id as a number (int32 here). */
export function sourceIdNumber(ex: DetectionExample, where: string): number {
  const id = ex.sourceId.trim();
  const v = id === '' ? -1 : /^[-+]?\d+$/.test(id) ? Number(id) : NaN;
  if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
    throw new ExampleDecodeError(
      { file: where },
      'image/source_id',
      `source id ${JSON.stringify(ex.sourceId)} is not an int32 integer`,
    );
  }
  return v;
}

/** Model Garden's evaluation `groundtruths`, padded or clipped to `max` objects. */
export function groundtruths(
  ex: DetectionExample,
  imageInfo: Float32Array,
  max: number,
  where: string,
) {
  const n = ex.numInstances;
  return {
    'groundtruths/source_id': { data: Int32Array.of(sourceIdNumber(ex, where)), shape: [] },
    'groundtruths/height': { data: Int32Array.of(ex.height), shape: [] },
    'groundtruths/width': { data: Int32Array.of(ex.width), shape: [] },
    'groundtruths/num_detections': { data: Int32Array.of(n), shape: [1] },
    'groundtruths/image_info': { data: imageInfo.slice(), shape: [4, 2] },
    'groundtruths/boxes': clipOrPad(denormalizeBoxes(ex.boxes, ex.height, ex.width), 4, max, -1),
    'groundtruths/classes': clipOrPad(ex.classes, 1, max, -1),
    'groundtruths/areas': clipOrPad(ex.areas, 1, max, -1),
    'groundtruths/is_crowds': clipOrPad(Int32Array.from(ex.isCrowd, Number), 1, max, 0),
  } satisfies ParsedFeatures;
}

async function parseWith(
  o: Resolved,
  bytes: Uint8Array,
  ctx: ParserContext,
): Promise<ParsedFeatures> {
  const g = await parseDetectionGeometry(o.det, bytes, ctx);
  const labels = o.labeler.labelAnchors(o.anchors, g.boxes, g.classes);
  const [h, w] = o.det.padded;
  const out: ParsedFeatures = {
    image: { data: g.image, shape: [h, w, 3] },
    image_info: { data: g.imageInfo, shape: [4, 2] },
  };
  perLevel(out, 'cls_targets', labels.clsTargets, o.anchors, 1);
  perLevel(out, 'box_targets', labels.boxTargets, o.anchors, 4);
  // Copied: the anchors are shared by every example, and a batch may take over its arrays.
  perLevel(out, 'anchor_boxes', o.anchors.boxes, o.anchors, 4, true);
  out.cls_weights = { data: labels.clsWeights, shape: [o.anchors.numAnchors] };
  out.box_weights = { data: labels.boxWeights, shape: [o.anchors.numAnchors] };
  out.num_positives = { data: Float32Array.of(labels.numPositives), shape: [] };
  if (!ctx.training)
    Object.assign(out, groundtruths(g.example, g.imageInfo, o.maxNumInstances, ctx.where));
  return out;
}

/** The RetinaNet parser for `options` ({@link RetinaNetParserOptions}); one per worker. */
export function createRetinaNetParser(options: unknown): ParserFn {
  const o = resolve(options);
  return (bytes, ctx) => parseWith(o, bytes, ctx);
}

/**
 * The RetinaNet parser's evaluation input for one decoded image (no tf.Example, no labels):
 * `image` [padded h, padded w, 3] normalised and `image_info` [4, 2], through the same geometry.
 */
export function retinaNetEvalImage(
  options: RetinaNetParserOptions,
  image: Image,
): { image: Float32Array; imageInfo: Float32Array; padded: [number, number] } {
  return detectionEvalImage(resolve(options).det, image);
}

/** A pipeline map reference to {@link createRetinaNetParser} with `options`. */
export function retinaNetParserRef(options: RetinaNetParserOptions): {
  module: string;
  factory: string;
  options: RetinaNetParserOptions;
} {
  resolve(options);
  return { module: import.meta.url, factory: 'createRetinaNetParser', options };
}
