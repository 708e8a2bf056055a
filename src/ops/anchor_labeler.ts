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
import { FASTER_RCNN_EPSILON, encodeBoxesInto, iouAt, type BoxCoderWeights } from './box_ops.js';
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

  constructor(opts: AnchorLabelerOptions = {}) {
    const match = checkThreshold('match_threshold', opts.matchThreshold ?? 0.5);
    const unmatched = checkThreshold('unmatched_threshold', opts.unmatchedThreshold ?? 0.5);
    if (unmatched > match) {
      throw new RangeError(
        `AnchorLabeler: unmatched_threshold ${unmatched} is above match_threshold ${match}`,
      );
    }
    const w = opts.boxCoderWeights ?? null;
    if (w && (w.length !== 4 || !w.every((x) => Number.isFinite(x) && x > 0))) {
      throw new RangeError(
        `AnchorLabeler: box_coder_weights must be 4 positive numbers, got [${w.join(', ')}]`,
      );
    }
    this.weights = w;
    this.matcher = new BoxMatcher({
      thresholds: [unmatched, match],
      indicators: [NEGATIVE, IGNORED, POSITIVE],
      forceMatchForEachCol: true,
    });
  }

  /**
   * Labels `anchors` (flat [A, 4]) with ground-truth `boxes` (flat [N, 4], same pixel frame),
   * their `classes` ([N]) and optional per-box `gtWeights` ([N], default 1).
   */
  labelAnchors(
    anchors: Float32Array,
    boxes: ArrayLike<number>,
    classes: ArrayLike<number>,
    gtWeights?: ArrayLike<number>,
  ): AnchorLabels {
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
      iouReduction(anchors, numAnchors, boxes, n),
    );
    const clsTargets = new Int32Array(numAnchors);
    const targetBoxes = new Float32Array(numAnchors * 4);
    const clsWeights = new Float32Array(numAnchors);
    const boxWeights = new Float32Array(numAnchors);
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
        for (let c = 0; c < 4; c++) targetBoxes[4 * i + c] = boxes[4 * m + c];
        numPositives++;
      } else {
        clsTargets[i] = -1;
      }
    }
    const boxTargets = new Float32Array(numAnchors * 4);
    encodeBoxesInto(
      boxTargets,
      targetBoxes,
      anchors,
      numAnchors,
      4,
      this.weights,
      FASTER_RCNN_EPSILON,
    );
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
