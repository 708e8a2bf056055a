/**
 * Sigmoid focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection") as Model Garden
 * computes it (official/vision/losses/focal_loss.py `FocalLoss.call`), per anchor and class:
 *
 *   ce    = sigmoid cross-entropy of logit x against target z (z = 1 positive, 0 negative)
 *   p_gt  = σ(x) where z = 1, else 1 − σ(x)
 *   loss  = (1 − p_gt)^γ · ce,  times α where z = 1 and (1 − α) elsewhere.
 *
 * "Positive" means a target exactly equal to 1 (MG `tf.equal(y_true, 1.0)`). Model Garden's
 * RetinaNet uses α = 0.25, γ = 1.5 (official/vision/configs/retinanet.py `Losses`) with the SUM
 * reduction and class weights divided by the number of positive anchors + 1
 * (official/vision/tasks/retinanet.py `build_losses`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { reduceWeightedLoss, type LossReduction } from './huber.js';

/** Model Garden's RetinaNet defaults (official/vision/configs/retinanet.py `Losses`). */
export const RETINANET_FOCAL_ALPHA = 0.25;
export const RETINANET_FOCAL_GAMMA = 1.5;

function checkParams(alpha: number, gamma: number): void {
  if (!(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1)) {
    throw new Error(`focal loss: alpha must be in [0, 1], got ${alpha}`);
  }
  if (!(Number.isFinite(gamma) && gamma >= 0)) {
    throw new Error(`focal loss: gamma must be a finite number >= 0, got ${gamma}`);
  }
}

/**
 * Elementwise sigmoid focal loss: `yTrue` (targets, 1 = positive) and `yPred` (logits) of equal
 * shape, e.g. [batch, anchors, classes]; returns that shape.
 */
export function sigmoidFocalLoss(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  alpha: number = RETINANET_FOCAL_ALPHA,
  gamma: number = RETINANET_FOCAL_GAMMA,
): tf.Tensor {
  checkParams(alpha, gamma);
  if (!tf.util.arraysEqual(yTrue.shape, yPred.shape)) {
    throw new Error(
      `focal loss: y_true [${yTrue.shape}] and y_pred [${yPred.shape}] must have the same shape`,
    );
  }
  return tf.tidy(() => {
    const z = tf.cast(yTrue, 'float32');
    const x = tf.cast(yPred, 'float32');
    const positive = tf.equal(z, 1);
    // tf.nn.sigmoid_cross_entropy_with_logits in its stable form: max(x, 0) − x·z + log(1 + e^−|x|).
    const crossEntropy = tf.add(
      tf.sub(tf.relu(x), tf.mul(x, z)),
      tf.log1p(tf.exp(tf.neg(tf.abs(x)))),
    );
    const probs = tf.sigmoid(x);
    const probsGt = tf.where(positive, probs, tf.sub(1, probs));
    const modulator = tf.pow(tf.sub(1, probsGt), gamma);
    const loss = tf.mul(modulator, crossEntropy);
    return tf.where(positive, tf.mul(alpha, loss), tf.mul(1 - alpha, loss));
  });
}

export interface FocalLossOptions {
  /** Weight of positives (negatives get 1 − α); default 0.25. */
  alpha?: number;
  /** Focusing exponent; default 1.5. */
  gamma?: number;
  /**
   * Keras sample_weight: e.g. per-anchor weights [batch, anchors] for a [batch, anchors, classes]
   * loss (a trailing axis is added, as Keras does), or any shape broadcastable to the loss.
   */
  sampleWeight?: tf.Tensor | null;
  /** Default 'sum' (what Model Garden's RetinaNet and RetinaNet-style tasks pass). */
  reduction?: LossReduction;
}

/**
 * `FocalLoss(alpha, gamma, reduction)(y_true, y_pred, sample_weight)` of Model Garden: the
 * elementwise {@link sigmoidFocalLoss}, weighted and reduced as a Keras loss. Returns a scalar
 * (or the weighted elementwise loss for 'none').
 */
export function focalLoss(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  opts: FocalLossOptions = {},
): tf.Tensor {
  return tf.tidy(() =>
    reduceWeightedLoss(
      sigmoidFocalLoss(yTrue, yPred, opts.alpha, opts.gamma),
      opts.sampleWeight ?? null,
      opts.reduction ?? 'sum',
      'focal loss',
    ),
  );
}
