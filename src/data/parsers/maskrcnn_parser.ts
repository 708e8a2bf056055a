/**
 * Model Garden's Mask R-CNN parser (official/vision/dataloaders/maskrcnn_input.py
 * `_parse_train_data` / `_parse_eval_data`, no aug_type, no vertical flip, outer_boxes_scale 1)
 * as a pipeline map function, so RPN targets and mask crops are made on the input workers.
 *
 * The image and boxes go through the detection geometry (./detection_parser.ts: crowd skipping in
 * training, normalise, flip, resize_and_crop with scale jitter, pad to 2^max_level, emptied boxes
 * dropped); the anchors of the padded size are labelled by MG's RpnAnchorLabeler
 * (src/ops/rpn_anchor_labeler.ts, sampling from the example's stream). With `include_mask`, each
 * kept object's mask (flipped with the image) is cropped to its box mapped back to the original
 * image ((box + offset) / scale, normalised) at `mask_crop_size` (bilinear crop_and_resize).
 *
 * Output features (k = num_scales · len(aspect_ratios), M = max_num_instances, S = mask_crop_size):
 *   image                  float32 [padded h, padded w, 3]
 *   image_info             float32 [4, 2]
 *   rpn_score_targets/l    int32   [h_l, w_l, k]   1 / 0 sampled, −1 not sampled
 *   rpn_box_targets/l      float32 [h_l, w_l, 4k]
 *   gt_boxes               float32 [M, 4] output pixels, padding −1
 *   gt_classes             int32   [M], padding −1
 *   gt_masks               float32 [M, S, S], padding −1 (with include_mask)
 * and in evaluation the RetinaNet parser's `groundtruths/*`, plus `groundtruths/masks`
 * [M, S, S] (each mask cropped to its original box; with include_mask).
 */
import type { DetectionExample } from '../decoders/detection.js';
import { TfExampleDecoder } from '../decoders/detection.js';
import type { Anchors } from '../../ops/anchor.js';
import { cropAndResizeMask } from '../../ops/masks/crop_and_resize.js';
import { RpnAnchorLabeler } from '../../ops/rpn_anchor_labeler.js';
import {
  ANCHOR_OPTION_NAMES,
  DETECTION_OPTION_NAMES,
  parseDetectionGeometry,
  perLevelFeatures,
  readAnchorSettings,
  readDetectionSettings,
  type DetectionParserOptions,
  type DetectionSettings,
} from './detection_parser.js';
import {
  OptionReader,
  type ParsedFeatures,
  type ParserContext,
  type ParserFn,
} from './features.js';
import { clipOrPad, groundtruths } from './retinanet_parser.js';

/** JSON options: the detection options plus MG's Mask R-CNN parser and anchor fields. */
export interface MaskRCNNParserOptions extends DetectionParserOptions {
  min_level?: number;
  num_scales?: number;
  aspect_ratios?: number[];
  anchor_size?: number;
  rpn_match_threshold?: number;
  rpn_unmatched_threshold?: number;
  rpn_batch_size_per_im?: number;
  rpn_fg_fraction?: number;
  max_num_instances?: number;
  include_mask?: boolean;
  mask_crop_size?: number;
}

const WHAT = 'maskrcnn parser options';

const OPTION_NAMES = [
  ...DETECTION_OPTION_NAMES,
  ...ANCHOR_OPTION_NAMES,
  'rpn_match_threshold',
  'rpn_unmatched_threshold',
  'rpn_batch_size_per_im',
  'rpn_fg_fraction',
  'include_mask',
  'mask_crop_size',
];

interface Resolved {
  det: DetectionSettings;
  anchors: Anchors;
  labeler: RpnAnchorLabeler;
  maxNumInstances: number;
  includeMask: boolean;
  maskCropSize: number;
}

function resolve(options: unknown): Resolved {
  const r = new OptionReader(WHAT, options);
  r.onlyKnown(OPTION_NAMES);
  const det = readDetectionSettings(r);
  const { anchors, maxNumInstances } = readAnchorSettings(r, det, {
    minLevel: 2,
    numScales: 1,
    anchorSize: 8.0,
  });
  const int = (v: number) => Number.isInteger(v);
  const includeMask = r.bool('include_mask', true);
  const maskCropSize = r.number('mask_crop_size', 112, (v) => int(v) && v >= 1, 'an integer >= 1');
  det.decoder = new TfExampleDecoder({ includeMask });
  try {
    const labeler = new RpnAnchorLabeler({
      matchThreshold: r.number('rpn_match_threshold', 0.7),
      unmatchedThreshold: r.number('rpn_unmatched_threshold', 0.3),
      batchSizePerIm: r.number('rpn_batch_size_per_im', 256),
      fgFraction: r.number('rpn_fg_fraction', 0.5),
    });
    return { det, anchors, labeler, maxNumInstances, includeMask, maskCropSize };
  } catch (err) {
    throw new RangeError(`${WHAT}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Masks of `objects` cropped to `boxes` ([N, 4] normalised to the original image) at `size`,
 * each flipped left-right first when `flip`; [max, size, size] padded with −1.
 */
export function cropInstanceMasks(
  ex: DetectionExample,
  objects: readonly number[],
  boxes: ArrayLike<number>,
  flip: boolean,
  size: number,
  max: number,
): Float32Array {
  const { height: h, width: w } = ex;
  const masks = ex.masks;
  if (!masks) throw new Error('the example has no masks (image/object/mask)');
  const out = new Float32Array(max * size * size).fill(-1);
  const plane = new Float32Array(h * w);
  for (let j = 0; j < Math.min(objects.length, max); j++) {
    const src = masks.subarray(objects[j] * h * w, (objects[j] + 1) * h * w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) plane[y * w + x] = src[y * w + (flip ? w - 1 - x : x)];
    }
    const box = Array.from({ length: 4 }, (_, k) => boxes[4 * j + k]);
    out.set(cropAndResizeMask(plane, h, w, box, size), j * size * size);
  }
  return out;
}

async function parseWith(
  o: Resolved,
  bytes: Uint8Array,
  ctx: ParserContext,
): Promise<ParsedFeatures> {
  const g = await parseDetectionGeometry(o.det, bytes, ctx);
  const [h, w] = o.det.padded;
  const max = o.maxNumInstances;
  const s = o.maskCropSize;
  const out: ParsedFeatures = {
    image: { data: g.image, shape: [h, w, 3] },
    image_info: { data: g.imageInfo, shape: [4, 2] },
  };
  if (!ctx.training) {
    Object.assign(out, groundtruths(g.example, g.imageInfo, max, ctx.where));
    if (o.includeMask) {
      const all = Array.from(g.example.classes, (_, i) => i);
      const masks = cropInstanceMasks(g.example, all, g.example.boxes, false, s, max);
      out['groundtruths/masks'] = { data: masks, shape: [max, s, s] };
    }
    return out;
  }
  const labels = o.labeler.labelAnchors(o.anchors, g.boxes, g.classes, ctx.rng);
  perLevelFeatures(out, 'rpn_score_targets', labels.scoreTargets, o.anchors, 1);
  perLevelFeatures(out, 'rpn_box_targets', labels.boxTargets, o.anchors, 4);
  out.gt_boxes = clipOrPad(g.boxes, 4, max, -1);
  out.gt_classes = clipOrPad(g.classes, 1, max, -1);
  if (o.includeMask) {
    // MG: (box + offset) / scale, normalised by the original image size.
    const info = g.imageInfo;
    const [oh, ow, sy, sx, dy, dx] = [info[0], info[1], info[4], info[5], info[6], info[7]];
    const n = g.classes.length;
    const boxes = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) {
      boxes[4 * i] = (g.boxes[4 * i] + dy) / sy / oh;
      boxes[4 * i + 1] = (g.boxes[4 * i + 1] + dx) / sx / ow;
      boxes[4 * i + 2] = (g.boxes[4 * i + 2] + dy) / sy / oh;
      boxes[4 * i + 3] = (g.boxes[4 * i + 3] + dx) / sx / ow;
    }
    const masks = cropInstanceMasks(g.example, g.kept, boxes, g.flipped, s, max);
    out.gt_masks = { data: masks, shape: [max, s, s] };
  }
  return out;
}

/** The Mask R-CNN parser for `options` ({@link MaskRCNNParserOptions}); one per worker. */
export function createMaskRCNNParser(options: unknown): ParserFn {
  const o = resolve(options);
  return (bytes, ctx) => parseWith(o, bytes, ctx);
}

/** A pipeline map reference to {@link createMaskRCNNParser} with `options`. */
export function maskRCNNParserRef(options: MaskRCNNParserOptions): {
  module: string;
  factory: string;
  options: MaskRCNNParserOptions;
} {
  resolve(options);
  return { module: import.meta.url, factory: 'createMaskRCNNParser', options };
}
