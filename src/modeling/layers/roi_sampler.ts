/**
 * Model Garden's `ROISampler` (official/vision/modeling/layers/roi_sampler.py) with its
 * `BoxSampler` (box_sampler.py) and the static `BalancedPositiveNegativeSampler`
 * (ops/sampling_ops.py), in the graph with static shapes:
 *
 *  1. with `mixGtBoxes`, the ground-truth boxes are appended to the proposals;
 *  2. IoU of every proposal with every GT box (−1 for pairs with a padded box), each proposal
 *     matched to its best GT box; the best IoU v gives the indicator (BoxMatcher with thresholds
 *     [bg_low, bg_high, fg] and indicators [−3, −1, −2, 1]): v < bg_low invalid, [bg_low, bg_high)
 *     negative, [bg_high, fg) ignored, ≥ fg positive;
 *  3. negatives and invalid proposals get class 0, box 0 and GT index −1;
 *  4. balanced sampling: at most ⌊K·fg_fraction⌋ positives, uniformly at random, the rest of the
 *     K = `numSampledRois` from the negatives, uniformly at random (one U[0, 1) draw per proposal
 *     from the step's stream ranks the candidates, as MG's random shuffle does); the sampled
 *     proposals come in increasing index order, then, when fewer than K were sampled, the
 *     unsampled ones in increasing index order (MG's final top_k on the 0/1 indicator);
 *  5. `skipSubsampling` (the later cascade stages) returns every proposal with its targets.
 *
 * MG's static sampler, when fewer than K candidates exist, also marks the proposal at shuffled
 * position 0 (an artefact of its index arithmetic); here no extra proposal is marked. The
 * outcome differs from MG only in which unsampled proposals pad the K.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/random.js';
import { randomUniform } from '../../core/random_ops.js';
import { batchGather, firstTrueIndices, pairwiseIouTensor } from '../../ops/box_ops.js';

export interface ROISamplerOptions {
  mixGtBoxes?: boolean;
  numSampledRois?: number;
  foregroundFraction?: number;
  foregroundIouThreshold?: number;
  backgroundIouHighThreshold?: number;
  backgroundIouLowThreshold?: number;
  skipSubsampling?: boolean;
}

export interface ROISamplerOutputs {
  /** [B, K, 4] the sampled RoIs. */
  rois: tf.Tensor;
  /** [B, K, 4] their matched GT boxes (0 for background). */
  gtBoxes: tf.Tensor;
  /** [B, K] their matched GT classes (0 for background), float32. */
  gtClasses: tf.Tensor;
  /** [B, K] index of the matched GT box in `gt_boxes` (−1 for background), int32. */
  gtIndices: tf.Tensor;
}

export class ROISampler {
  readonly mixGtBoxes: boolean;
  readonly numSampledRois: number;
  readonly foregroundFraction: number;
  readonly foregroundIouThreshold: number;
  readonly backgroundIouHighThreshold: number;
  readonly backgroundIouLowThreshold: number;
  readonly skipSubsampling: boolean;

  constructor(opts: ROISamplerOptions = {}) {
    this.mixGtBoxes = opts.mixGtBoxes ?? true;
    this.numSampledRois = opts.numSampledRois ?? 512;
    this.foregroundFraction = opts.foregroundFraction ?? 0.25;
    this.foregroundIouThreshold = opts.foregroundIouThreshold ?? 0.5;
    this.backgroundIouHighThreshold = opts.backgroundIouHighThreshold ?? 0.5;
    this.backgroundIouLowThreshold = opts.backgroundIouLowThreshold ?? 0;
    this.skipSubsampling = opts.skipSubsampling ?? false;
    if (!Number.isInteger(this.numSampledRois) || this.numSampledRois < 1) {
      throw new Error(
        `roi_sampler.num_sampled_rois must be a positive integer, got ${this.numSampledRois}`,
      );
    }
    if (!(this.foregroundFraction >= 0 && this.foregroundFraction <= 1)) {
      throw new Error(
        `roi_sampler.foreground_fraction must be in [0, 1], got ${this.foregroundFraction}`,
      );
    }
    if (!(
      this.backgroundIouLowThreshold <= this.backgroundIouHighThreshold &&
      this.backgroundIouHighThreshold <= this.foregroundIouThreshold
    )) {
      throw new Error(
        `roi_sampler: need background_iou_low_threshold <= background_iou_high_threshold <= foreground_iou_threshold, got ${this.backgroundIouLowThreshold}, ${this.backgroundIouHighThreshold}, ${this.foregroundIouThreshold}`,
      );
    }
  }

  /**
   * @param boxes [B, N, 4] proposals (image pixels)
   * @param gtBoxes [B, M, 4] padded with −1
   * @param gtClasses [B, M] padded with −1
   * @param rng the step's stream (the balanced sampling's draw)
   */
  apply(boxes: tf.Tensor, gtBoxes: tf.Tensor, gtClasses: tf.Tensor, rng: Rng): ROISamplerOutputs {
    const [batch, m] = gtBoxes.shape as [number, number];
    if (boxes.rank !== 3 || boxes.shape[0] !== batch || boxes.shape[2] !== 4) {
      throw new Error(`roi sampler: boxes must be [${batch}, N, 4], got [${boxes.shape}]`);
    }
    if (gtClasses.rank !== 2 || gtClasses.shape[0] !== batch || gtClasses.shape[1] !== m) {
      throw new Error(`roi sampler: gt_classes must be [${batch}, ${m}], got [${gtClasses.shape}]`);
    }
    const n = (boxes.shape[1] as number) + (this.mixGtBoxes ? m : 0);
    if (!this.skipSubsampling && n < this.numSampledRois) {
      throw new Error(
        `roi sampler: ${n} candidate RoIs (proposals${this.mixGtBoxes ? ' + max_num_instances' : ''}) are fewer than roi_sampler.num_sampled_rois ${this.numSampledRois}`,
      );
    }
    // One draw per step, outside the tidy so the compiled step sees it as a fed input.
    const u = this.skipSubsampling ? null : randomUniform([batch, n], rng);
    const out = tf.tidy(() => {
      const gtB = tf.cast(gtBoxes, 'float32');
      const all = this.mixGtBoxes ? tf.concat([boxes, gtB], 1) : boxes;
      const iou = pairwiseIouTensor(all, gtB); // [B, N, M]
      const best = tf.max(iou, -1);
      const matched = tf.cast(tf.argMax(iou, -1), 'int32');
      const positive = tf.greaterEqual(best, this.foregroundIouThreshold);
      const negative = tf.logicalAnd(
        tf.greaterEqual(best, this.backgroundIouLowThreshold),
        tf.less(best, this.backgroundIouHighThreshold),
      );
      const invalid = tf.less(best, this.backgroundIouLowThreshold);
      const background = tf.logicalOr(negative, invalid);
      const classes = tf.where(
        background,
        tf.zerosLike(best),
        tf.squeeze(batchGather(tf.expandDims(tf.cast(gtClasses, 'float32'), -1), matched), [-1]),
      );
      const bg4 = tf.tile(tf.expandDims(background, -1), [1, 1, 4]);
      const mBoxes = tf.where(bg4, tf.zerosLike(all), batchGather(gtB, matched));
      const indices = tf.where(background, tf.fill(matched.shape, -1, 'int32'), matched);
      if (!u) return { rois: all, gtBoxes: mBoxes, gtClasses: classes, gtIndices: indices };
      const sampled = firstTrueIndices(
        balancedSample(positive, negative, u, this.numSampledRois, this.foregroundFraction),
        this.numSampledRois,
      );
      return {
        rois: batchGather(all, sampled),
        gtBoxes: batchGather(mBoxes, sampled),
        gtClasses: tf.squeeze(batchGather(tf.expandDims(classes, -1), sampled), [-1]),
        gtIndices: tf.squeeze(batchGather(tf.expandDims(indices, -1), sampled), [-1]),
      };
    });
    u?.dispose();
    return out as ROISamplerOutputs;
  }
}

/**
 * The static balanced sampler's indicator [B, N]: the min(#positives, ⌊k·fraction⌋) positives
 * with the largest `u`, and the k − (that many) negatives with the largest `u` (all of them when
 * fewer exist). `positive` and `negative` are disjoint [B, N] booleans; `u` [B, N] U[0, 1).
 */
export function balancedSample(
  positive: tf.Tensor,
  negative: tf.Tensor,
  u: tf.Tensor,
  k: number,
  fraction: number,
): tf.Tensor {
  return tf.tidy(() => {
    const maxPos = Math.floor(k * fraction);
    // The u of the j-th ranked candidate, or −1 past the last one: picking u ≥ it takes the top j.
    const threshold = (mask: tf.Tensor, count: tf.Tensor, kk: number): tf.Tensor => {
      const values = tf.topk(tf.where(mask, u, tf.fill(u.shape, -1)), kk, true).values;
      // count [B] → the value at rank count − 1, [B, 1].
      const rank = tf.equal(
        tf.range(0, kk, 1, 'int32'),
        tf.expandDims(tf.sub(count, tf.scalar(1, 'int32')), -1),
      );
      const at = tf.sum(tf.mul(values, tf.cast(rank, 'float32')), -1, true);
      // count 0: nothing passes.
      return tf.where(tf.greater(tf.expandDims(count, -1), 0), at, tf.fill(at.shape, 2));
    };
    const batch = u.shape[0] as number;
    let selPos: tf.Tensor;
    if (maxPos > 0) {
      const thrPos = threshold(positive, tf.fill([batch], maxPos, 'int32'), maxPos);
      selPos = tf.logicalAnd(positive, tf.greaterEqual(u, thrPos));
    } else {
      selPos = tf.zerosLike(positive);
    }
    const numPos = tf.sum(tf.cast(selPos, 'int32'), -1);
    const numNeg = tf.sub(tf.scalar(k, 'int32'), numPos);
    const thrNeg = threshold(negative, numNeg, k);
    const selNeg = tf.logicalAnd(negative, tf.greaterEqual(u, thrNeg));
    return tf.logicalOr(tf.cast(selPos, 'bool'), selNeg);
  });
}
