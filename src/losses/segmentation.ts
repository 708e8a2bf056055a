/**
 * Model Garden's semantic segmentation loss (official/vision/losses/segmentation_losses.py
 * `SegmentationLoss`, without the matting-map variant):
 *
 * - logits [B, h, w, C] are resized bilinearly (half-pixel centres, tf.image.resize) to the label
 *   size, or with `useGroundtruthDimension` false the labels [B, H, W, 1] are resized (nearest)
 *   to the logits' size;
 * - valid = label != ignoreLabel; ignored pixels get an all-zero one-hot target, and targets are
 *   smoothed as t·(1−ε) + ε/C;
 * - softmax: per-pixel cross-entropy × class_weights[label] × valid; binary: per-pixel per-class
 *   sigmoid cross-entropy × class_weights × valid (the valid count is then multiplied by C);
 * - the loss is Σ / (valid count + 1e-5), or with `topKPercentPixels` < 1 the sum of the
 *   k = trunc(p · B·H·W) largest pixel losses / (min(k, valid count) + 1e-5).
 */
import * as tf from '@tensorflow/tfjs-core';

const EPSILON = 1e-5;

export interface SegmentationLossOptions {
  /** ε of the one-hot smoothing (default 0). */
  labelSmoothing?: number;
  /** One weight per class; empty or omitted: all 1. */
  classWeights?: number[];
  /** Default 255. */
  ignoreLabel?: number;
  /** Resize the logits to the label size (default true); else the labels to the logits' size. */
  useGroundtruthDimension?: boolean;
  /** Sigmoid cross-entropy per class instead of softmax (default false). */
  useBinaryCrossEntropy?: boolean;
  /** Fraction in (0, 1] of the hardest pixels the loss averages (default 1: all). */
  topKPercentPixels?: number;
}

/** Checks `opts` (errors name Model Garden's `losses.<field>`) for `numClasses` classes. */
export function checkSegmentationLossOptions(
  opts: SegmentationLossOptions,
  numClasses: number,
): void {
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) {
    throw new RangeError(`losses.label_smoothing must be in [0, 1], got ${eps}`);
  }
  const w = opts.classWeights ?? [];
  if (w.length !== 0 && w.length !== numClasses) {
    throw new RangeError(
      `losses.class_weights has ${w.length} values; it must be empty or one per class (${numClasses})`,
    );
  }
  const p = opts.topKPercentPixels ?? 1;
  if (!(p > 0 && p <= 1)) {
    throw new RangeError(`losses.top_k_percent_pixels must be in (0, 1], got ${p}`);
  }
}

/**
 * The scalar loss of `logits` [B, h, w, C] against `labels` [B, H, W, 1] (class ids as float32
 * or int32, `ignoreLabel` where unlabelled).
 */
export function segmentationLoss(
  logits: tf.Tensor4D,
  labels: tf.Tensor4D,
  opts: SegmentationLossOptions = {},
): tf.Scalar {
  const [, h, w, C] = logits.shape;
  checkSegmentationLossOptions(opts, C);
  if (labels.rank !== 4 || labels.shape[3] !== 1) {
    throw new RangeError(
      `segmentationLoss: labels must be [batch, height, width, 1], got [${labels.shape.join(', ')}]`,
    );
  }
  const eps = opts.labelSmoothing ?? 0;
  const ignore = opts.ignoreLabel ?? 255;
  const weights = opts.classWeights?.length ? opts.classWeights : new Array<number>(C).fill(1);
  const topK = opts.topKPercentPixels ?? 1;
  return tf.tidy(() => {
    let lab = tf.cast(labels, 'int32') as tf.Tensor4D;
    let lg = logits;
    if (opts.useGroundtruthDimension ?? true) {
      const [H, W] = [labels.shape[1], labels.shape[2]];
      if (H !== h || W !== w) lg = tf.image.resizeBilinear(logits, [H, W], false, true);
    } else if (labels.shape[1] !== h || labels.shape[2] !== w) {
      lab = tf.image.resizeNearestNeighbor(lab, [h, w], false, true);
    }
    const ids = tf.squeeze(lab, [3]); // [B, H, W]
    const valid = tf.notEqual(ids, ignore);
    const validF = tf.cast(valid, 'float32');
    const oneHot = tf.oneHot(tf.where(valid, ids, tf.fill(ids.shape, -1, 'int32')), C);
    const targets = eps > 0 ? tf.add(tf.mul(oneHot, 1 - eps), eps / C) : oneHot;
    const classWeights = tf.tensor1d(weights);
    let pixelLoss: tf.Tensor;
    let numValid: tf.Tensor = tf.sum(validF);
    if (opts.useBinaryCrossEntropy) {
      // max(x, 0) − x·z + log(1 + exp(−|x|)) (tf.nn.sigmoid_cross_entropy_with_logits).
      const bce = tf.add(
        tf.sub(tf.relu(lg), tf.mul(lg, targets)),
        tf.log1p(tf.exp(tf.neg(tf.abs(lg)))),
      );
      pixelLoss = tf.mul(tf.mul(bce, classWeights), tf.expandDims(validF, -1));
      numValid = tf.mul(numValid, C);
    } else {
      const ce = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(lg)), -1));
      // Weight by the class of the (unmasked) label; an out-of-range label weighs 0.
      const weightMask = tf.sum(tf.mul(tf.oneHot(ids, C), classWeights), -1);
      pixelLoss = tf.mul(tf.mul(ce, weightMask), validF);
    }
    if (topK >= 1) return tf.div(tf.sum(pixelLoss), tf.add(numValid, EPSILON)) as tf.Scalar;
    const flat = tf.reshape(pixelLoss, [-1]);
    const k = Math.trunc(Math.fround(topK * flat.size));
    if (k < 1) {
      throw new RangeError(
        `losses.top_k_percent_pixels ${topK} keeps no pixel of ${flat.size} (k = 0)`,
      );
    }
    const { values } = tf.topk(flat, k);
    const normalizer = tf.minimum(tf.scalar(k), numValid);
    return tf.div(tf.sum(values), tf.add(normalizer, EPSILON)) as tf.Scalar;
  });
}
