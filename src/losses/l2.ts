/**
 * Model Garden's `losses.l2_weight_decay`: the tasks build kernels with
 * `tf.keras.regularizers.l2(l2_weight_decay / 2.0)` (official/vision/tasks/image_classification.py
 * `build_model`; halved "to match tf.nn.l2_loss"), and a Keras L2 regularizer with factor c adds
 * c·Σw² per weight. The total regularization loss is therefore
 *
 *   l2_weight_decay / 2 · Σ_weights Σ_i w_i²
 *
 * which the task adds to the loss (aux losses of `model.losses`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Weight } from '../core/layer.js';

/**
 * `l2WeightDecay / 2 · Σ Σ w²` over `weights`, as a float32 scalar (0 when the list is empty or the
 * decay is 0).
 */
export function l2Regularization(weights: tf.Tensor[], l2WeightDecay: number): tf.Scalar {
  if (!(typeof l2WeightDecay === 'number' && l2WeightDecay >= 0)) {
    throw new Error(`losses.l2_weight_decay must be a number >= 0, got ${l2WeightDecay}`);
  }
  return tf.tidy(() => {
    if (l2WeightDecay === 0 || weights.length === 0) return tf.scalar(0);
    const sums = weights.map((w) => tf.sum(tf.square(w)));
    const total = sums.length === 1 ? sums[0] : tf.addN(sums);
    return tf.mul(l2WeightDecay / 2, total) as tf.Scalar;
  });
}

/** The weights Model Garden regularizes: those built with `regularize: true` (kernels). */
export function regularizedWeights(weights: Weight[]): Weight[] {
  return weights.filter((w) => w.regularize);
}

/** {@link l2Regularization} over the regularized weights of a model's weight list. */
export function modelL2Regularization(weights: Weight[], l2WeightDecay: number): tf.Scalar {
  return l2Regularization(
    regularizedWeights(weights).map((w) => w.variable),
    l2WeightDecay,
  );
}
