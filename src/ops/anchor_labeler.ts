/**
 * Dense-detector anchor labelling as Model Garden's `AnchorLabeler`
 * (official/vision/ops/anchor.py `AnchorLabeler.label_anchors`), on typed arrays so that the input
 * parser runs it on the worker threads.
 *
 * IoU between every anchor and every ground-truth box; a {@link BoxMatcher} with thresholds
 * [unmatched_threshold, match_threshold], indicators [-1 negative, -2 ignored, 1 positive] and
 * force-matching (each box claims its best anchor). Then, per anchor:
 *
 * | anchor   | cls_targets | box_targets                 | cls_weights | box_weights |
 * |----------|-------------|-----------------------------|-------------|-------------|
 * | positive | its class   | its box, encoded            | box weight  | box weight  |
 * | negative | -1          | zero box, encoded           | box weight  | 0           |
 * | ignored  | -1          | zero box, encoded           | 0           | 0           |
 *
 * ("box weight" is the matched box's `gt_weights` entry, 1 by default.) Targets are encoded with
 * Model Garden's FasterRcnnBoxCoder (its 1e-8 epsilon, so a zero box encodes to finite numbers)
 * and the optional box coder weights. With no ground truth, every anchor is negative with
 * class weight 1 (Model Garden forces a weight of 1 then). `numPositives` counts the positive
 * anchors (the `num_positives` label of Model Garden's legacy RetinaNet parser,
 * official/legacy/detection/dataloader/anchor.py; its RetinaNet task uses sum(box_weights) + 1).
 */
import {
  FASTER_RCNN_EPSILON,
  checkBoxCoderWeights,
  encodeBoxesInto,
  iouAt,
  type BoxCoderWeights,
} from './box_ops.js';
import { forEachAnchorRunNear, type Anchors } from './anchor.js';
import {
  BoxMatcher,
  emptyReduction,
  updateReduction,
  type SimilarityReduction,
} from './box_matcher.js';

/** Indicators of Model Garden's anchor labeller. */
export const NEGATIVE = -1;
export const IGNORED = -2;
export const POSITIVE = 1;

export interface AnchorLabelerOptions {
  /** IoU at or above which an anchor is positive (default 0.5). */
  matchThreshold?: number;
  /** IoU below which an anchor is negative; in between it is ignored (default 0.5). */
  unmatchedThreshold?: number;
  /** Scale the encoded [dy, dx, dh, dw] targets (Model Garden `box_coder_weights`; default none). */
  boxCoderWeights?: BoxCoderWeights | null;
}

/** Flat per-anchor labels, in the anchors' order. */
export interface AnchorLabels {
  /** [numAnchors] class of the matched box, -1 for negative and ignored anchors. */
  clsTargets: Int32Array;
  /** [numAnchors, 4] encoded [dy, dx, dh, dw] targets. */
  boxTargets: Float32Array;
  /** [numAnchors] 0 for ignored anchors. */
  clsWeights: Float32Array;
  /** [numAnchors] nonzero only for positive anchors. */
  boxWeights: Float32Array;
  /** Positive anchors. */
  numPositives: number;
  /** [numAnchors] the matcher's column per anchor (a box index; 0 when there are no boxes). */
  matchedColumns: Int32Array;
  /** [numAnchors] NEGATIVE, IGNORED or POSITIVE. */
  indicators: Int32Array;
}

function checkThreshold(field: string, v: number): number {
  if (!(Number.isFinite(v) && v >= 0 && v <= 1)) {
    throw new RangeError(`AnchorLabeler: ${field} must be a number in [0, 1], got ${v}`);
  }
  return v;
}

export class AnchorLabeler {
  private readonly matcher: BoxMatcher;
  private readonly weights: BoxCoderWeights | null;
  private readonly zeroCodes = new WeakMap<Anchors, Float32Array>();

  constructor(opts: AnchorLabelerOptions = {}) {
    const match = checkThreshold('match_threshold', opts.matchThreshold ?? 0.5);
    const unmatched = checkThreshold('unmatched_threshold', opts.unmatchedThreshold ?? 0.5);
    if (unmatched > match) {
      throw new RangeError(
        `AnchorLabeler: unmatched_threshold ${unmatched} is above match_threshold ${match}`,
      );
    }
    checkBoxCoderWeights('AnchorLabeler: box_coder_weights', opts.boxCoderWeights);
    this.weights = opts.boxCoderWeights ?? null;
    this.matcher = new BoxMatcher({
      thresholds: [unmatched, match],
      indicators: [NEGATIVE, IGNORED, POSITIVE],
      forceMatchForEachCol: true,
    });
  }

  /** Every anchor's code for the zero box (a non-positive anchor's target). */
  private zeroBoxCodes(anchors: Float32Array): Float32Array {
    const n = anchors.length / 4;
    const out = new Float32Array(n * 4);
    encodeBoxesInto(out, new Float32Array(n * 4), anchors, n, 4, this.weights, FASTER_RCNN_EPSILON);
    return out;
  }

  /** {@link zeroBoxCodes} of generated anchors, computed once per Anchors object. */
  private cachedZeroBoxCodes(anchors: Anchors): Float32Array {
    let codes = this.zeroCodes.get(anchors);
    if (!codes) {
      codes = this.zeroBoxCodes(anchors.boxes);
      this.zeroCodes.set(anchors, codes);
    }
    return codes;
  }

  /**
   * Labels `anchors` with ground-truth `boxes` (flat [N, 4], same pixel frame), their `classes`
   * ([N]) and optional per-box `gtWeights` ([N], default 1). `anchors` is either a flat [A, 4]
   * array, or the {@link Anchors} of generateAnchors, whose grid lets the IoUs be computed only
   * near each box (same result, far faster; its boxes must not change between calls).
   */
  labelAnchors(
    anchorsIn: Float32Array | Anchors,
    boxes: ArrayLike<number>,
    classes: ArrayLike<number>,
    gtWeights?: ArrayLike<number>,
  ): AnchorLabels {
    const anchors = anchorsIn instanceof Float32Array ? anchorsIn : anchorsIn.boxes;
    if (anchors.length % 4 !== 0) {
      throw new RangeError(`labelAnchors: anchors must be [A, 4], got ${anchors.length} values`);
    }
    if (boxes.length % 4 !== 0) {
      throw new RangeError(`labelAnchors: boxes must be [N, 4], got ${boxes.length} values`);
    }
    const numAnchors = anchors.length / 4;
    const n = boxes.length / 4;
    if (classes.length !== n || (gtWeights && gtWeights.length !== n)) {
      throw new RangeError(
        `labelAnchors: ${n} boxes but ${classes.length} classes` +
          (gtWeights ? ` and ${gtWeights.length} weights` : ''),
      );
    }
    const { matchedColumns, indicators } = this.matcher.matchReduced(
      anchorsIn instanceof Float32Array
        ? iouReduction(anchors, numAnchors, boxes, n)
        : iouReductionNear(anchorsIn, boxes, n),
    );
    const clsTargets = new Int32Array(numAnchors);
    const clsWeights = new Float32Array(numAnchors);
    const boxWeights = new Float32Array(numAnchors);
    // Non-positive anchors' targets encode the zero box: per anchor, the same every time.
    const boxTargets =
      anchorsIn instanceof Float32Array
        ? this.zeroBoxCodes(anchors)
        : this.cachedZeroBoxCodes(anchorsIn).slice();
    const target = new Float32Array(4);
    let numPositives = 0;
    for (let i = 0; i < numAnchors; i++) {
      const ind = indicators[i];
      const m = matchedColumns[i];
      // No boxes: Model Garden gathers from a single weight of 1.
      const w = n === 0 ? 1 : gtWeights ? gtWeights[m] : 1;
      clsWeights[i] = ind === IGNORED ? 0 : w;
      if (ind > 0) {
        clsTargets[i] = classes[m];
        boxWeights[i] = w;
        for (let c = 0; c < 4; c++) target[c] = boxes[4 * m + c];
        encodeBoxesInto(
          boxTargets.subarray(4 * i, 4 * i + 4),
          target,
          anchors.subarray(4 * i, 4 * i + 4),
          1,
          4,
          this.weights,
          FASTER_RCNN_EPSILON,
        );
        numPositives++;
      } else {
        clsTargets[i] = -1;
      }
    }
    return {
      clsTargets,
      boxTargets,
      clsWeights,
      boxWeights,
      numPositives,
      matchedColumns,
      indicators,
    };
  }
}

/** The matcher's reduction of the [anchors, boxes] IoU matrix, computed without storing it. */
function iouReduction(
  anchors: Float32Array,
  numAnchors: number,
  boxes: ArrayLike<number>,
  n: number,
): SimilarityReduction {
  const red = emptyReduction(numAnchors, n);
  const colMax = new Float32Array(n).fill(-Infinity);
  for (let i = 0; i < numAnchors; i++) {
    for (let j = 0; j < n; j++) updateReduction(red, colMax, i, j, iouAt(anchors, i, boxes, j));
  }
  return red;
}

/**
 * The same reduction visiting only the anchors near each box: every skipped IoU is 0, and 0
 * never beats the reduction's starting values (best 0 at column 0 / row 0, which is also what
 * tf.argmax gives for an all-zero row or column). Columns are visited in increasing order and,
 * within a column, anchors in increasing order, so first-maximum ties resolve as tf.argmax.
 */
function iouReductionNear(anchors: Anchors, boxes: ArrayLike<number>, n: number) {
  const red = emptyReduction(anchors.numAnchors, n);
  const { rowMax, rowArgmax, colArgmax } = red;
  rowMax.fill(0);
  const a = anchors.boxes;
  for (let j = 0; j < n; j++) {
    const b = 4 * j;
    let colMax = 0;
    forEachAnchorRunNear(
      anchors,
      boxes[b],
      boxes[b + 1],
      boxes[b + 2],
      boxes[b + 3],
      (first, end) => {
        for (let i = first; i < end; i++) {
          const v = iouAt(a, i, boxes, j);
          if (v > rowMax[i]) {
            rowMax[i] = v;
            rowArgmax[i] = j;
          }
          if (v > colMax) {
            colMax = v;
            colArgmax[j] = i;
          }
        }
      },
    );
  }
  return red;
}
