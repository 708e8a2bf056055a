/**
 * Huber loss with `tf.keras.losses.Huber` semantics, and the Keras weighted reduction shared by
 * the detection losses (./focal.ts).
 *
 * Keras (keras/losses.py `huber`): with e = y_pred − y_true and d = delta,
 *   h(e) = 0.5·e²            if |e| ≤ d
 *   h(e) = d·|e| − 0.5·d²    otherwise,
 * averaged over the last axis, so the per-sample loss has the input's shape minus its last axis.
 * Model Garden's RetinaNet box loss is `tf.keras.losses.Huber(huber_loss_delta = 0.1,
 * reduction=SUM)` over [batch, anchors, 4] (official/vision/tasks/retinanet.py `build_losses`).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Keras loss reductions: `tf.keras.losses.Reduction` NONE, SUM and SUM_OVER_BATCH_SIZE. */
export type LossReduction = 'none' | 'sum' | 'sum_over_batch_size';

/** Whether `from` broadcasts to exactly `to` (numpy rules, trailing axes aligned). */
function broadcastsTo(from: number[], to: number[]): boolean {
  if (from.length > to.length) return false;
  const offset = to.length - from.length;
  return from.every((d, i) => d === 1 || d === to[i + offset]);
}

/**
 * Applies a Keras `sample_weight` and reduction to a per-sample loss (Keras
 * `compute_weighted_loss`). A weight of rank `loss.rank − 1` gets a trailing axis (Keras
 * `squeeze_or_expand_dimensions`), then broadcasts against `loss`. 'sum' adds every weighted
 * value; 'sum_over_batch_size' divides that sum by the number of elements of `loss` (not by the
 * sum of weights); 'none' returns the weighted loss.
 */
export function reduceWeightedLoss(
  loss: tf.Tensor,
  sampleWeight: tf.Tensor | null,
  reduction: LossReduction,
  what = 'loss',
): tf.Tensor {
  return tf.tidy(() => {
    let weighted = loss;
    if (sampleWeight) {
      let w = sampleWeight;
      if (w.rank === loss.rank - 1 && loss.rank > 0) w = tf.expandDims(w, -1);
      if (!broadcastsTo(w.shape, loss.shape)) {
        throw new Error(
          `${what}: sample_weight of shape [${sampleWeight.shape}] does not broadcast to the loss of shape [${loss.shape}]`,
        );
      }
      weighted = tf.mul(loss, tf.cast(w, 'float32'));
    }
    switch (reduction) {
      case 'none':
        return weighted;
      case 'sum':
        return tf.sum(weighted);
      case 'sum_over_batch_size':
        return tf.div(tf.sum(weighted), Math.max(weighted.size, 1));
      default:
        throw new Error(
          `${what}: unknown reduction '${String(reduction)}' (none, sum, sum_over_batch_size)`,
        );
    }
  });
}

/**
 * Per-sample Huber loss (Keras `huber`): elementwise h(y_pred − y_true) averaged over the last
 * axis. `yTrue` and `yPred` have equal shapes [..., D]; returns [...].
 */
export function huber(yTrue: tf.Tensor, yPred: tf.Tensor, delta = 1.0): tf.Tensor {
  if (!(typeof delta === 'number' && delta > 0 && Number.isFinite(delta))) {
    throw new Error(`huber loss: delta must be a finite number > 0, got ${delta}`);
  }
  if (!tf.util.arraysEqual(yTrue.shape, yPred.shape)) {
    throw new Error(
      `huber loss: y_true [${yTrue.shape}] and y_pred [${yPred.shape}] must have the same shape`,
    );
  }
  if (yPred.rank < 1) throw new Error('huber loss: inputs need at least one axis');
  return tf.tidy(() => {
    const error = tf.sub(tf.cast(yPred, 'float32'), tf.cast(yTrue, 'float32'));
    const absError = tf.abs(error);
    // 0.5·min(|e|, d)² + d·(|e| − min(|e|, d)): both branches of h in one differentiable form
    // (tfjs has no gradient through a comparison feeding tf.where).
    const clipped = tf.minimum(absError, delta);
    const beyond = tf.sub(absError, clipped);
    return tf.mean(tf.add(tf.mul(0.5, tf.square(clipped)), tf.mul(delta, beyond)), -1);
  });
}

export interface HuberLossOptions {
  /** Where the loss turns from quadratic to linear; Keras default 1.0 (MG RetinaNet: 0.1). */
  delta?: number;
  /** Keras sample_weight: shape of the per-sample loss ([...]) or broadcastable to it. */
  sampleWeight?: tf.Tensor | null;
  /** Default 'sum_over_batch_size' (Keras AUTO outside distribution strategies). */
  reduction?: LossReduction;
}

/**
 * `tf.keras.losses.Huber(delta, reduction)(y_true, y_pred, sample_weight)`: {@link huber}, then
 * the weighted reduction. Returns a scalar, or the weighted per-sample loss for 'none'.
 */
export function huberLoss(
  yTrue: tf.Tensor,
  yPred: tf.Tensor,
  opts: HuberLossOptions = {},
): tf.Tensor {
  return tf.tidy(() =>
    reduceWeightedLoss(
      huber(yTrue, yPred, opts.delta ?? 1.0),
      opts.sampleWeight ?? null,
      opts.reduction ?? 'sum_over_batch_size',
      'huber loss',
    ),
  );
}
