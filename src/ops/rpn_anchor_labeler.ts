/**
 * Model Garden's `RpnAnchorLabeler` (official/vision/ops/anchor.py), on typed arrays for the input
 * workers: anchors matched to GT boxes by IoU (positive ≥ `matchThreshold` 0.7, negative <
 * `unmatchedThreshold` 0.3, ignored between, each box force-matched to its best anchor); box
 * targets are the matched boxes encoded against positive anchors (FasterRcnnBoxCoder, no weights)
 * and 0 elsewhere; score targets are a random subset of `batchSizePerIm` anchors, at most
 * ⌊batchSizePerIm · fgFraction⌋ of them positive (1), the rest negative (0), all others −1
 * (`_get_rpn_samples` with the non-static BalancedPositiveNegativeSampler).
 */
import type { Rng } from '../core/random.js';
import type { Anchors } from './anchor.js';
import { AnchorLabeler, NEGATIVE, POSITIVE } from './anchor_labeler.js';

export interface RpnAnchorLabelerOptions {
  matchThreshold?: number;
  unmatchedThreshold?: number;
  batchSizePerIm?: number;
  fgFraction?: number;
}

export interface RpnLabels {
  /** [numAnchors] 1 sampled positive, 0 sampled negative, −1 not sampled. */
  scoreTargets: Int32Array;
  /** [numAnchors, 4] encoded targets of positive anchors, 0 elsewhere. */
  boxTargets: Float32Array;
}

/** Marks `k` of `candidates` chosen uniformly at random (partial Fisher–Yates) with `value`. */
function sampleInto(out: Int32Array, candidates: number[], k: number, value: number, rng: Rng) {
  const n = candidates.length;
  for (let i = 0; i < Math.min(k, n); i++) {
    const j = i + Math.floor(rng.uniform() * (n - i));
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
    out[candidates[i]] = value;
  }
}

export class RpnAnchorLabeler {
  private readonly labeler: AnchorLabeler;
  readonly batchSizePerIm: number;
  readonly fgFraction: number;

  constructor(opts: RpnAnchorLabelerOptions = {}) {
    this.labeler = new AnchorLabeler({
      matchThreshold: opts.matchThreshold ?? 0.7,
      unmatchedThreshold: opts.unmatchedThreshold ?? 0.3,
    });
    this.batchSizePerIm = opts.batchSizePerIm ?? 256;
    this.fgFraction = opts.fgFraction ?? 0.5;
    if (!Number.isInteger(this.batchSizePerIm) || this.batchSizePerIm < 1) {
      throw new RangeError(
        `parser.rpn_batch_size_per_im must be a positive integer, got ${this.batchSizePerIm}`,
      );
    }
    if (!(this.fgFraction >= 0 && this.fgFraction <= 1)) {
      throw new RangeError(`parser.rpn_fg_fraction must be in [0, 1], got ${this.fgFraction}`);
    }
  }

  labelAnchors(
    anchors: Float32Array | Anchors,
    boxes: ArrayLike<number>,
    classes: ArrayLike<number>,
    rng: Rng,
  ): RpnLabels {
    const l = this.labeler.labelAnchors(anchors, boxes, classes);
    const n = l.indicators.length;
    const boxTargets = new Float32Array(n * 4);
    const positives: number[] = [];
    const negatives: number[] = [];
    for (let i = 0; i < n; i++) {
      if (l.indicators[i] === POSITIVE) {
        positives.push(i);
        boxTargets.set(l.boxTargets.subarray(4 * i, 4 * i + 4), 4 * i);
      } else if (l.indicators[i] === NEGATIVE) {
        negatives.push(i);
      }
    }
    const scoreTargets = new Int32Array(n).fill(-1);
    const numPos = Math.min(positives.length, Math.floor(this.batchSizePerIm * this.fgFraction));
    sampleInto(scoreTargets, positives, numPos, 1, rng);
    sampleInto(scoreTargets, negatives, this.batchSizePerIm - numPos, 0, rng);
    return { scoreTargets, boxTargets };
  }
}
