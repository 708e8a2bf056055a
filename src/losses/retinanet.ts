/**
 * RetinaNet losses as Model Garden's `official/vision/tasks/retinanet.py` `build_losses`:
 *
 *   num_positives = Σ box_weights + 1                  (over the batch; +1 avoids dividing by 0)
 *   cls_loss  = Σ focal(one_hot(cls_targets, C), cls_outputs) · cls_weights / num_positives
 *   box_loss  = Σ huber_δ(box_targets, box_outputs) · box_weights / num_positives
 *   model_loss = cls_loss + box_loss_weight · box_loss
 *   total_loss = loss_weight · (model_loss + regularization)
 *
 * Per-level tensors are flattened as `loss_utils.multi_level_flatten`: each level reshaped to
 * [B, −1, last_dim] and the levels concatenated in increasing order. Targets of −1 (background)
 * and −2 one-hot to all zeros. Huber averages over the 4 box coordinates (Keras), both losses
 * use the SUM reduction. Defaults are Model Garden's `Losses` config (configs/retinanet.py).
 */
import * as tf from '@tensorflow/tfjs-core';
import { focalLoss, RETINANET_FOCAL_ALPHA, RETINANET_FOCAL_GAMMA } from './focal.js';
import { huberLoss } from './huber.js';

export interface RetinaNetLossOptions {
  numClasses: number;
  /** Default 0.25. */
  focalLossAlpha?: number;
  /** Default 1.5. */
  focalLossGamma?: number;
  /** Default 0.1. */
  huberLossDelta?: number;
  /** Default 50. */
  boxLossWeight?: number;
  /** Scales the total loss; default 1. */
  lossWeight?: number;
}

export interface RetinaNetLossInputs {
  /** Level → [B, H_l, W_l, A·C] logits. */
  clsOutputs: Record<string, tf.Tensor>;
  /** Level → [B, H_l, W_l, A·4] box codes. */
  boxOutputs: Record<string, tf.Tensor>;
  /** Level → [B, H_l, W_l, A] class ids (−1 background, −2 ignored). */
  clsTargets: Record<string, tf.Tensor>;
  /** Level → [B, H_l, W_l, A·4] encoded box targets. */
  boxTargets: Record<string, tf.Tensor>;
  /** [B, N] per-anchor class-loss weights (0 = ignored). */
  clsWeights: tf.Tensor;
  /** [B, N] per-anchor box-loss weights (1 = positive). */
  boxWeights: tf.Tensor;
  /** Sum of the auxiliary (l2) losses, added before `loss_weight`; default none. */
  regularization?: tf.Tensor | null;
}

export interface RetinaNetLosses {
  total_loss: tf.Scalar;
  cls_loss: tf.Scalar;
  box_loss: tf.Scalar;
  model_loss: tf.Scalar;
}

/**
 * `loss_utils.multi_level_flatten`: levels in increasing order, each [B, −1, lastDim] (or
 * [B, −1] when `lastDim` is null), concatenated along axis 1.
 */
export function multiLevelFlatten(
  levels: Record<string, tf.Tensor>,
  lastDim: number | null,
  what = 'multi_level_flatten',
): tf.Tensor {
  const keys = Object.keys(levels).sort((a, b) => Number(a) - Number(b));
  if (keys.length === 0) throw new Error(`${what}: no levels`);
  return tf.tidy(() => {
    const parts = keys.map((k) => {
      const t = levels[k];
      const shape = lastDim === null ? [t.shape[0], -1] : [t.shape[0], -1, lastDim];
      if (lastDim !== null && t.size % (t.shape[0] * lastDim) !== 0) {
        throw new Error(
          `${what}: level ${k} of shape [${t.shape}] is not a multiple of ${lastDim}`,
        );
      }
      return tf.reshape(t, shape);
    });
    return parts.length === 1 ? parts[0] : tf.concat(parts, 1);
  });
}

function checkNumber(value: number, field: string, min: number): number {
  if (!(Number.isFinite(value) && value >= min)) {
    throw new Error(`task.losses.${field} must be a finite number >= ${min}, got ${value}`);
  }
  return value;
}

export function retinanetLosses(
  inputs: RetinaNetLossInputs,
  opts: RetinaNetLossOptions,
): RetinaNetLosses {
  const numClasses = opts.numClasses;
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(`retinanet losses: num_classes must be a positive integer, got ${numClasses}`);
  }
  const boxLossWeight = checkNumber(opts.boxLossWeight ?? 50, 'box_loss_weight', 0);
  const lossWeight = checkNumber(opts.lossWeight ?? 1, 'loss_weight', 0);
  const delta = opts.huberLossDelta ?? 0.1;
  return tf.tidy(() => {
    const numPositives = tf.add(tf.sum(tf.cast(inputs.boxWeights, 'float32')), 1);
    const clsWeights = tf.div(tf.cast(inputs.clsWeights, 'float32'), numPositives);
    const boxWeights = tf.div(tf.cast(inputs.boxWeights, 'float32'), numPositives);
    const yTrueCls = tf.oneHot(
      tf.cast(multiLevelFlatten(inputs.clsTargets, null, 'cls_targets'), 'int32') as tf.Tensor2D,
      numClasses,
    );
    const yPredCls = multiLevelFlatten(inputs.clsOutputs, numClasses, 'cls_outputs');
    const yTrueBox = multiLevelFlatten(inputs.boxTargets, 4, 'box_targets');
    const yPredBox = multiLevelFlatten(inputs.boxOutputs, 4, 'box_outputs');
    if (!tf.util.arraysEqual(yTrueCls.shape, yPredCls.shape)) {
      throw new Error(
        `retinanet losses: ${yTrueCls.shape[1]} anchors in cls_targets but ${yPredCls.shape[1]} in cls_outputs`,
      );
    }
    if (clsWeights.rank !== 2 || clsWeights.shape[1] !== yPredCls.shape[1]) {
      throw new Error(
        `retinanet losses: cls_weights must be [B, ${yPredCls.shape[1]}], got [${inputs.clsWeights.shape}]`,
      );
    }
    const clsLoss = focalLoss(yTrueCls, yPredCls, {
      alpha: opts.focalLossAlpha ?? RETINANET_FOCAL_ALPHA,
      gamma: opts.focalLossGamma ?? RETINANET_FOCAL_GAMMA,
      sampleWeight: clsWeights,
      reduction: 'sum',
    }) as tf.Scalar;
    const boxLoss = huberLoss(yTrueBox, yPredBox, {
      delta,
      sampleWeight: boxWeights,
      reduction: 'sum',
    }) as tf.Scalar;
    const modelLoss = tf.add(clsLoss, tf.mul(boxLossWeight, boxLoss)) as tf.Scalar;
    const withReg = inputs.regularization ? tf.add(modelLoss, inputs.regularization) : modelLoss;
    const totalLoss = tf.mul(lossWeight, withReg) as tf.Scalar;
    return { total_loss: totalLoss, cls_loss: clsLoss, box_loss: boxLoss, model_loss: modelLoss };
  });
}
