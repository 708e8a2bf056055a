/**
 * The sigmoid by which Model Garden ranks proposals and detections, as TensorFlow computes it in
 * float32 on CPU: TF's kernel (Eigen's logistic) returns exactly 1 for every x ≥ 16.635532,
 * while the correctly rounded sigmoid (ours, on every backend) stays at 1 − 2⁻²⁴ up to x ≈ 17.33.
 * Logits in between are ties at 1 in Model Garden, which `tf.math.top_k` and its NMS order by
 * index; with our distinct 1 − 2⁻²⁴ they would come in a different order, and the order decides
 * NMS survivors and the cut-offs. Measured with tensorflow-cpu 2.21 (the version that made the
 * reference fixtures) on every float32 in [16.5, 16.8]: 16.635532 is the smallest x whose
 * sigmoid is 1, whatever the tensor's length; every larger x gives 1. Below it the two agree to a
 * few ulps (up to 5.7 over [−20, 20]), which matters only for scores that tie within rounding.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The smallest float32 x with TF's sigmoid(x) == 1 (bits 0x4185_1592). */
export const TF_SIGMOID_ONE = 16.635532;

/** sigmoid(x), exactly 1 from TF_SIGMOID_ONE up (see the file comment). */
export function scoreSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.where(tf.greaterEqual(x, TF_SIGMOID_ONE), tf.onesLike(x), tf.sigmoid(x)));
}
